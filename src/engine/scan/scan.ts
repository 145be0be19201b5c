// `runScan`: the scan's one engine entry point. For each target, probes run concurrently (at
// most `concurrency` in flight per host), each with a timeout and one retry: one ClientHello per
// protocol version, then per accepted version an elimination of cipher suites (offer all, drop
// the server's pick, repeat: one connection per accepted suite) and of key exchange groups, ALPN
// and fallback probes, and one full OpenSSL handshake through the engine (as `connect` does) for
// the verified certificate chain. Probes speak our own wire codec (src/engine/wire/).
import crypto from 'node:crypto';
import dns from 'node:dns/promises';
import net from 'node:net';
import { opensslInfo } from '../openssl_info';
import { CertPool } from '../workers/scan_cert';
import type { Backend } from '../port/types';
import { ContentType, Ext, GROUPS, signatureSchemeName, groupInfo, groupName, TLS_FALLBACK_SCSV, VERSION_NAMES, VERSIONS, VersionName, versionName } from '../wire/constants';
import { clientHello, ClientHelloOptions, DEFAULT_SIG_ALGS, ssl2ClientHello, TLS13_GROUPS } from '../wire/hello';
import type { ServerEvent, ServerHello, ServerKeyExchange } from '../wire/reader';
import { suiteById, suiteKx, suiteName, suitesFor } from '../wire/suites';
import { Choice, eliminateParallel, Elimination } from './eliminate';
import { exchange, ExchangeOptions, Limiter, ProbeOutcome } from './exchange';
import { findingsFor } from './findings';
import { fullHandshakeProbes } from './full_handshake';
import { SessionProber } from '../workers/scan_session';
import type {
  AlpnFinding,
  CertificateChain,
  CertificateVariant,
  CipherFinding,
  FeatureFindings,
  GroupsFinding,
  HostScan,
  KeyShareBehaviour,
  ResumptionFinding,
  ToleranceFindings,
  ProbeError,
  ProtocolFinding,
  ScanTarget,
  SigAlgsFinding,
  SuiteFinding,
  Tristate,
} from './types';

export interface ScanOptions {
  /** Probes in flight per host. */
  concurrency: number;
  /** Per probe (connect + answer), ms. */
  timeoutMs: number;
  /** Retries of a probe that timed out or was reset (default 1). */
  retries?: number;
  /** Hosts scanned at the same time (default 16). */
  hostConcurrency?: number;
  /** Probes in flight over all hosts (default 256). */
  globalConcurrency?: number;
  /** New probes per second over all hosts (default: no limit). */
  rate?: number;
  /** Parallel elimination chains per list (default 8; 1 is the plain sequential elimination). */
  chains?: number;
  /** Completion port backend for the OpenSSL certificate handshake. */
  backend: Backend;
  /** Trust only these CAs (PEM file) when verifying the chain; default: the system store. */
  ca?: string;
  /** Called as each host finishes (progress). */
  onHost?: (h: HostScan) => void;
}

/** Shared by every host of one scan: the global cap, the rate, the certificate threads. */
interface Shared {
  global: Limiter;
  pace: () => Promise<void>;
  certs: CertPool;
}

/** Scans every target; never throws for a target's failure (it is in that host's `error`). */
export async function runScan(targets: ScanTarget[], o: ScanOptions): Promise<HostScan[]> {
  const hosts = new Limiter(o.hostConcurrency ?? 16);
  // Started first: the threads load OpenSSL and the trust store while names resolve and probes fly.
  const certs = new CertPool(Math.min(2, targets.length), opensslInfo().path ?? undefined);
  const shared: Shared = { global: new Limiter(o.globalConcurrency ?? 256), pace: pacer(o.rate), certs };
  try {
    return await Promise.all(
      targets.map((t) =>
        hosts.run(async () => {
          const r = await scanHost(t, o, shared);
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

/** TLS 1.2 groups we offer (no TLS 1.3-only ones): the named curves of RFC 8422 and 7748. */
const TLS12_GROUPS = GROUPS.filter((g) => g.kind === 'ec' || g.kind === 'x')
  .filter((g) => !g.name.endsWith('tls13'))
  .map((g) => g.id);

/**
 * The merge of parallel chains offers pairs (one round, many connections) only when the quickest
 * probe took longer than this: a server a few ms away gets the sequential merge (fewer connections,
 * a few ms more), a distant one the pairs (a round trip saved per accepted item).
 */
const PAIRS_FROM_MS = 50;

/** IOCPTLS_SCAN_TRACE=1: one line per probe on stderr (when it ended, how long it took), to see a scan's critical path. */
const TRACE = process.env.IOCPTLS_SCAN_TRACE ? performance.now() : 0;

class HostProbe {
  readonly limiter: Limiter;
  readonly errors: ProbeError[] = [];
  total = 0;
  attempts = 0;
  /** The quickest answer so far (connect + ServerHello), ms: about one round trip, even on a loaded machine. */
  fastestMs = Infinity;
  readonly byOutcome: HostScan['probes']['byOutcome'] = {};
  constructor(
    readonly ip: string,
    readonly port: number,
    readonly sni: string | undefined,
    readonly o: ScanOptions,
    readonly shared: Shared
  ) {
    this.limiter = new Limiter(o.concurrency);
  }

  /** `priority`: 0 for the probes of elimination chains (the critical path), 1 for the version probes, 2 for the rest. */
  async send(name: string, bytes: Buffer, stopAtServerHello: boolean, extra: Partial<ExchangeOptions> = {}, priority = 2): Promise<ProbeOutcome> {
    const r = await this.limiter.run(
      () =>
        this.shared.global.run(async () => {
          await this.shared.pace();
          return exchange(bytes, { host: this.ip, port: this.port, timeoutMs: this.o.timeoutMs, stopAtServerHello, retries: this.o.retries, ...extra });
        }, priority),
      priority
    );
    if (TRACE) process.stderr.write(`scan ${this.ip}:${this.port} ${(performance.now() - TRACE).toFixed(0).padStart(6)} ms ${r.ms.toFixed(0).padStart(5)} ms ${r.kind.padEnd(7)} ${name}\n`);
    this.total++;
    this.attempts += r.attempts;
    if (r.kind === 'answer' || r.kind === 'alert') this.fastestMs = Math.min(this.fastestMs, r.ms);
    this.byOutcome[r.kind] = (this.byOutcome[r.kind] ?? 0) + 1;
    if (r.kind === 'timeout' || r.kind === 'malformed' || r.kind === 'unreachable' || r.kind === 'refused' || (r.kind === 'reset' && r.events.length)) {
      this.errors.push({ probe: name, kind: r.kind, message: r.error ?? r.kind });
    }
    return r;
  }

  /** The base ClientHello for `version`, with every extension a scan wants echoed. */
  hello(version: VersionName, over: Partial<ClientHelloOptions> = {}): Buffer {
    if (version === 'TLSv1.3') {
      return clientHello({
        clientVersion: VERSIONS['TLSv1.2'],
        supportedVersions: [VERSIONS['TLSv1.3']],
        suites: suitesFor('TLSv1.3').map((s) => s.id),
        groups: TLS13_GROUPS,
        keyShares: [29, 23],
        sni: this.sni,
        ...over,
      });
    }
    return clientHello({
      clientVersion: VERSIONS[version],
      suites: suitesFor(version).map((s) => s.id),
      groups: TLS12_GROUPS,
      sni: this.sni,
      renegotiationInfo: true,
      extendedMasterSecret: true,
      encryptThenMac: true,
      sessionTicket: true,
      statusRequest: true,
      sct: true,
      heartbeat: true,
      // SSL 3.0 has no extensions (RFC 6101): servers that old may choke on them. The
      // renegotiation SCSV goes in the suite list instead.
      ...(version === 'SSLv3' ? { noExtensions: true, renegotiationInfo: false } : {}),
      ...over,
    });
  }
}

function serverHello(events: ServerEvent[]): ServerHello | undefined {
  for (const e of events) if (e.type === 'serverHello') return e.hello;
  return undefined;
}
function ske(events: ServerEvent[]): ServerKeyExchange | undefined {
  for (const e of events) if (e.type === 'serverKeyExchange') return e.ske;
  return undefined;
}

function describe(r: ProbeOutcome): string {
  if (r.kind === 'alert') return `alert ${r.alert}`;
  if (r.error) return `${r.kind}: ${r.error}`;
  return r.kind;
}

async function scanHost(t: ScanTarget, o: ScanOptions, shared: Shared): Promise<HostScan> {
  const t0 = performance.now();
  const servername = t.servername ?? (net.isIP(t.host) ? undefined : t.host);
  const base: HostScan = {
    target: { host: t.host, port: t.port, servername },
    ms: 0,
    protocols: [],
    ciphers: [],
    groups: [],
    findings: [],
    probes: { total: 0, attempts: 0, byOutcome: {} },
    errors: [],
  };
  let ip: string;
  try {
    ip = net.isIP(t.host) ? t.host : (await dns.lookup(t.host)).address;
  } catch (e) {
    return { ...base, error: `cannot resolve ${t.host} (${(e as NodeJS.ErrnoException).code ?? e})`, ms: performance.now() - t0 };
  }
  base.target.ip = ip;
  const p = new HostProbe(ip, t.port, servername, o, shared);

  // The full-handshake probes' thread (full_handshake.ts) loads while the version probes run.
  const prober = new SessionProber({ libssl: opensslInfo().path ?? undefined, backend: o.backend, ip, port: t.port, timeoutMs: o.timeoutMs });
  prober.warm();
  // 1. One probe per version, all at once; the TLS <= 1.2 ones read up to ServerHelloDone. The
  // certificate handshake and the eliminations for TLS 1.3 and 1.2 (the versions nearly every
  // server has) start at the same moment rather than after the version probes: a scan's time at a
  // distance is its count of sequential round trips. For a server without them they cost a few
  // refused probes.
  const first = new Map<VersionName, ProbeOutcome>();
  const certificate = certificateChain(t, ip, servername, o, shared.certs);
  const early = {
    ciphers13: eliminateSuites(p, 'TLSv1.3'),
    groups13: eliminateGroups13(p),
    ciphers12: eliminateSuites(p, 'TLSv1.2'),
    groups12: eliminateGroups12(p, 'TLSv1.2'),
    sigAlgs: eliminateSigAlgs(p),
  };
  const settleEarly = () => Promise.all(Object.values(early)).catch(() => undefined);
  await Promise.all(
    VERSION_NAMES.map(async (v) => {
      const bytes = v === 'SSLv2' ? ssl2ClientHello() : p.hello(v, v === 'TLSv1.3' ? {} : { compression: [1, 0] });
      first.set(v, await p.send(`protocol ${v}`, bytes, v === 'TLSv1.3' || v === 'SSLv2', {}, 1));
    })
  );
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
  // They queue behind the elimination chains (priority 0), the version probes (1) and the rest (2).
  const full = fullHandshakeProbes(
    {
      ip,
      port: t.port,
      sni: servername,
      timeoutMs: o.timeoutMs,
      ca: o.ca,
      offered,
      limit: (fn) => p.limiter.run(fn, 3),
      concurrency: o.concurrency,
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

function stats(p: HostProbe): Pick<HostScan, 'probes' | 'errors'> {
  return { probes: { total: p.total, attempts: p.attempts, byOutcome: p.byOutcome }, errors: p.errors };
}

function protocolFinding(v: VersionName, r: ProbeOutcome): ProtocolFinding {
  if (v === 'SSLv2') {
    const sh = r.events.find((e) => e.type === 'ssl2ServerHello');
    const ok = !!sh && sh.type === 'ssl2ServerHello' && sh.hello.ciphers.length > 0;
    return { version: v, offered: ok, outcome: r.kind, detail: ok ? undefined : describe(r) };
  }
  const h = serverHello(r.events);
  if (!h) return { version: v, offered: false, outcome: r.kind, detail: describe(r) };
  if (h.version === VERSIONS[v]) return { version: v, offered: true, outcome: r.kind };
  return { version: v, offered: false, outcome: r.kind, detail: `answered with ${versionName(h.version)}` };
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

/** `eliminateParallel` for this host's probes (src/engine/scan/eliminate.ts). */
function eliminate(
  p: HostProbe,
  o: { name: string; all: number[]; first?: ProbeOutcome; helloFor: (offer: number[]) => Buffer; stopAtServerHello: boolean; pick: (r: ProbeOutcome) => Choice; refused?: (r: ProbeOutcome) => boolean }
): Promise<Elimination> {
  return eliminateParallel((name, bytes, stop) => p.send(name, bytes, stop, {}, name.endsWith(' order') ? 1 : 0), {
    ...o,
    chains: p.o.chains ?? 8,
    pairsWorthIt: () => p.fastestMs > PAIRS_FROM_MS,
    describe,
    label: (id) => (o.name.startsWith('cipher') ? suiteName(id) : o.name.startsWith('sigalgs') ? signatureSchemeName(id) : groupName(id)),
  });
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

/** TLS 1.3: supported_groups = what is left, key_share empty, so the server names its pick in an HRR. */
async function eliminateGroups13(p: HostProbe): Promise<GroupsFinding> {
  const e = await eliminate(p, {
    name: 'groups TLSv1.3',
    all: TLS13_GROUPS,
    helloFor: (groups) => p.hello('TLSv1.3', { groups, keyShares: [] }),
    stopAtServerHello: true,
    pick: (r) => {
      const h = serverHello(r.events);
      if (!h || h.version !== VERSIONS['TLSv1.3']) return undefined;
      return h.keyShareGroup === undefined ? { error: 'HelloRetryRequest without a group' } : { id: h.keyShareGroup };
    },
  });
  return { version: 'TLSv1.3', order: e.order, groups: e.found.map(groupFinding), error: e.error };
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

/**
 * Heartbleed (CVE-2014-0160), asked only of a server that echoed the heartbeat extension: after
 * its ServerHelloDone, a heartbeat request claiming 16384 bytes of payload and carrying none. A
 * patched server drops it (or alerts); a vulnerable one answers with a heartbeat record, which
 * would hold its memory.
 */
async function heartbleedProbe(p: HostProbe, version: VersionName): Promise<Tristate> {
  const v = VERSIONS[version];
  const request = Buffer.from([ContentType.Heartbeat, v >> 8, v & 0xff, 0x00, 0x03, 0x01, 0x40, 0x00]);
  const r = await p.send('heartbleed', p.hello(version), false, { afterServerHelloDone: request, retries: 0, timeoutMs: Math.min(p.o.timeoutMs, 2000) });
  if (r.afterType === undefined && !r.events.some((e) => e.type === 'serverHelloDone')) return 'n/a';
  return r.afterType === ContentType.Heartbeat ? 'yes' : 'no';
}

function groupFinding(id: number) {
  const g = groupInfo(id);
  return { id, name: groupName(id), pq: !!g?.pq };
}

function keyShareBehaviour(r: ProbeOutcome): KeyShareBehaviour | undefined {
  const h = serverHello(r.events);
  if (!h || h.version !== VERSIONS['TLSv1.3'] || h.keyShareGroup === undefined) return undefined;
  return { sent: ['x25519', 'secp256r1'], answer: h.hrr ? 'helloRetryRequest' : 'serverHello', group: groupName(h.keyShareGroup) };
}

async function alpnProbe(p: HostProbe, version: VersionName): Promise<AlpnFinding> {
  const pick = async (alpn: string[]) => serverHello((await p.send(`alpn ${alpn.join(',')}`, p.hello(version, { alpn }), true)).events)?.alpn;
  const [h2, h1, both] = await Promise.all([pick(['h2']), pick(['http/1.1']), pick(['http/1.1', 'h2'])]);
  return { supported: [h2, h1].filter((x): x is string => !!x), preferred: both };
}

/** RFC 7507: a ClientHello for the second highest version with TLS_FALLBACK_SCSV must be refused. */
async function fallbackProbe(p: HostProbe, tls: VersionName[]): Promise<Tristate> {
  const modern = tls.filter((v) => v !== 'SSLv3');
  if (modern.length < 2) return 'n/a';
  const lower = modern[modern.length - 2];
  const r = await p.send('fallback SCSV', p.hello(lower, { scsv: [TLS_FALLBACK_SCSV] }), true);
  if (r.kind === 'alert' && r.alert === 'inappropriate_fallback') return 'yes';
  return serverHello(r.events) ? 'no' : 'n/a';
}

function features(
  r: ProbeOutcome | undefined,
  offered: VersionName[],
  fallbackScsv: Tristate,
  ciphers: CipherFinding[],
  first: Map<VersionName, ProbeOutcome>
): Omit<FeatureFindings, 'heartbleed'> {
  const h = r && serverHello(r.events);
  const has = (e: number): Tristate => (h ? (h.extensions.has(e) ? 'yes' : 'no') : 'n/a');
  let downgradeSentinel: Tristate = 'n/a';
  if (offered.includes('TLSv1.3') && offered.includes('TLSv1.2')) {
    downgradeSentinel = serverHello(first.get('TLSv1.2')!.events)?.downgrade === 'tls12' ? 'yes' : 'no';
  }
  // encrypt_then_mac is only echoed when a CBC suite is chosen: ask every CBC suite's probe.
  const cbc = ciphers.flatMap((c) => c.suites).filter((x) => x.encryptThenMac !== undefined);
  const encryptThenMac: Tristate = cbc.length ? (cbc.some((x) => x.encryptThenMac) ? 'yes' : 'no') : 'n/a';
  return {
    secureRenegotiation: has(Ext.RenegotiationInfo),
    extendedMasterSecret: has(Ext.ExtendedMasterSecret),
    encryptThenMac,
    heartbeat: has(Ext.Heartbeat),
    compression: h ? (h.compression === 1 ? 'deflate' : 'null') : 'n/a',
    sessionTicket: has(Ext.SessionTicket),
    ocspStapling: has(Ext.StatusRequest),
    signedCertificateTimestamps: has(Ext.SignedCertificateTimestamp),
    fallbackScsv,
    downgradeSentinel,
  };
}

function wireChain(r: ProbeOutcome | undefined): CertificateChain | undefined {
  if (!r) return undefined;
  const c = r.events.find((e) => e.type === 'certificate');
  if (!c || c.type !== 'certificate') return undefined;
  return {
    der: c.chain,
    source: 'wire',
    ocspStapled: r.events.some((e) => e.type === 'certificateStatus'),
  };
}

/** One full handshake through the engine's OpenSSL (like `connect`), on its own thread: the chain, verified, with TLS 1.3 too. */
async function certificateChain(
  t: ScanTarget,
  ip: string,
  servername: string | undefined,
  o: ScanOptions,
  certs: CertPool
): Promise<(CertificateChain & { alpn?: string; resumption?: ResumptionFinding }) | undefined> {
  const verifyHost = t.servername ?? t.host;
  const { result: r } = await certs.fetch({
    backend: o.backend,
    ip,
    port: t.port,
    servername,
    verifyHost,
    ca: o.ca,
    timeoutMs: o.timeoutMs,
  });
  if (!r) return undefined;
  return {
    der: r.der,
    keyTypes: r.keyTypes,
    signatureAlgorithms: r.signatureAlgorithms,
    source: 'openssl',
    protocol: r.protocol,
    verify: { ...r.verify, hostname: verifyHost, trust: r.trust },
    ocspStapled: false,
    alpn: r.alpn,
    resumption: { ...r.resumption, protocol: r.protocol },
  };
}
