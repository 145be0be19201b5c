// What the full scan (scan.ts) and the quick scan (quick.ts) share: the options, one host's probe
// sender (per-host and global caps, rate, retries, counts), the ClientHello a scan sends for each
// version, and the probes and readings both make (protocol per version, fallback SCSV, Heartbleed,
// features from the ServerHello, the OpenSSL certificate handshake), and a host's start: its
// empty document and its address.
import dns from 'node:dns/promises';
import net from 'node:net';
import type { CertPool, Reply as CertReply, ScanCertRequest } from '../workers/scan_cert';
import type { Backend } from '../port/types';
import { ContentType, Ext, GROUPS, signatureSchemeName, groupInfo, groupName, TLS_FALLBACK_SCSV, VERSIONS, VersionName, versionName } from '../wire/constants';
import { clientHello, ClientHelloOptions, TLS13_GROUPS } from '../wire/hello';
import type { ServerEvent, ServerHello, ServerKeyExchange } from '../wire/reader';
import { suiteName, suitesFor } from '../wire/suites';
import { Choice, eliminateParallel, Elimination } from './eliminate';
import { exchange, ExchangeOptions, Limiter, ProbeOutcome } from './exchange';
import { likelyRanks } from './likely_order';
import type {
  CertificateChain,
  CipherFinding,
  FeatureFindings,
  GroupsFinding,
  HostScan,
  KeyShareBehaviour,
  ProbeError,
  ProtocolFinding,
  ResumptionFinding,
  ScanTarget,
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
  /** A quick scan of each host (quick.ts): about ten connections, what matters across a fleet. */
  quick?: boolean;
  /** Called as each host finishes (progress). */
  onHost?: (h: HostScan) => void;
}

/** Shared by every host of one scan: the global cap, the rate, the certificate threads. */
export interface Shared {
  global: Limiter;
  pace: () => Promise<void>;
  certs: CertPool;
}


/** TLS 1.2 groups we offer (no TLS 1.3-only ones): the named curves of RFC 8422 and 7748. */
/**
 * A host's document before any probe (`extra`: what the kind of scan adds) and its address: the
 * host itself when it is an IP address, else its first DNS answer. Without one, `error` says why.
 */
export async function startHost(t: ScanTarget, extra: Partial<HostScan> = {}): Promise<{ base: HostScan; ip?: string; servername?: string }> {
  const servername = t.servername ?? (net.isIP(t.host) ? undefined : t.host);
  const base: HostScan = {
    target: { host: t.host, port: t.port, servername },
    ...extra,
    ms: 0,
    protocols: [],
    ciphers: [],
    groups: [],
    findings: [],
    probes: { total: 0, attempts: 0, byOutcome: {} },
    errors: [],
  };
  try {
    base.target.ip = net.isIP(t.host) ? t.host : (await dns.lookup(t.host)).address;
    return { base, ip: base.target.ip, servername };
  } catch (e) {
    return { base: { ...base, error: `cannot resolve ${t.host} (${(e as NodeJS.ErrnoException).code ?? e})` }, servername };
  }
}

export const TLS12_GROUPS = GROUPS.filter((g) => g.kind === 'ec' || g.kind === 'x')
  .filter((g) => !g.name.endsWith('tls13'))
  .map((g) => g.id);

/**
 * The merge of parallel chains offers pairs (one round, many connections) only when the quickest
 * probe took longer than this: a server a few ms away gets the sequential merge (fewer connections,
 * a few ms more), a distant one the pairs (a round trip saved per accepted item).
 */
export const PAIRS_FROM_MS = 50;

/** IOCPTLS_SCAN_TRACE=1: one line per probe on stderr (when it ended, how long it took), to see a scan's critical path. */
const TRACE = process.env.IOCPTLS_SCAN_TRACE ? performance.now() : 0;
export const TRACING = TRACE > 0;

export function traceProbe(ip: string, port: number, ms: number, kind: string, name: string): void {
  if (TRACE) process.stderr.write(`scan ${ip}:${port} ${(performance.now() - TRACE).toFixed(0).padStart(6)} ms ${ms.toFixed(0).padStart(5)} ms ${kind.padEnd(7)} ${name}\n`);
}

/** Quick scans' ClientHellos by version, SNI and options (HostProbe.hello). */
const HELLOS = new Map<string, Buffer>();

export class HostProbe {
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

  /** `priority`: 0 for the probes of elimination chains (the critical path), 1 for the version and order probes (and full handshakes: scan.ts), 2 for the rest. */
  async send(name: string, bytes: Buffer, stopAtServerHello: boolean, extra: Partial<ExchangeOptions> = {}, priority = 2): Promise<ProbeOutcome> {
    const r = await this.limiter.run(
      () =>
        this.shared.global.run(async () => {
          await this.shared.pace();
          return exchange(bytes, { host: this.ip, port: this.port, timeoutMs: this.o.timeoutMs, stopAtServerHello, retries: this.o.retries, ...extra });
        }, priority),
      priority
    );
    traceProbe(this.ip, this.port, r.ms, r.kind, name);
    this.total++;
    this.attempts += r.attempts;
    if (r.kind === 'answer' || r.kind === 'alert') this.fastestMs = Math.min(this.fastestMs, r.ms);
    this.byOutcome[r.kind] = (this.byOutcome[r.kind] ?? 0) + 1;
    if (r.kind === 'timeout' || r.kind === 'malformed' || r.kind === 'unreachable' || r.kind === 'refused' || (r.kind === 'reset' && r.events.length)) {
      this.errors.push({ probe: name, kind: r.kind, message: r.error ?? r.kind });
    }
    return r;
  }

  /**
   * The base ClientHello for `version`, with every extension a scan wants echoed. A quick scan
   * sends the same few hellos to every host: built once (random and key shares included; its
   * probes stop at the ServerHello or ServerHelloDone and derive no keys), not per host.
   */
  hello(version: VersionName, over: Partial<ClientHelloOptions> = {}): Buffer {
    if (!this.o.quick) return this.build(version, over);
    const key = `${version}\0${this.sni ?? ''}\0${JSON.stringify(over)}`;
    let b = HELLOS.get(key);
    if (!b) {
      if (HELLOS.size >= 256) HELLOS.clear();
      HELLOS.set(key, (b = this.build(version, over)));
    }
    return b;
  }

  build(version: VersionName, over: Partial<ClientHelloOptions>): Buffer {
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

export function serverHello(events: ServerEvent[]): ServerHello | undefined {
  for (const e of events) if (e.type === 'serverHello') return e.hello;
  return undefined;
}
export function ske(events: ServerEvent[]): ServerKeyExchange | undefined {
  for (const e of events) if (e.type === 'serverKeyExchange') return e.ske;
  return undefined;
}

export function describe(r: ProbeOutcome): string {
  if (r.kind === 'alert') return `alert ${r.alert}`;
  if (r.error) return `${r.kind}: ${r.error}`;
  return r.kind;
}

export function stats(p: HostProbe): Pick<HostScan, 'probes' | 'errors'> {
  return { probes: { total: p.total, attempts: p.attempts, byOutcome: p.byOutcome }, errors: p.errors };
}

export function protocolFinding(v: VersionName, r: ProbeOutcome): ProtocolFinding {
  if (v === 'SSLv2') {
    const sh = r.events.find((e) => e.type === 'ssl2ServerHello');
    const ok = !!sh && sh.type === 'ssl2ServerHello' && sh.hello.ciphers.length > 0;
    return { version: v, offered: ok, outcome: r.kind, detail: ok ? undefined : describe(r) };
  }
  const h = serverHello(r.events);
  if (!h) return { version: v, offered: false, outcome: r.kind, detail: describe(r) };
  if (h.version === VERSIONS[v]) return { version: v, offered: true, outcome: r.kind, suite: v === 'TLSv1.3' ? undefined : suiteName(h.suite) };
  return { version: v, offered: false, outcome: r.kind, detail: `answered with ${versionName(h.version)}` };
}



/** `eliminateParallel` for this host's probes (src/engine/scan/eliminate.ts). */
export function eliminate(
  p: HostProbe,
  o: { name: string; all: number[]; chains?: number; first?: ProbeOutcome; helloFor: (offer: number[]) => Buffer; stopAtServerHello: boolean; pick: (r: ProbeOutcome) => Choice; refused?: (r: ProbeOutcome) => boolean }
): Promise<Elimination> {
  return eliminateParallel((name, bytes, stop) => p.send(name, bytes, stop, {}, name.endsWith(' order') ? 1 : 0), {
    ...o,
    chains: o.chains ?? p.o.chains ?? 8,
    pairsWorthIt: () => p.fastestMs > PAIRS_FROM_MS,
    likely: likelyRanks(o.name),
    describe,
    label: (id) => (o.name.startsWith('cipher') ? suiteName(id) : o.name.startsWith('sigalgs') ? signatureSchemeName(id) : groupName(id)),
  });
}


/**
 * Heartbleed (CVE-2014-0160), asked only of a server that echoed the heartbeat extension: after
 * its ServerHelloDone, a heartbeat request claiming 16384 bytes of payload and carrying none. A
 * patched server drops it (or alerts); a vulnerable one answers with a heartbeat record, which
 * would hold its memory.
 */
export async function heartbleedProbe(p: HostProbe, version: VersionName): Promise<Tristate> {
  const v = VERSIONS[version];
  const request = Buffer.from([ContentType.Heartbeat, v >> 8, v & 0xff, 0x00, 0x03, 0x01, 0x40, 0x00]);
  const r = await p.send('heartbleed', p.hello(version), false, { afterServerHelloDone: request, retries: 0, timeoutMs: Math.min(p.o.timeoutMs, 2000) });
  if (r.afterType === undefined && !r.events.some((e) => e.type === 'serverHelloDone')) return 'n/a';
  return r.afterType === ContentType.Heartbeat ? 'yes' : 'no';
}

export function groupFinding(id: number) {
  const g = groupInfo(id);
  return { id, name: groupName(id), pq: !!g?.pq };
}

/** `sent`: the groups whose key shares the probe's ClientHello carried (the version probe's by default). */
export function keyShareBehaviour(r: ProbeOutcome, sent = ['x25519', 'secp256r1']): KeyShareBehaviour | undefined {
  const h = serverHello(r.events);
  if (!h || h.version !== VERSIONS['TLSv1.3'] || h.keyShareGroup === undefined) return undefined;
  return { sent, answer: h.hrr ? 'helloRetryRequest' : 'serverHello', group: groupName(h.keyShareGroup) };
}


/** RFC 7507: a ClientHello for the second highest version with TLS_FALLBACK_SCSV must be refused. */
export async function fallbackProbe(p: HostProbe, tls: VersionName[]): Promise<Tristate> {
  const modern = tls.filter((v) => v !== 'SSLv3');
  if (modern.length < 2) return 'n/a';
  const lower = modern[modern.length - 2];
  const r = await p.send('fallback SCSV', p.hello(lower, { scsv: [TLS_FALLBACK_SCSV] }), true);
  if (r.kind === 'alert' && r.alert === 'inappropriate_fallback') return 'yes';
  return serverHello(r.events) ? 'no' : 'n/a';
}

export function features(
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

export function wireChain(r: ProbeOutcome | undefined): CertificateChain | undefined {
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
export async function certificateChain(
  t: ScanTarget,
  ip: string,
  servername: string | undefined,
  o: ScanOptions,
  certs: { fetch(req: ScanCertRequest): Promise<CertReply> },
  resumption = true
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
    resumption,
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

/** TLS 1.3: supported_groups = what is left (of `all`), key_share empty, so the server names its pick in an HRR. */
export async function eliminateGroups13(p: HostProbe, all: number[] = TLS13_GROUPS, chains?: number): Promise<GroupsFinding> {
  const e = await eliminate(p, {
    name: 'groups TLSv1.3',
    all,
    chains,
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
