// A quick scan (`scan --quick`): what matters across a fleet, in about ten connections per host
// instead of about 160. Every probe is one the full scan (scan.ts) also makes, read the same way,
// so the findings a quick scan raises are the full scan's (QUICK_FINDINGS in findings.ts); what it
// leaves out is named in the host's `quick.notChecked`, never reported as absent.
//
// All at once: one ClientHello per version (SSL 2.0 to TLS 1.2, our own codec; TLS 1.3's is the
// modern client's, unless the server refuses that one), a modern client's
// TLS 1.3 and TLS 1.2 ClientHellos (suite, group, post-quantum hybrid, ALPN), an elimination among
// the post-quantum hybrid groups only (one refused probe on a server without them), and one OpenSSL
// handshake without the resumption reconnect (chain, trust, hostname, key). Then the fallback SCSV
// probe, and Heartbleed where the heartbeat extension came back.
import { Ext, groupInfo, groupName, VERSION_NAMES, VERSIONS, VersionName } from '../wire/constants';
import { ssl2ClientHello, TLS13_GROUPS } from '../wire/hello';
import { suiteById, suiteName } from '../wire/suites';
import type { ProbeOutcome } from './exchange';
import { findingsFor, QUICK_FINDINGS } from './findings';
import {
  certificateChain,
  describe,
  startHost,
  eliminateGroups13,
  fallbackProbe,
  features,
  heartbleedProbe,
  HostProbe,
  keyShareBehaviour,
  protocolFinding,
  ScanOptions,
  serverHello,
  Shared,
  ske,
  stats,
  wireChain,
} from './host_probe';
import type { HostScan, NegotiatedFinding, ScanTarget, Tristate } from './types';

/** What a quick scan does not check (keys of the host's document). */
export const QUICK_NOT_CHECKED = [
  'ciphers',
  'groups',
  'signatureAlgorithms',
  'alpn',
  'resumption',
  'tolerance',
  'features.encryptThenMac',
  'certificate.variants',
  'resumptionDetail',
  'chains',
  'ocsp',
  'scts',
  'signatureAlgorithms13',
  'renegotiation',
  'vulnerabilities',
];

/** A modern browser's TLS 1.2 suites (ECDHE with AES-GCM and ChaCha20 first, then CBC and plain RSA), in its order. */
const MODERN_TLS12_SUITES = [0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030, 0xc00a, 0xc009, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035];
const X25519MLKEM768 = 0x11ec;
const X25519 = 29;
/** A modern client's groups: the post-quantum hybrid and x25519 with key shares, then the NIST curves. */
const MODERN_GROUPS = [X25519MLKEM768, X25519, 23, 24];
const ALPN = ['h2', 'http/1.1'];
const PQ_GROUPS = TLS13_GROUPS.filter((g) => groupInfo(g)?.pq);
/** The SSL 2.0 ClientHello, built once (its challenge is random; the probe stops at the ServerHello). */
let SSL2_HELLO: Buffer | undefined;

export async function scanHostQuick(t: ScanTarget, o: ScanOptions, shared: Shared): Promise<HostScan> {
  const t0 = performance.now();
  const { base, ip, servername } = await startHost(t, { quick: { notChecked: QUICK_NOT_CHECKED, findingsEvaluated: QUICK_FINDINGS } });
  if (ip === undefined) return { ...base, ms: performance.now() - t0 };
  const p = new HostProbe(ip, t.port, servername, o, shared);

  const certificate = certificateChain(t, ip, servername, o, shared.certs, false);
  const modern13 = p.send('modern TLSv1.3', p.hello('TLSv1.3', { suites: [0x1301, 0x1302, 0x1303], groups: MODERN_GROUPS, keyShares: [X25519MLKEM768, X25519], alpn: ALPN }), true, {}, 1);
  const modern12 = p.send('modern TLSv1.2', p.hello('TLSv1.2', { suites: MODERN_TLS12_SUITES, groups: MODERN_GROUPS.filter((g) => g !== X25519MLKEM768), alpn: ALPN }), false, {}, 1);
  // One chain: a server without post-quantum groups answers the first probe with a refusal.
  const pq = eliminateGroups13(p, PQ_GROUPS, 1);
  const first = new Map<VersionName, ProbeOutcome>();
  await Promise.all(
    VERSION_NAMES.map(async (v) => {
      // TLS 1.3: the modern client's probe answers it (one full server flight fewer per host); a
      // server that refuses it (no group in common, say) gets the full scan's version probe.
      if (v === 'TLSv1.3') {
        const m = await modern13;
        const answered = serverHello(m.events)?.version === VERSIONS['TLSv1.3'];
        first.set(v, answered ? m : await p.send('protocol TLSv1.3', p.hello(v), true, {}, 1));
        return;
      }
      SSL2_HELLO ??= ssl2ClientHello();
      first.set(v, await p.send(`protocol ${v}`, v === 'SSLv2' ? SSL2_HELLO : p.hello(v, { compression: [1, 0] }), v === 'SSLv2', {}, 1));
    })
  );
  for (const v of VERSION_NAMES) base.protocols.push(protocolFinding(v, first.get(v)!));
  const offered = base.protocols.filter((x) => x.offered).map((x) => x.version);
  if (!offered.length && [...first.values()].every((r) => r.kind === 'refused' || r.kind === 'unreachable' || r.kind === 'timeout')) {
    await Promise.all([certificate.catch(() => undefined), modern13, modern12, pq.catch(() => undefined)]);
    return { ...base, ...stats(p), error: `${t.host}:${t.port}: ${describe(first.get('TLSv1.2')!)}`, ms: performance.now() - t0 };
  }
  const tls = offered.filter((v) => v !== 'SSLv2');
  const best12 = [...tls].reverse().find((v) => v !== 'TLSv1.3');
  const heartbeatOn = best12 && serverHello(first.get(best12)!.events)?.extensions.has(Ext.Heartbeat);
  const [fallback, heartbleed, cert, m13, m12, pqGroups] = await Promise.all([
    fallbackProbe(p, tls),
    heartbeatOn ? heartbleedProbe(p, best12!) : ('n/a' as Tristate),
    certificate,
    modern13,
    modern12,
    pq,
  ]);
  const negotiated: NegotiatedFinding[] = [];
  const on13 = offered.includes('TLSv1.3');
  const n13 = on13 ? negotiatedFrom('TLSv1.3', m13) : undefined;
  if (n13) negotiated.push({ ...n13, alpn: cert?.protocol === 'TLSv1.3' ? cert.alpn : undefined });
  const n12 = offered.includes('TLSv1.2') ? negotiatedFrom('TLSv1.2', m12) : undefined;
  if (n12) negotiated.push(n12);
  base.negotiated = negotiated;
  if (on13) base.postQuantumGroups = pqGroups.groups;
  if (on13 && pqGroups.error) p.errors.push({ probe: 'groups TLSv1.3 (post-quantum)', kind: 'malformed', message: pqGroups.error });
  base.keyShare = keyShareBehaviour(first.get('TLSv1.3')!, first.get('TLSv1.3') === m13 ? ['X25519MLKEM768', 'x25519'] : undefined);
  if (cert) {
    delete cert.alpn;
    delete cert.resumption;
  }
  base.certificate = cert ?? wireChain(best12 ? first.get(best12)! : undefined);
  if (base.certificate && base.certificate.source === 'openssl' && best12) {
    base.certificate.ocspStapled = !!serverHello(first.get(best12)!.events)?.extensions.has(Ext.StatusRequest);
  }
  const f = { ...features(best12 ? first.get(best12)! : undefined, offered, fallback, [], first), heartbleed };
  delete f.encryptThenMac;
  base.features = f;
  const done: HostScan = { ...base, ...stats(p), ms: performance.now() - t0 };
  done.findings = findingsFor(done);
  return done;
}

/** The suite and group a modern client's ClientHello got, when the server answered it at `version`. */
function negotiatedFrom(version: 'TLSv1.3' | 'TLSv1.2', r: ProbeOutcome): NegotiatedFinding | undefined {
  const h = serverHello(r.events);
  if (!h || h.version !== VERSIONS[version]) return undefined;
  const groupId = version === 'TLSv1.3' ? h.keyShareGroup : ske(r.events)?.group;
  const s = suiteById(h.suite);
  return {
    version,
    suite: suiteName(h.suite),
    openssl: s?.openssl ?? '',
    flags: s ? [...s.flags] : [],
    group: groupId !== undefined ? groupName(groupId) : undefined,
    pq: groupId !== undefined ? !!groupInfo(groupId)?.pq : undefined,
    helloRetryRequest: version === 'TLSv1.3' ? h.hrr : undefined,
    alpn: version === 'TLSv1.2' ? h.alpn : undefined,
  };
}
