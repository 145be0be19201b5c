// Mozilla's server-side TLS profiles (https://ssl-config.mozilla.org/guidelines/5.7.json, version
// 5.7) as `scan --policy modern|intermediate|old` rule sets. Each key is one of ScanPolicy's rules
// (src/report/scan_policy.ts), so a violation names the rule the server broke.
//
// Two readings of the guidelines, said here because they decide verdicts:
// - Groups: the profiles list X25519, prime256v1 and secp384r1. The post-quantum hybrids
//   (X25519MLKEM768 and friends, OpenSSL 3.5's default first group) came after 5.7 and are
//   stronger than any listed group: they are allowed, not violations.
// - Suites and groups are upper bounds (what the server may accept), not lists it must accept in
//   full: a server with fewer suites than the profile is still compliant, as in Mozilla's own
//   observatory.

/** The rules of `scan --policy` (all optional); a file may also name a `profile` to start from. */
export interface ScanPolicy {
  /** A built-in profile whose rules apply first (the file's rules override them): modern, intermediate, old. */
  profile?: string;
  /** Protocols that must not be offered, e.g. ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"]. */
  forbidProtocols?: string[];
  /** Protocols that must be offered, e.g. ["TLSv1.3"]. */
  requireProtocols?: string[];
  /** The only protocols that may be offered. */
  allowProtocols?: string[];
  /** The only cipher suites that may be accepted, by IANA or OpenSSL name. */
  allowSuites?: string[];
  /** Suite flags no accepted suite may have: export, null, anon, rc4, 3des, des, cbc, psk; or "no-pfs". */
  forbidSuiteFlags?: string[];
  /** The only key exchange groups that may be accepted (TLS 1.3 and 1.2). */
  allowGroups?: string[];
  /** With allowGroups: post-quantum hybrids are allowed too. */
  allowPostQuantumGroups?: boolean;
  /** Groups one of which must be offered in TLS 1.3, e.g. ["X25519MLKEM768"]. */
  requireGroups?: string[];
  /** Finding ids that must not appear (see docs/scan-schema.md), e.g. ["crime", "no-fallback-scsv"]. */
  forbidFindings?: string[];
  /** The worst finding severity allowed: "warn" fails on bad findings, "good" on warnings too. */
  maxSeverity?: 'good' | 'info' | 'warn' | 'bad';
  /** The certificate must verify (chain and hostname). */
  requireTrustedCertificate?: boolean;
  /** Key types the leaf may have, as OpenSSL names them: RSA, EC, ED25519, ML-DSA-65... */
  certificateKeyTypes?: string[];
  /** Curves an EC leaf may use (prime256v1, secp384r1...). */
  certificateCurves?: string[];
  /** Signature algorithms the leaf may be signed with (sha256WithRSAEncryption, ecdsa-with-SHA256...). */
  certificateSignatures?: string[];
  /** Smallest RSA key of the leaf, bits. */
  minRsaBits?: number;
  /** Smallest finite-field DH prime of a DHE suite, bits. */
  minDhBits?: number;
  /** Longest validity of the leaf (notAfter - notBefore), days. */
  maxCertificateLifespanDays?: number;
  /** The server must impose its own cipher order (TLS <= 1.2). */
  requireServerOrder?: boolean;
}

const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
const INTERMEDIATE_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-CHACHA20-POLY1305',
];
const OLD_SUITES = [
  ...INTERMEDIATE_SUITES,
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA384',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES256-SHA',
  'DHE-RSA-AES128-SHA256',
  'DHE-RSA-AES256-SHA256',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-SHA256',
  'AES256-SHA256',
  'AES128-SHA',
  'AES256-SHA',
  'DES-CBC3-SHA',
];
const GROUPS = ['x25519', 'secp256r1', 'secp384r1'];

export const MOZILLA_PROFILES: Record<'modern' | 'intermediate' | 'old', ScanPolicy> = {
  modern: {
    allowProtocols: ['TLSv1.3'],
    allowSuites: TLS13_SUITES,
    allowGroups: GROUPS,
    allowPostQuantumGroups: true,
    certificateKeyTypes: ['EC'],
    certificateCurves: ['prime256v1', 'secp384r1'],
    certificateSignatures: ['ecdsa-with-SHA256', 'ecdsa-with-SHA384', 'ecdsa-with-SHA512'],
    maxCertificateLifespanDays: 90,
  },
  intermediate: {
    allowProtocols: ['TLSv1.2', 'TLSv1.3'],
    allowSuites: [...TLS13_SUITES, ...INTERMEDIATE_SUITES],
    allowGroups: GROUPS,
    allowPostQuantumGroups: true,
    certificateKeyTypes: ['EC', 'RSA'],
    certificateCurves: ['prime256v1', 'secp384r1'],
    certificateSignatures: ['sha256WithRSAEncryption', 'ecdsa-with-SHA256', 'ecdsa-with-SHA384', 'ecdsa-with-SHA512'],
    minRsaBits: 2048,
    minDhBits: 2048,
    maxCertificateLifespanDays: 366,
  },
  old: {
    allowProtocols: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
    allowSuites: [...TLS13_SUITES, ...OLD_SUITES],
    allowGroups: GROUPS,
    allowPostQuantumGroups: true,
    certificateKeyTypes: ['RSA'],
    certificateSignatures: ['sha256WithRSAEncryption'],
    minRsaBits: 2048,
    minDhBits: 1024,
    maxCertificateLifespanDays: 366,
    requireServerOrder: true,
  },
};
