// What a scan finds about one host: plain data (JSON-able but for certificate DER), rendered by
// src/report/scan.ts into the terminal report and the iocptls.scan/1 document.
import type { VersionName } from '../wire/constants';
import type { ProbeOutcomeKind } from './exchange';

export interface ScanTarget {
  host: string;
  port: number;
  /** SNI to send and name to verify; default: the host unless it is an IP address. */
  servername?: string;
}

export interface ProtocolFinding {
  version: VersionName;
  offered: boolean;
  /** How the probe ended: 'answer' (a ServerHello), 'alert', 'closed', 'reset', 'timeout', 'malformed'... */
  outcome: ProbeOutcomeKind;
  /** The alert, the version the server answered with instead, or the probe error. */
  detail?: string;
  /** TLS <= 1.2, offered: the suite (IANA name) the server picked from every suite of the version, offered at once. */
  suite?: string;
}

/** A quick scan (--quick): what it did not look at, so that nothing absent reads as "the server has none". */
export interface QuickScope {
  /**
   * Parts of the host's document a quick scan does not check, by key ('ciphers', 'groups',
   * 'signatureAlgorithms', 'alpn', 'resumption', 'tolerance', 'features.encryptThenMac',
   * 'certificate.variants', and the full-handshake parts): absent from the document for that
   * reason, not because the server lacks them.
   */
  notChecked: string[];
  /** Finding ids the quick scan can raise; the others (rc4, sweet32, client-order-*...) are not evaluated. */
  findingsEvaluated: string[];
}

/** What the server negotiates with a modern client's ClientHello (a quick scan's probes). */
export interface NegotiatedFinding {
  version: 'TLSv1.3' | 'TLSv1.2';
  /** The suite (IANA name) and OpenSSL's name for it. */
  suite: string;
  openssl: string;
  /** The suite's properties as in a cipher list (pfs, aead, cbc...). */
  flags: string[];
  /** The key exchange group: TLS 1.3 the key share's, TLS 1.2 the ServerKeyExchange's curve. */
  group?: string;
  /** The group is a post-quantum hybrid. */
  pq?: boolean;
  /** TLS 1.3: the server asked for another key share (HelloRetryRequest) rather than take one we sent. */
  helloRetryRequest?: boolean;
  /** The ALPN protocol it picked from h2, http/1.1 (TLS 1.2: from the ServerHello; TLS 1.3: from the OpenSSL handshake, when it was TLS 1.3). */
  alpn?: string;
}

export interface SuiteFinding {
  id: number;
  iana: string;
  openssl: string;
  bits: number;
  flags: string[];
  /** ECDHE: the curve the server used with it (TLS <= 1.2). */
  group?: string;
  /** DHE: bits of the prime. */
  dhBits?: number;
  /** CBC suites: whether the server echoed encrypt_then_mac (RFC 7366) with it. */
  encryptThenMac?: boolean;
}

export type Order = 'server' | 'client' | 'single' | 'none';

export interface CipherFinding {
  version: VersionName;
  /** 'server': its own order (the list is in it); 'client': ours honoured; 'single': one suite. */
  order: Order;
  suites: SuiteFinding[];
  /** Probe errors that cut the elimination short (the list may then be incomplete). */
  error?: string;
}

export interface GroupFinding {
  id: number;
  name: string;
  pq: boolean;
}

export interface GroupsFinding {
  version: 'TLSv1.3' | 'TLSv1.2';
  order: Order;
  groups: GroupFinding[];
  error?: string;
}

export interface SigAlgsFinding {
  version: 'TLSv1.2';
  order: Order;
  /** SignatureSchemes the server signs its ServerKeyExchange with (for the certificate it chose). */
  algorithms: { id: number; name: string }[];
  error?: string;
}

export interface KeyShareBehaviour {
  /** The groups we sent shares for (x25519, secp256r1). */
  sent: string[];
  /** What came back: a ServerHello using one of them, or a HelloRetryRequest for another group. */
  answer: 'serverHello' | 'helloRetryRequest';
  group: string;
}

export interface CertificateChain {
  /** DER, leaf first, as the server sent it. */
  der: Buffer[];
  /** Key type per certificate as OpenSSL names it (when from the OpenSSL handshake). */
  keyTypes?: string[];
  signatureAlgorithms?: string[];
  /** 'openssl': a full handshake through the engine (verified); 'wire': the plaintext TLS <= 1.2 Certificate. */
  source: 'openssl' | 'wire';
  protocol?: string;
  verify?: { ok: boolean; message: string; hostname?: string; trust?: string };
  ocspStapled: boolean;
  error?: string;
  /** TLS <= 1.2: the chains sent when only ECDSA or only RSA suites are offered, without SNI, and for an unknown name. */
  variants?: CertificateVariant[];
}

export interface CertificateVariant {
  request: 'ecdsa-suites' | 'rsa-suites' | 'no-sni' | 'unknown-sni';
  /** The chain (plaintext Certificate message); absent when the probe got none (e.g. refused: no such suites). */
  der?: Buffer[];
  outcome: ProbeOutcomeKind;
  /** The alert, when the probe got one (e.g. unrecognized_name for an unknown SNI). */
  alert?: string;
}

export type Tristate = 'yes' | 'no' | 'n/a';

export interface FeatureFindings {
  secureRenegotiation: Tristate;
  extendedMasterSecret: Tristate;
  /** Absent in a quick scan (it takes a probe per CBC suite: not checked). */
  encryptThenMac?: Tristate;
  heartbeat: Tristate;
  /** CVE-2014-0160: a heartbeat request claiming more payload than it carries got a heartbeat answer ('n/a' without the extension). */
  heartbleed: Tristate;
  /** The compression method the server chose when DEFLATE was offered first. */
  compression: 'null' | 'deflate' | 'n/a';
  sessionTicket: Tristate;
  ocspStapling: Tristate;
  signedCertificateTimestamps: Tristate;
  /** RFC 7507: an inappropriate_fallback alert to a fallback ClientHello below the highest version. */
  fallbackScsv: Tristate;
  /** RFC 8446 4.1.3: DOWNGRD in ServerHello.random when a TLS 1.3 server negotiates 1.2. */
  downgradeSentinel: Tristate;
}

export interface ResumptionFinding {
  /** A second handshake offering the first one's session (TLS 1.3 ticket, or TLS 1.2 ticket / session id) resumed it. */
  resumed: boolean;
  /** Session tickets the server sent on the first connection. */
  tickets: number;
  protocol: string;
  error?: string;
}

export interface ToleranceFindings {
  /** A ClientHello with GREASE values (RFC 8701) in suites, groups, extensions and versions got a normal answer. */
  grease: Tristate;
  /** A ClientHello whose legacy_version says TLS 1.3 (0x0304), without supported_versions, got TLS 1.2 rather than a refusal. */
  version13InLegacyField: Tristate;
  /** A ClientHello with a 0x0305 in supported_versions (a future version) got TLS 1.3 or 1.2. */
  futureVersion: Tristate;
}

export interface AlpnFinding {
  /** Protocols the server selected from what we offered (h2, http/1.1), each offered alone. */
  supported: string[];
  /** Its pick when offered ['http/1.1', 'h2'] (client order puts h2 last). */
  preferred?: string;
}

export interface Finding {
  id: string;
  severity: 'good' | 'info' | 'warn' | 'bad';
  title: string;
  cve?: string[];
}

export interface ProbeError {
  probe: string;
  kind: ProbeOutcomeKind;
  message: string;
}

/** One host's scan; its full-handshake part (resumption N of M, every served chain, OCSP, SCTs, TLS 1.3 sigalgs, renegotiation, CCS/Ticketbleed/ROBOT...) is FullHandshakeFindings. */
export interface HostScan extends FullHandshakeFindings {
  target: { host: string; port: number; ip?: string; servername?: string };
  /** Present when the host had a quick scan (--quick): what it did not check. */
  quick?: QuickScope;
  /** Quick scan: what TLS 1.3 and TLS 1.2 negotiate with a modern client (each version the server offers). */
  negotiated?: NegotiatedFinding[];
  /** Quick scan, TLS 1.3: the post-quantum hybrid groups the server accepts (eliminated among those alone; empty: none). */
  postQuantumGroups?: GroupFinding[];
  /** Set when the host could not be scanned at all (DNS, refused, every probe timed out). */
  error?: string;
  ms: number;
  protocols: ProtocolFinding[];
  ciphers: CipherFinding[];
  groups: GroupsFinding[];
  keyShare?: KeyShareBehaviour;
  signatureAlgorithms?: SigAlgsFinding;
  certificate?: CertificateChain;
  alpn?: AlpnFinding;
  features?: FeatureFindings;
  resumption?: ResumptionFinding;
  tolerance?: ToleranceFindings;
  findings: Finding[];
  probes: { total: number; attempts: number; byOutcome: Partial<Record<ProbeOutcomeKind, number>> };
  /** Probes that ended in an error (timeout, reset, malformed answer...), not in an answer or a refusal. */
  errors: ProbeError[];
}

// ---- What the full-handshake probes find (src/engine/scan/full_handshake.ts and the files it
// calls): real handshakes through OpenSSL, or our wire codec past the ServerHello.

/** N of M resumption attempts, as sslyze prints it, for one way of resuming. */
export interface ResumptionAttempts {
  /** The server handed out what this way resumes with (a session ID, a ticket). */
  issued: boolean;
  attempts: number;
  resumed: number;
  /** Tickets: the lifetime hint the server gave, seconds. */
  lifetimeHint?: number;
  /** Why attempts did not resume (distinct reasons). */
  failures?: string[];
  /** The first, full handshake failed (then nothing was attempted). */
  error?: string;
}

export interface ResumptionDetail {
  /** TLS 1.2 without the session_ticket extension: resumption by session ID. */
  sessionId?: ResumptionAttempts;
  ticketTls12?: ResumptionAttempts;
  ticketTls13?: ResumptionAttempts;
  /** TLS 1.3 0-RTT: 'not-offered' when the tickets carry no early_data (max_early_data 0). */
  earlyData?: { status: 'accepted' | 'rejected' | 'not-offered' | 'not-sent'; maxEarlyData?: number };
}

export interface ServedCertificate {
  subject: string;
  issuer: string;
  sha256: string;
  /** As OpenSSL names it ('RSA', 'EC', 'ED25519', 'ML-DSA-65'...). */
  keyType?: string;
}

/** One chain as the server served it to one kind of request. */
export interface ServedChain {
  /** 'default': SNI (if any) and every signature algorithm; 'no-sni'; or only the signature algorithms of one key type. */
  request: 'default' | 'no-sni' | 'ecdsa' | 'rsa' | 'eddsa' | 'mldsa';
  /** The handshake failed (no certificate of that key type...), or this OpenSSL cannot ask (no ML-DSA before 3.5). */
  error?: string;
  protocol?: string;
  /** How the server signed the handshake ('ECDSA+SHA256', 'RSA-PSS+SHA256', 'ML-DSA-65'). */
  signature?: string;
  certificates?: ServedCertificate[];
  /** Each certificate is issued by the next one. */
  ordered?: boolean;
  /** The chain reaches a self-signed certificate or one whose issuer is a known root (Node's Mozilla roots, --ca). */
  complete?: boolean;
  /** The chain includes its self-signed root (unneeded bytes). */
  anchorSent?: boolean;
  /** Same leaf as the default request's. */
  sameAsDefault?: boolean;
}

export interface OcspStaple {
  stapled: boolean;
  bytes?: number;
  /** OCSPResponseStatus: 'successful', 'tryLater'... */
  responseStatus?: string;
  /** From the protocol the staple came with (TLS 1.3 carries it in the Certificate message). */
  protocol?: string;
}

export interface SctFinding {
  count: number;
  /** Where they came from: embedded in the certificate, the TLS extension, the OCSP staple. */
  sources: ('certificate' | 'tls-extension' | 'ocsp' | 'unknown')[];
}

export interface SigAlgs13Finding {
  version: 'TLSv1.3';
  /** Schemes the server completed a handshake with when offered alone (one probe each, concurrently). */
  algorithms: string[];
  /** Schemes this OpenSSL cannot offer (so not tested). */
  untested?: string[];
}

export interface RenegotiationFinding {
  /** CVE-2011-1473: 'accepted' means a client can make the server do full handshakes on one connection at will. */
  clientInitiated: 'accepted' | 'refused' | 'not-tested';
  detail?: string;
}

export interface VulnerabilityCheck {
  status: 'vulnerable' | 'not-vulnerable' | 'potentially-vulnerable' | 'not-applicable' | 'not-tested' | 'unknown';
  /** 'probed': sent and observed; 'inferred': follows from other findings (what and why in detail). */
  method: 'probed' | 'inferred';
  cve: string[];
  detail?: string;
}

export interface VulnerabilityFindings {
  ccsInjection: VulnerabilityCheck;
  ticketbleed: VulnerabilityCheck;
  robot: VulnerabilityCheck;
  poodleTls: VulnerabilityCheck;
  lucky13: VulnerabilityCheck;
}

export interface FullHandshakeFindings {
  resumptionDetail?: ResumptionDetail;
  chains?: ServedChain[];
  ocsp?: OcspStaple;
  scts?: SctFinding;
  signatureAlgorithms13?: SigAlgs13Finding;
  renegotiation?: RenegotiationFinding;
  vulnerabilities?: VulnerabilityFindings;
}
