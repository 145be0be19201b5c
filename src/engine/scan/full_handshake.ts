// The scan's findings that need more than a ServerHello: session resumption (N of M, as sslyze
// prints it) by session ID, TLS 1.2 ticket and TLS 1.3 ticket, 0-RTT, every chain the server
// serves (default, without SNI, per key type), OCSP staple and SCTs, TLS 1.3 signature
// algorithms, client-initiated renegotiation (through OpenSSL on the host's session probe
// thread), CCS injection and Ticketbleed (our wire codec past the ServerHello), and what CBC
// suites imply for POODLE-TLS and LUCKY13, ROBOT (a Bleichenbacher oracle check, robot.ts).
// Every probe goes through the host's limiter, so the per-host cap holds for these too.
import type { SessionProber } from '../workers/scan_session';
import type { VersionName } from '../wire/constants';
import type { ClientHelloOptions } from '../wire/hello';
import type { ServerHello } from '../wire/reader';
import { ccsInjectionProbe } from './ccs_injection';
import { robotProbe, rsaKeyOf, ROBOT_CVE } from './robot';
import { suiteKx, suitesFor } from '../wire/suites';
import { VERSIONS } from '../wire/constants';
import { describeChain, ocspStaple } from './chains';
import { Limiter, ProbeOutcome } from './exchange';
import { resumptionCheck, ResumptionMode } from './resumption';
import type { HandshakeRequest, HandshakeResult } from './session_probes';
import { judgeTicketbleed, ticketExtension, TICKETBLEED_SESSION_ID } from './ticketbleed';
import type { CipherFinding, FullHandshakeFindings, ProbeError, ServedChain, SigAlgs13Finding, VulnerabilityCheck } from './types';

export interface FullHandshakeHost {
  ip: string;
  port: number;
  sni?: string;
  timeoutMs: number;
  ca?: string;
  /** Versions the protocol probes found offered. */
  offered: VersionName[];
  /** The host's probe limiter; `chained`: a step of a chain, which goes before single probes. */
  limit<T>(fn: () => Promise<T>, chained?: boolean): Promise<T>;
  /** The host's cap (--concurrency): these probes take at most half of it, so the suite and group eliminations (one probe after another) keep their pace. */
  concurrency: number;
  /** Settles when those eliminations have ended: then these probes may take the whole cap. */
  eliminationsDone?: Promise<unknown>;
  /** A wire probe as the other scan probes send it (counted, limited). */
  send(name: string, bytes: Buffer, stopAtServerHello: boolean): Promise<ProbeOutcome>;
  /** The scan's base ClientHello for a version. */
  hello(version: VersionName, over?: Partial<ClientHelloOptions>): Buffer;
  prober: SessionProber;
  /** Records a probe that ended in an error. */
  error(e: ProbeError): void;
  /** Resumption attempts per way of resuming (sslyze: 5). */
  attempts?: number;
}

/** Signature algorithms per key type, as OpenSSL names them (the client's list picks the server's certificate). */
const KEY_TYPE_SIGALGS: Record<'ecdsa' | 'rsa' | 'eddsa' | 'mldsa', string> = {
  ecdsa: 'ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:ecdsa_secp521r1_sha512',
  rsa: 'rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:rsa_pkcs1_sha256:rsa_pkcs1_sha384:rsa_pkcs1_sha512',
  eddsa: 'ed25519:ed448',
  mldsa: 'mldsa44:mldsa65:mldsa87',
};

/** TLS 1.3 signature schemes, probed one at a time (RFC 8446 4.2.3; ML-DSA from draft-ietf-tls-mldsa). */
export const TLS13_SIGALGS = [
  'ecdsa_secp256r1_sha256',
  'ecdsa_secp384r1_sha384',
  'ecdsa_secp521r1_sha512',
  'ed25519',
  'ed448',
  'rsa_pss_rsae_sha256',
  'rsa_pss_rsae_sha384',
  'rsa_pss_rsae_sha512',
  'rsa_pss_pss_sha256',
  'rsa_pss_pss_sha384',
  'rsa_pss_pss_sha512',
  'ecdsa_brainpoolP256r1tls13_sha256',
  'ecdsa_brainpoolP384r1tls13_sha384',
  'ecdsa_brainpoolP512r1tls13_sha512',
  'mldsa44',
  'mldsa65',
  'mldsa87',
];

const UNKNOWN_SIGALG = /^this OpenSSL knows none of/;

/** Runs beside the wire probes; `ciphers` (the suite elimination's result) is awaited only at the end, for what CBC and RSA suites imply. */
export async function fullHandshakeProbes(h: FullHandshakeHost, ciphersLater: Promise<CipherFinding[]>): Promise<FullHandshakeFindings> {
  const hostLimit = h.limit;
  const has12 = h.offered.includes('TLSv1.2');
  const has13 = h.offered.includes('TLSv1.3');
  const tls = h.offered.filter((v) => v !== 'SSLv2' && v !== 'SSLv3');
  const best12 = [...tls].reverse().find((v) => v !== 'TLSv1.3');
  const out: FullHandshakeFindings = {};
  if (!tls.length) return out;
  // Our own cap inside the host's: a slot of ours first, then one of the host's (never the other way round, so no deadlock).
  const ours = new Limiter(Math.max(1, Math.floor(h.concurrency / 2)));
  void h.eliminationsDone?.then(
    () => ours.widen(h.concurrency),
    () => ours.widen(h.concurrency)
  );
  // Chain steps (a resumption check's handshakes, a renegotiation: a few at a time) skip our cap:
  // queued behind it they waited for single handshakes that held our slots while themselves
  // queued last in the host's (at 50 ms RTT the resumptions started ~200 ms after their tickets).
  h = { ...h, limit: (fn, chained) => (chained ? hostLimit(fn, true) : ours.run(() => hostLimit(fn))) };
  // The resumption checks are chains (a full handshake, then the resumptions it allows): their
  // steps go before the single probes queued meanwhile (signature algorithms, chains), or at a
  // distance each step would wait for a whole wave of those.
  const chained: FullHandshakeHost = { ...h, limit: (fn) => h.limit(fn, true) };

  // Each request is one connection in a limiter slot (a renegotiation is a chain of two handshakes).
  const handshake = (name: string, r: HandshakeRequest) =>
    h.limit(() => h.prober.request(r), r.renegotiate).catch((e: Error): HandshakeResult => {
      h.error({ probe: name, kind: 'timeout', message: e.message });
      return { ok: false, error: e.message };
    });
  const resumption = (mode: ResumptionMode, onFirst?: (ticket?: Uint8Array) => void) => resumptionCheck(chained, mode, h.attempts ?? 5, onFirst);

  const chainRequests: [ServedChain['request'], string | undefined, string | undefined][] = [
    ['default', h.sni, undefined],
    ...(h.sni ? ([['no-sni', undefined, undefined]] as [ServedChain['request'], undefined, undefined][]) : []),
    ...(Object.entries(KEY_TYPE_SIGALGS).map(([k, list]) => [k, h.sni, list]) as [ServedChain['request'], string | undefined, string][]),
  ];
  const robotLater = robotCheck(h, best12);
  // Ticketbleed needs only a TLS 1.2 ticket: it starts as soon as the first full handshake brings
  // one, beside the resumption attempts (after them, with a slow session thread it was the scan's
  // last ~250 ms at 50 ms RTT).
  let ticketNow: (ticket?: Uint8Array) => void = () => undefined;
  const firstTicket = new Promise<Uint8Array | undefined>((resolve) => (ticketNow = resolve));
  const t12Later = has12 ? resumption('ticket-tls12', ticketNow) : undefined;
  void Promise.resolve(t12Later).finally(() => ticketNow(undefined)); // whatever happened to the check, the wait ends
  const ticketbleedLater = firstTicket.then((ticket) => ticketbleedCheck(h, best12, ticket));
  const [sid, t12, t13, chains, sig13, reneg, ccs] = await Promise.all([
    has12 ? resumption('session-id') : undefined,
    t12Later,
    has13 ? resumption('ticket-tls13') : undefined,
    Promise.all(
      chainRequests.map(async ([request, servername, sigalgs]) => ({
        request,
        r: await handshake(`chain ${request}`, { kind: 'handshake', servername, sigalgs, ocsp: request === 'default', scts: request === 'default' }),
      }))
    ),
    has13 ? sigalgs13(h, handshake) : undefined,
    has12 ? handshake('renegotiation', { kind: 'handshake', servername: h.sni, renegotiate: true }) : undefined,
    best12 ? h.limit(() => ccsInjectionProbe({ host: h.ip, port: h.port, timeoutMs: h.timeoutMs, hello: h.hello(best12), version: best12 })) : undefined,
  ]);

  out.resumptionDetail = {
    sessionId: sid?.attempts,
    ticketTls12: t12?.attempts,
    ticketTls13: t13?.attempts,
    earlyData: t13?.earlyData,
  };

  const def = chains.find((c) => c.request === 'default')!.r;
  const defLeaf = def.chain?.[0] ? Buffer.from(def.chain[0]) : undefined;
  out.chains = chains.map(({ request, r }) => {
    if (!r.ok || !r.chain) {
      const error = r.error && UNKNOWN_SIGALG.test(r.error) ? `not tested: ${r.error}` : r.error;
      return { request, error };
    }
    const c: ServedChain = { request, protocol: r.protocol, signature: r.signature, ...describeChain(r.chain, r.keyTypes, h.ca) };
    if (request !== 'default' && defLeaf) c.sameAsDefault = defLeaf.equals(Buffer.from(r.chain[0]));
    return c;
  });
  if (def.ok) {
    out.ocsp = ocspStaple(def.ocsp, def.protocol);
    if (def.scts) out.scts = { count: def.scts.length, sources: [...new Set(def.scts)] };
  }
  out.signatureAlgorithms13 = sig13;
  if (reneg) {
    out.renegotiation = reneg.renegotiation
      ? { clientInitiated: reneg.renegotiation.result === 'accepted' ? 'accepted' : reneg.renegotiation.result === 'refused' ? 'refused' : 'not-tested', detail: reneg.renegotiation.detail }
      : { clientInitiated: 'not-tested', detail: `no TLS 1.2 handshake: ${reneg.error}` };
  }

  const [ticketbleed, robot] = await Promise.all([ticketbleedLater, robotLater]);
  const ciphers = await ciphersLater;
  out.vulnerabilities = {
    ccsInjection: ccs ? ccs.check : { status: 'not-applicable', method: 'inferred', cve: ['CVE-2014-0224'], detail: 'no TLS 1.0-1.2' },
    ticketbleed,
    robot,
    ...cbcChecks(ciphers),
  };
  return out;
}

async function sigalgs13(h: FullHandshakeHost, handshake: (name: string, r: HandshakeRequest) => Promise<HandshakeResult>): Promise<SigAlgs13Finding> {
  const results = await Promise.all(TLS13_SIGALGS.map(async (alg) => ({ alg, r: await handshake(`sigalg ${alg}`, { kind: 'handshake', servername: h.sni, minVersion: '1.3', sigalgs: alg }) })));
  const untested = results.filter((x) => !x.r.ok && x.r.error && UNKNOWN_SIGALG.test(x.r.error)).map((x) => x.alg);
  return { version: 'TLSv1.3', algorithms: results.filter((x) => x.r.ok).map((x) => x.alg), untested: untested.length ? untested : undefined };
}

async function ticketbleedCheck(h: FullHandshakeHost, best12: VersionName | undefined, ticket: Uint8Array | undefined): Promise<VulnerabilityCheck> {
  const cve = ['CVE-2016-9244'];
  if (best12 !== 'TLSv1.2') return { status: 'not-applicable', method: 'inferred', cve, detail: 'no TLS 1.2' };
  if (!ticket?.length) return { status: 'not-applicable', method: 'inferred', cve, detail: 'the server issues no TLS 1.2 session tickets' };
  const bytes = h.hello('TLSv1.2', {
    sessionId: TICKETBLEED_SESSION_ID,
    sessionTicket: false,
    extensions: [ticketExtension(Buffer.from(ticket))],
  });
  const r = await h.send('ticketbleed', bytes, true);
  const sh = r.events.find((e) => e.type === 'serverHello') as { type: 'serverHello'; hello: ServerHello } | undefined;
  return judgeTicketbleed(sh?.hello, 'TLSv1.2');
}

/**
 * ROBOT: asks the server for its first flight with only RSA key exchange suites (no other
 * suite could be an oracle); refused, it is not applicable; else robot.ts with its RSA key.
 */
async function robotCheck(h: FullHandshakeHost, best12: VersionName | undefined): Promise<VulnerabilityCheck> {
  const cve = ROBOT_CVE;
  if (!best12) return { status: 'not-applicable', method: 'inferred', cve, detail: 'no TLS 1.0-1.2' };
  const rsa = suitesFor(best12).filter((x) => suiteKx(x) === 'rsa' && !x.flags.has('psk') && !x.flags.has('export')).map((x) => x.id);
  const hello = () => h.hello(best12, { suites: rsa });
  const first = await h.send('robot: RSA key exchange', hello(), false);
  const sh = first.events.find((e) => e.type === 'serverHello');
  const cert = first.events.find((e) => e.type === 'certificate');
  if (!sh || sh.type !== 'serverHello' || sh.hello.version !== VERSIONS[best12])
    return { status: 'not-applicable', method: 'probed', cve, detail: `no RSA key exchange suite accepted (${first.kind === 'alert' ? `alert ${first.alert}` : first.kind})` };
  const key = cert && cert.type === 'certificate' && cert.chain[0] ? rsaKeyOf(cert.chain[0]) : undefined;
  if (!key) return { status: 'unknown', method: 'probed', cve, detail: 'RSA key exchange accepted, but no RSA certificate came with it' };
  const r = await robotProbe({ host: h.ip, port: h.port, timeoutMs: h.timeoutMs, version: best12, hello, key, limit: (fn) => h.limit(fn, true) });
  delete r.answers;
  return r;
}

/** POODLE-TLS and LUCKY13 are flaws of an implementation's CBC padding and MAC checks: inferred from CBC suites, not probed. */
function cbcChecks(ciphers: CipherFinding[]): { poodleTls: VulnerabilityCheck; lucky13: VulnerabilityCheck } {
  const cbc = ciphers.filter((c) => c.version !== 'TLSv1.3' && c.version !== 'SSLv3').flatMap((c) => c.suites.filter((s) => s.flags.includes('cbc')).map((s) => `${c.version} ${s.iana}`));
  const some = `${cbc.length} CBC suite${cbc.length === 1 ? '' : 's'}, e.g. ${cbc[0]}`;
  if (!cbc.length) {
    const none = { status: 'not-applicable' as const, method: 'inferred' as const, detail: 'no CBC suites in TLS 1.0-1.2' };
    return { poodleTls: { ...none, cve: ['CVE-2014-8730'] }, lucky13: { ...none, cve: ['CVE-2013-0169'] } };
  }
  return {
    poodleTls: {
      status: 'not-tested',
      method: 'inferred',
      cve: ['CVE-2014-8730'],
      detail: `${some}; checking the server's TLS padding check needs a record with bad padding under real keys: not probed`,
    },
    lucky13: {
      status: 'potentially-vulnerable',
      method: 'inferred',
      cve: ['CVE-2013-0169'],
      detail: `${some}: MAC-then-encrypt CBC leaks timing unless the implementation is constant-time (inferred from the suites, as testssl.sh does)`,
    },
  };
}
