// Numbers of the TLS wire format that the scan codec speaks (IANA "TLS Parameters" registries).
// Names follow the registries; OpenSSL-style names where a report shows them are in `GROUPS`.

export const enum ContentType {
  ChangeCipherSpec = 20,
  Alert = 21,
  Handshake = 22,
  ApplicationData = 23,
  Heartbeat = 24,
}

export const enum HandshakeType {
  HelloRequest = 0,
  ClientHello = 1,
  ServerHello = 2,
  NewSessionTicket = 4,
  EncryptedExtensions = 8,
  Certificate = 11,
  ServerKeyExchange = 12,
  CertificateRequest = 13,
  ServerHelloDone = 14,
  CertificateStatus = 22,
}

export const enum Ext {
  ServerName = 0x0000,
  StatusRequest = 0x0005,
  SupportedGroups = 0x000a,
  EcPointFormats = 0x000b,
  SignatureAlgorithms = 0x000d,
  Heartbeat = 0x000f,
  Alpn = 0x0010,
  SignedCertificateTimestamp = 0x0012,
  EncryptThenMac = 0x0016,
  ExtendedMasterSecret = 0x0017,
  SessionTicket = 0x0023,
  SupportedVersions = 0x002b,
  Cookie = 0x002c,
  PskKeyExchangeModes = 0x002d,
  KeyShare = 0x0033,
  RenegotiationInfo = 0xff01,
}

/** Protocol versions as they appear on the wire (SSL 2.0's CLIENT-HELLO carries 0x0002). */
export const VERSIONS = {
  'SSLv2': 0x0002,
  'SSLv3': 0x0300,
  'TLSv1': 0x0301,
  'TLSv1.1': 0x0302,
  'TLSv1.2': 0x0303,
  'TLSv1.3': 0x0304,
} as const;
export type VersionName = keyof typeof VERSIONS;
export const VERSION_NAMES = Object.keys(VERSIONS) as VersionName[];

export function versionName(v: number): string {
  for (const [n, x] of Object.entries(VERSIONS)) if (x === v) return n;
  if ((v & 0x0f0f) === 0x0a0a) return `GREASE(0x${v.toString(16)})`;
  return `0x${v.toString(16).padStart(4, '0')}`;
}

/** Signalling cipher suite values (RFC 5746, RFC 7507). */
export const TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff;
export const TLS_FALLBACK_SCSV = 0x5600;

/** ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3): SHA-256 of "HelloRetryRequest". */
export const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');
/** The last 8 bytes of ServerHello.random of a TLS 1.3 server negotiating 1.2 / 1.1 or below (RFC 8446 4.1.3). */
export const DOWNGRADE_TLS12 = Buffer.from('444f574e47524401', 'hex');
export const DOWNGRADE_TLS11 = Buffer.from('444f574e47524400', 'hex');

export interface GroupInfo {
  id: number;
  /** IANA name (what OpenSSL 3.5 also calls the hybrids). */
  name: string;
  /** Bytes of a TLS 1.3 key_share for this group (0: not usable in TLS 1.3). */
  shareLen: number;
  kind: 'ec' | 'x' | 'ffdhe' | 'hybrid' | 'mlkem';
  /** Post-quantum (hybrid or pure ML-KEM). */
  pq?: boolean;
  /** Only in TLS <= 1.2 (RFC 8422 curves that TLS 1.3 deprecated). */
  legacy?: boolean;
}

const MLKEM768_EK = 1184;
const MLKEM1024_EK = 1568;

export const GROUPS: readonly GroupInfo[] = [
  { id: 0x11ec, name: 'X25519MLKEM768', shareLen: MLKEM768_EK + 32, kind: 'hybrid', pq: true },
  { id: 0x11eb, name: 'SecP256r1MLKEM768', shareLen: 65 + MLKEM768_EK, kind: 'hybrid', pq: true },
  { id: 0x11ed, name: 'SecP384r1MLKEM1024', shareLen: 97 + MLKEM1024_EK, kind: 'hybrid', pq: true },
  { id: 0x0200, name: 'MLKEM512', shareLen: 800, kind: 'mlkem', pq: true },
  { id: 0x0201, name: 'MLKEM768', shareLen: MLKEM768_EK, kind: 'mlkem', pq: true },
  { id: 0x0202, name: 'MLKEM1024', shareLen: MLKEM1024_EK, kind: 'mlkem', pq: true },
  { id: 0x6399, name: 'X25519Kyber768Draft00', shareLen: 32 + 1184, kind: 'hybrid', pq: true },
  { id: 29, name: 'x25519', shareLen: 32, kind: 'x' },
  { id: 30, name: 'x448', shareLen: 56, kind: 'x' },
  { id: 23, name: 'secp256r1', shareLen: 65, kind: 'ec' },
  { id: 24, name: 'secp384r1', shareLen: 97, kind: 'ec' },
  { id: 25, name: 'secp521r1', shareLen: 133, kind: 'ec' },
  { id: 31, name: 'brainpoolP256r1tls13', shareLen: 65, kind: 'ec' },
  { id: 32, name: 'brainpoolP384r1tls13', shareLen: 97, kind: 'ec' },
  { id: 33, name: 'brainpoolP512r1tls13', shareLen: 129, kind: 'ec' },
  { id: 256, name: 'ffdhe2048', shareLen: 256, kind: 'ffdhe' },
  { id: 257, name: 'ffdhe3072', shareLen: 384, kind: 'ffdhe' },
  { id: 258, name: 'ffdhe4096', shareLen: 512, kind: 'ffdhe' },
  { id: 259, name: 'ffdhe6144', shareLen: 768, kind: 'ffdhe' },
  { id: 260, name: 'ffdhe8192', shareLen: 1024, kind: 'ffdhe' },
  { id: 26, name: 'brainpoolP256r1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 27, name: 'brainpoolP384r1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 28, name: 'brainpoolP512r1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 22, name: 'secp256k1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 21, name: 'secp224r1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 20, name: 'secp224k1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 19, name: 'secp192r1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 18, name: 'secp192k1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 17, name: 'secp160r2', shareLen: 0, kind: 'ec', legacy: true },
  { id: 16, name: 'secp160r1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 15, name: 'secp160k1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 14, name: 'sect571r1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 13, name: 'sect571k1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 12, name: 'sect409r1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 11, name: 'sect409k1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 10, name: 'sect283r1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 9, name: 'sect283k1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 8, name: 'sect239k1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 7, name: 'sect233r1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 6, name: 'sect233k1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 5, name: 'sect193r2', shareLen: 0, kind: 'ec', legacy: true },
  { id: 4, name: 'sect193r1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 3, name: 'sect163r2', shareLen: 0, kind: 'ec', legacy: true },
  { id: 2, name: 'sect163r1', shareLen: 0, kind: 'ec', legacy: true },
  { id: 1, name: 'sect163k1', shareLen: 0, kind: 'ec', legacy: true },
];

const GROUP_BY_ID = new Map(GROUPS.map((g) => [g.id, g]));
export function groupInfo(id: number): GroupInfo | undefined {
  return GROUP_BY_ID.get(id);
}
export function groupName(id: number): string {
  return GROUP_BY_ID.get(id)?.name ?? `0x${id.toString(16).padStart(4, '0')}`;
}

/** Signature schemes offered by default (RFC 8446 4.2.3, plus ML-DSA draft-ietf-tls-mldsa). */
export const SIGNATURE_SCHEMES: readonly { id: number; name: string }[] = [
  { id: 0x0403, name: 'ecdsa_secp256r1_sha256' },
  { id: 0x0503, name: 'ecdsa_secp384r1_sha384' },
  { id: 0x0603, name: 'ecdsa_secp521r1_sha512' },
  { id: 0x0807, name: 'ed25519' },
  { id: 0x0808, name: 'ed448' },
  { id: 0x0904, name: 'mldsa44' },
  { id: 0x0905, name: 'mldsa65' },
  { id: 0x0906, name: 'mldsa87' },
  { id: 0x081a, name: 'ecdsa_brainpoolP256r1tls13_sha256' },
  { id: 0x081b, name: 'ecdsa_brainpoolP384r1tls13_sha384' },
  { id: 0x081c, name: 'ecdsa_brainpoolP512r1tls13_sha512' },
  { id: 0x0804, name: 'rsa_pss_rsae_sha256' },
  { id: 0x0805, name: 'rsa_pss_rsae_sha384' },
  { id: 0x0806, name: 'rsa_pss_rsae_sha512' },
  { id: 0x0809, name: 'rsa_pss_pss_sha256' },
  { id: 0x080a, name: 'rsa_pss_pss_sha384' },
  { id: 0x080b, name: 'rsa_pss_pss_sha512' },
  { id: 0x0401, name: 'rsa_pkcs1_sha256' },
  { id: 0x0501, name: 'rsa_pkcs1_sha384' },
  { id: 0x0601, name: 'rsa_pkcs1_sha512' },
  { id: 0x0303, name: 'ecdsa_sha224' },
  { id: 0x0301, name: 'rsa_pkcs1_sha224' },
  { id: 0x0302, name: 'dsa_sha224' },
  { id: 0x0402, name: 'dsa_sha256' },
  { id: 0x0502, name: 'dsa_sha384' },
  { id: 0x0602, name: 'dsa_sha512' },
  { id: 0x0203, name: 'ecdsa_sha1' },
  { id: 0x0201, name: 'rsa_pkcs1_sha1' },
  { id: 0x0202, name: 'dsa_sha1' },
];
export function signatureSchemeName(id: number): string {
  return SIGNATURE_SCHEMES.find((s) => s.id === id)?.name ?? `0x${id.toString(16).padStart(4, '0')}`;
}

/** Alert descriptions (RFC 8446 6, plus the SSL 3 / TLS 1.0 ones that are gone). */
const ALERTS: Record<number, string> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  21: 'decryption_failed',
  22: 'record_overflow',
  30: 'decompression_failure',
  40: 'handshake_failure',
  41: 'no_certificate',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  60: 'export_restriction',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  100: 'no_renegotiation',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
};
export function alertName(d: number): string {
  return ALERTS[d] ?? `alert_${d}`;
}

/** SSL 2.0 cipher kinds (3 bytes each), for its CLIENT-HELLO. */
export const SSL2_CIPHERS: readonly { id: number; name: string }[] = [
  { id: 0x010080, name: 'SSL_CK_RC4_128_WITH_MD5' },
  { id: 0x020080, name: 'SSL_CK_RC4_128_EXPORT40_WITH_MD5' },
  { id: 0x030080, name: 'SSL_CK_RC2_128_CBC_WITH_MD5' },
  { id: 0x040080, name: 'SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5' },
  { id: 0x050080, name: 'SSL_CK_IDEA_128_CBC_WITH_MD5' },
  { id: 0x060040, name: 'SSL_CK_DES_64_CBC_WITH_MD5' },
  { id: 0x0700c0, name: 'SSL_CK_DES_192_EDE3_CBC_WITH_MD5' },
];
