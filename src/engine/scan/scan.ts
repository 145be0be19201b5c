// `runScan`: the scan's one engine entry point. For each target, probes run concurrently (at
// most `concurrency` in flight per host), each with a timeout and one retry: one ClientHello per
// protocol version, then per accepted version an elimination of cipher suites (offer all, drop
// the server's pick, repeat: one connection per accepted suite) and of key exchange groups, ALPN
// and fallback probes, and one full OpenSSL handshake through the engine (as `connect` does) for
// the verified certificate chain. Probes speak our own wire codec (src/engine/wire/).
import crypto from 'node:crypto';
import { opensslInfo } from '../openssl_info';
import { CertPool } from '../workers/scan_cert';
import { Ext, signatureSchemeName, groupName, VERSION_NAMES, VERSIONS, VersionName } from '../wire/constants';
import { ClientHelloOptions, DEFAULT_SIG_ALGS, ssl2ClientHello, TLS13_GROUPS } from '../wire/hello';
import type { ServerEvent } from '../wire/reader';
import { suiteById, suiteKx, suiteName, suitesFor } from '../wire/suites';
import { Limiter, ProbeOutcome } from './exchange';
import { findingsFor } from './findings';
import {
  certificateChain,
  describe,
  startHost,
  eliminate,
  eliminateGroups13,
  fallbackProbe,
  features,
  groupFinding,
  heartbleedProbe,
  HostProbe,
  keyShareBehaviour,
  protocolFinding,
  ScanOptions,
  serverHello,
  Shared,
  ske,
  stats,
  TLS12_GROUPS,
  traceProbe,
  TRACING,
  wireChain,
} from './host_probe';
import type { fullHandshakeProbes as FullHandshakeProbes } from './full_handshake';
import { scanHostQuick } from './quick';
import type { SessionProber as SessionProberClass } from '../workers/scan_session';
import type {
  AlpnFinding,
  CertificateVariant,
  CipherFinding,
  GroupsFinding,
  HostScan,
  ToleranceFindings,
  ScanTarget,
  SigAlgsFinding,
  SuiteFinding,
  Tristate,
} from './types';

export type { ScanOptions } from './host_probe';

/** Scans every target; never throws for a target's failure (it is in that host's `error`). */
export async function runScan(targets: ScanTarget[], o: ScanOptions): Promise<HostScan[]> {
  const hosts = new Limiter(o.hostConcurrency ?? 16);
  // Started first for a quick scan: the threads load OpenSSL and the trust store while names
  // resolve and probes fly. A full scan asks each host's session probe thread instead (a thread
  // less to start, on two cores the start of the scan's critical path): the pool stays empty.
  const certs = new CertPool(o.quick ? Math.min(2, targets.length) : 0, opensslInfo().path ?? undefined);
  const shared: Shared = { global: new Limiter(o.globalConcurrency ?? 256), pace: pacer(o.rate), certs };
  try {
    return await Promise.all(
      targets.map((t) =>
        hosts.run(async () => {
          const r = await (o.quick ? scanHostQuick : scanHost)(t, o, shared);
          o.onHost?.(r);
          return r;
        })
      )
    );
  } finally {
    await certs.close();
  }
}

/** --rate: new probes start at most `rate` per second, evenly spaced, over all hosts. */
function pacer(rate: number | undefined): () => Promise<void> {
  if (!rate) return () => Promise.resolve();
  let next = 0;
  return () => {
    const now = performance.now();
    const at = Math.max(now, next);
    next = at + 1000 / rate;
    return at > now ? new Promise((r) => setTimeout(r, at - now)) : Promise.resolve();
  };
}


async function scanHost(t: ScanTarget, o: ScanOptions, shared: Shared): Promise<HostScan> {
  const t0 = performance.now();
  const { base, ip, servername } = await startHost(t);
  if (ip === undefined) return { ...base, ms: performance.now() - t0 };
  const p = new HostProbe(ip, t.port, servername, o, shared);

  // 1. One probe per version, all at once; the TLS <= 1.2 ones read up to ServerHelloDone. The
  // certificate handshake and the eliminations for TLS 1.3 and 1.2 (the versions nearly every
  // server has) start at the same moment rather than after the version probes: a scan's time at a
  // distance is its count of sequential round trips. For a server without them they cost a few
  // refused probes.
  // The version probes take their slots first: everything after step 1 waits for them, while the
  // eliminations' first wave alone would fill the host's cap and put them a round trip later.
  const first = new Map<VersionName, ProbeOutcome>();
  const versions = Promise.all(
    VERSION_NAMES.map(async (v) => {
      const bytes = v === 'SSLv2' ? ssl2ClientHello() : p.hello(v, v === 'TLSv1.3' ? {} : { compression: [1, 0] });
      first.set(v, await p.send(`protocol ${v}`, bytes, v === 'TLSv1.3' || v === 'SSLv2', {}, 0));
    })
  );
  // The full-handshake probes' thread (full_handshake.ts) loads while the version probes run; their
  // connections go out first (loading these modules took the scan's first ~15 ms, before any).
  // Loaded on the first full scan of a host, not at start: a quick scan never needs them.
  await new Promise((r) => setImmediate(r));
  const { SessionProber, fullHandshakeProbes } = await fullScanModules();
  const prober = new SessionProber({ libssl: opensslInfo().path ?? undefined, backend: o.backend, ip, port: t.port, timeoutMs: o.timeoutMs });
  prober.warm();
  if (TRACING) traceThread(prober, ip, t.port);
  const certificate = certificateChain(t, ip, servername, o, { fetch: (req) => prober.certificate(req) });
  const early = {
    ciphers13: eliminateSuites(p, 'TLSv1.3'),
    groups13: eliminateGroups13(p),
    ciphers12: eliminateSuites(p, 'TLSv1.2'),
    groups12: eliminateGroups12(p, 'TLSv1.2'),
    sigAlgs: eliminateSigAlgs(p),
  };
  const settleEarly = () => Promise.all(Object.values(early)).catch(() => undefined);
  await versions;
  for (const v of VERSION_NAMES) base.protocols.push(protocolFinding(v, first.get(v)!));
  const offered = base.protocols.filter((x) => x.offered).map((x) => x.version);
  if (!offered.length && [...first.values()].every((r) => r.kind === 'refused' || r.kind === 'unreachable' || r.kind === 'timeout')) {
    await Promise.all([certificate.catch(() => undefined), settleEarly()]);
    await prober.close();
    const r = first.get('TLSv1.2')!;
    return { ...base, ...stats(p), error: `${t.host}:${t.port}: ${describe(r)}`, ms: performance.now() - t0 };
  }
  const tls = offered.filter((v) => v !== 'SSLv2');
  const best12 = [...tls].reverse().find((v) => v !== 'TLSv1.3');
  const heartbeatOn = best12 && serverHello(first.get(best12)!.events)?.extensions.has(Ext.Heartbeat);

  // 2. Everything else in parallel (the limiter caps what is in flight).
  const ciphersLater = Promise.all(tls.map((v) => (v === 'TLSv1.3' ? early.ciphers13 : v === 'TLSv1.2' ? early.ciphers12 : eliminateSuites(p, v, first.get(v)!))));
  // Full handshakes (OpenSSL on the host's own thread, and the wire codec past the ServerHello): full_handshake.ts.
  // They queue behind the elimination chains (priority 0), beside the version and order probes (1),
  // before the rest (2): a full handshake is the longest probe (TCP, then two round trips or more),
  // and queued last, the ones started after the eliminations were the scan's end at a distance
  // (at 50 ms RTT: 659 -> 597 ms, medians of 7).
  const full = fullHandshakeProbes(
    {
      ip,
      port: t.port,
      sni: servername,
      timeoutMs: o.timeoutMs,
      ca: o.ca,
      offered,
      limit: (fn, chained) => p.limiter.run(fn, chained ? 0 : 1),
      concurrency: o.concurrency,
      eliminationsDone: Promise.allSettled([ciphersLater, settleEarly()]),
      send: (name, bytes, stop) => p.send(name, bytes, stop),
      hello: (v, over) => p.hello(v, over),
      prober,
      error: (e) => p.errors.push(e),
    },
    ciphersLater
  ).finally(() => prober.close());
  const [ciphers, groups13, groups12, alpn, fallback, cert, sigAlgs, variants, tolerance, heartbleed, , fullFindings] = await Promise.all([
    ciphersLater,
    offered.includes('TLSv1.3') ? early.groups13 : undefined,
    best12 ? (best12 === 'TLSv1.2' ? early.groups12 : eliminateGroups12(p, best12)).then((g) => withLeafCurve(p, best12, g, first.get(best12))) : undefined,
    best12 ? alpnProbe(p, best12) : undefined,
    fallbackProbe(p, tls),
    certificate,
    offered.includes('TLSv1.2') ? early.sigAlgs : undefined,
    best12 ? certificateVariants(p, best12) : undefined,
    toleranceProbes(p, offered),
    heartbeatOn ? heartbleedProbe(p, best12!) : ('n/a' as Tristate),
    settleEarly(),
    full,
  ]);
  Object.assign(base, fullFindings);
  base.tolerance = tolerance;
  base.signatureAlgorithms = sigAlgs;
  base.ciphers = ciphers;
  if (groups13) base.groups.push(groups13);
  if (groups12) base.groups.push(groups12);
  // ALPN is encrypted in TLS 1.3 (EncryptedExtensions): a 1.3-only server's pick comes from the OpenSSL handshake.
  base.alpn = alpn ?? (cert?.alpn ? { supported: [cert.alpn], preferred: cert.alpn } : undefined);
  base.resumption = cert?.resumption;
  if (cert) {
    delete cert.alpn;
    delete cert.resumption;
  }
  base.keyShare = keyShareBehaviour(first.get('TLSv1.3')!);
  base.certificate = cert ?? wireChain(best12 ? first.get(best12)! : undefined);
  if (base.certificate && base.certificate.source === 'openssl' && best12) {
    base.certificate.ocspStapled = !!serverHello(first.get(best12)!.events)?.extensions.has(Ext.StatusRequest);
  }
  if (base.certificate && variants) base.certificate.variants = variants;
  base.features = { ...features(best12 ? first.get(best12)! : undefined, offered, fallback, ciphers, first), heartbleed };
  const done: HostScan = { ...base, ...stats(p), ms: performance.now() - t0 };
  done.findings = findingsFor(done);
  return done;
}

function suiteFinding(id: number, events: ServerEvent[]): SuiteFinding {
  const s = suiteById(id);
  const k = ske(events);
  return {
    id,
    iana: s?.iana ?? suiteName(id),
    openssl: s?.openssl ?? '',
    bits: s?.bits ?? 0,
    flags: s ? [...s.flags] : [],
    group: k?.group !== undefined ? groupName(k.group) : undefined,
    dhBits: k?.dhBits,
    // encrypt_then_mac is only echoed for a CBC suite.
    encryptThenMac: s?.flags.has('cbc') ? !!serverHello(events)?.extensions.has(Ext.EncryptThenMac) : undefined,
  };
}
/** The cipher suites of `version`, starting from the protocol probe that offered them all. */
async function eliminateSuites(p: HostProbe, version: VersionName, firstProbe?: ProbeOutcome): Promise<CipherFinding> {
  const e = await eliminate(p, {
    name: `ciphers ${version}`,
    all: suitesFor(version).map((s) => s.id),
    first: firstProbe,
    helloFor: (suites) => p.hello(version, { suites }),
    // TLS <= 1.2: read on to the ServerKeyExchange, which names the curve or the DH prime of each suite.
    stopAtServerHello: version === 'TLSv1.3',
    pick: (r) => {
      const h = serverHello(r.events);
      // A HelloRetryRequest names the suite too: a server that wants a share we did not send still chose.
      return h && (!h.hrr || version === 'TLSv1.3') && h.version === VERSIONS[version] ? { id: h.suite } : undefined;
    },
  });
  return { version, order: e.order, suites: e.found.map((id, i) => suiteFinding(id, e.events[i])), error: e.error };
}

/** TLS <= 1.2: ECDHE suites only, supported_groups = what is left; the ServerKeyExchange names the curve. */
async function eliminateGroups12(p: HostProbe, version: VersionName): Promise<GroupsFinding> {
  const ecdhe = suitesFor(version).filter((s) => suiteKx(s) === 'ecdhe').map((s) => s.id);
  const e = await eliminate(p, {
    name: `groups ${version}`,
    all: TLS12_GROUPS,
    helloFor: (groups) => p.hello(version, { suites: ecdhe, groups }),
    stopAtServerHello: false,
    pick: (r) => {
      const k = ske(r.events);
      return serverHello(r.events) && k?.group !== undefined ? { id: k.group } : undefined;
    },
  });
  return { version: 'TLSv1.2', order: e.order, groups: e.found.map(groupFinding), error: e.error };
}

const LEAF_CURVES: Record<string, number> = { prime256v1: 23, secp384r1: 24, secp521r1: 25 };

/** The named group of an ECDSA leaf (from a plaintext TLS <= 1.2 Certificate), if it is one. */
function leafCurve(r: ProbeOutcome | undefined): number | undefined {
  const c = r?.events.find((e) => e.type === 'certificate');
  if (!c || c.type !== 'certificate' || !c.chain[0]) return undefined;
  try {
    const curve = new crypto.X509Certificate(c.chain[0]).publicKey.asymmetricKeyDetails?.namedCurve;
    return curve ? LEAF_CURVES[curve] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A TLS <= 1.2 server with an ECDSA certificate uses an ECDHE_ECDSA suite only when the client's
 * supported_groups hold the certificate's curve (RFC 8422 5.1; OpenSSL checks it). Eliminating
 * groups without it, such a server refuses as soon as that curve is taken off the list: with an
 * ECDSA certificate alone it would seem to have one group. So, when the leaf is ECDSA, the groups
 * are also eliminated over ECDHE_ECDSA suites with the leaf's curve pinned at the end of every
 * list (the server picking it means none of the others is left, or none is preferred to it: in
 * either case none it would use with such a client). The longer of the two answers stands (a
 * server with an RSA certificate too answers the plain elimination in full).
 */
async function withLeafCurve(p: HostProbe, version: VersionName, plain: GroupsFinding, first: ProbeOutcome | undefined): Promise<GroupsFinding> {
  const pin = leafCurve(first);
  if (pin === undefined) return plain;
  const ecdsa = suitesFor(version).filter((s) => suiteKx(s) === 'ecdhe' && s.au === 'ECDSA').map((s) => s.id);
  const e = await eliminate(p, {
    name: `groups ${version}`,
    all: TLS12_GROUPS.filter((g) => g !== pin),
    helloFor: (groups) => p.hello(version, { suites: ecdsa, groups: [...groups, pin] }),
    stopAtServerHello: false,
    pick: (r) => {
      const k = ske(r.events);
      return serverHello(r.events) && k?.group !== undefined && k.group !== pin ? { id: k.group } : undefined;
    },
    // The server took the pinned curve: none of the others is left (or preferred to it), a refusal.
    refused: (r) => ske(r.events)?.group === pin,
  });
  const found = e.order === 'client' ? [...e.found, pin].sort((a, b) => TLS12_GROUPS.indexOf(a) - TLS12_GROUPS.indexOf(b)) : [...e.found, pin];
  if (found.length <= plain.groups.length) return plain;
  return { version: 'TLSv1.2', order: e.order === 'client' || e.order === 'server' ? e.order : found.length === 1 ? 'single' : 'server', groups: found.map(groupFinding), error: e.error };
}

/**
 * TLS 1.2 signature algorithms by elimination: the ServerKeyExchange of an ECDHE/DHE suite is
 * signed with the scheme the server chose from our signature_algorithms. (TLS 1.3 signs in the
 * encrypted CertificateVerify: not visible to a probe.)
 */
async function eliminateSigAlgs(p: HostProbe): Promise<SigAlgsFinding> {
  const pfs = suitesFor('TLSv1.2').filter((s) => (suiteKx(s) === 'ecdhe' || suiteKx(s) === 'dhe') && !s.flags.has('anon')).map((s) => s.id);
  const e = await eliminate(p, {
    name: 'sigalgs TLSv1.2',
    all: DEFAULT_SIG_ALGS,
    helloFor: (sigAlgs) => p.hello('TLSv1.2', { suites: pfs, sigAlgs }),
    stopAtServerHello: false,
    pick: (r) => {
      const k = ske(r.events);
      return serverHello(r.events) && k?.sigAlg !== undefined ? { id: k.sigAlg } : undefined;
    },
  });
  return { version: 'TLSv1.2', order: e.order, algorithms: e.found.map((id) => ({ id, name: signatureSchemeName(id) })), error: e.error };
}

/** TLS <= 1.2: which chain comes back for ECDSA-only and RSA-only suites, without SNI, and for an unknown name. */
async function certificateVariants(p: HostProbe, version: VersionName): Promise<CertificateVariant[]> {
  const all = suitesFor(version);
  const byAuth = (au: string) => all.filter((s) => s.au === au && !s.flags.has('anon') && !s.flags.has('psk')).map((s) => s.id);
  const asks: [CertificateVariant['request'], Partial<ClientHelloOptions>][] = [
    ['ecdsa-suites', { suites: byAuth('ECDSA') }],
    ['rsa-suites', { suites: byAuth('RSA') }],
  ];
  if (p.sni) asks.push(['no-sni', { sni: undefined }]);
  // A name the server cannot have: its default certificate, or an unrecognized_name alert.
  asks.push(['unknown-sni', { sni: 'unknown-name.iocptls-scan.invalid' }]);
  return Promise.all(
    asks.map(async ([request, over]) => {
      const r = await p.send(`certificate ${request}`, p.hello(version, over), false);
      const c = r.events.find((e) => e.type === 'certificate');
      return { request, der: c && c.type === 'certificate' ? c.chain : undefined, outcome: r.kind, alert: r.alert };
    })
  );
}

const GREASE = [0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a];

/**
 * Version and GREASE tolerance (RFC 8701, RFC 8446 D.1): ClientHellos a correct server answers
 * normally. Each is asked only where the answer is meaningful (a server with TLS 1.2 for the
 * legacy_version probe, one with TLS 1.3 for the future-version probe).
 */
async function toleranceProbes(p: HostProbe, offered: VersionName[]): Promise<ToleranceFindings> {
  const has12 = offered.includes('TLSv1.2');
  const has13 = offered.includes('TLSv1.3');
  const answered = (r: ProbeOutcome, v: number[]): Tristate => {
    const h = serverHello(r.events);
    return h && v.includes(h.version) ? 'yes' : 'no';
  };
  const [grease, legacy, future] = await Promise.all([
    has13 || has12
      ? p
          .send(
            'GREASE',
            p.hello(has13 ? 'TLSv1.3' : 'TLSv1.2', {
              suites: [GREASE[0], ...suitesFor(has13 ? 'TLSv1.3' : 'TLSv1.2').map((s) => s.id)],
              groups: [GREASE[1], ...(has13 ? TLS13_GROUPS : TLS12_GROUPS)],
              extensions: [{ type: GREASE[2], data: Buffer.alloc(0) }],
              ...(has13 ? { supportedVersions: [GREASE[3], VERSIONS['TLSv1.3']] } : {}),
            }),
            true
          )
          .then((r) => answered(r, [has13 ? VERSIONS['TLSv1.3'] : VERSIONS['TLSv1.2']]))
      : ('n/a' as Tristate),
    has12 ? p.send('legacy_version 0x0304', p.hello('TLSv1.2', { clientVersion: 0x0304 }), true).then((r) => answered(r, [VERSIONS['TLSv1.2']])) : ('n/a' as Tristate),
    has13
      ? p
          .send('supported_versions 0x0305', p.hello('TLSv1.3', { supportedVersions: [0x0305, VERSIONS['TLSv1.3']] }), true)
          .then((r) => answered(r, [VERSIONS['TLSv1.3']]))
      : ('n/a' as Tristate),
  ]);
  return { grease, version13InLegacyField: legacy, futureVersion: future };
}

async function alpnProbe(p: HostProbe, version: VersionName): Promise<AlpnFinding> {
  const pick = async (alpn: string[]) => serverHello((await p.send(`alpn ${alpn.join(',')}`, p.hello(version, { alpn }), true)).events)?.alpn;
  const [h2, h1, both] = await Promise.all([pick(['h2']), pick(['http/1.1']), pick(['http/1.1', 'h2'])]);
  return { supported: [h2, h1].filter((x): x is string => !!x), preferred: both };
}


let fullModules: Promise<{ SessionProber: typeof SessionProberClass; fullHandshakeProbes: typeof FullHandshakeProbes }> | undefined;
function fullScanModules() {
  fullModules ??= Promise.all([import('../workers/scan_session'), import('./full_handshake')]).then(([a, b]) => ({ SessionProber: a.SessionProber, fullHandshakeProbes: b.fullHandshakeProbes }));
  return fullModules;
}

/** IOCPTLS_SCAN_TRACE: the session thread's requests (full handshakes, resumptions) get a line each too. */
function traceThread(prober: SessionProberClass, ip: string, port: number): void {
  const request = prober.request.bind(prober) as (r: { kind: string; mode?: string; sigalgs?: string }) => Promise<unknown>;
  (prober as { request: typeof request }).request = async (r) => {
    const t0 = performance.now();
    try {
      return await request(r);
    } finally {
      traceProbe(ip, port, performance.now() - t0, 'thread', [r.kind, r.mode, r.sigalgs].filter(Boolean).join(' '));
    }
  };
}
