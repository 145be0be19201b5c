// Test PKI: CAs, CA-signed leaves and self-signed certificates, PEM in and PEM out, made by
// the loaded OpenSSL. Every native handle is freed before returning.
import { type Ptr } from '../../../native/openssl';
import { x509, takeErrors, type X509Api } from '../../../native/x509';
import {
  buildCertificate,
  certificateFromPem,
  certificateToPem,
  fingerprint256,
  issuerOf,
  subjectOf,
  type CertificateSpec,
  type Profile,
} from './build';
import { keyFromPem, keyToPem, newKey, type KeyType } from './keys';
import { parseSans } from './names';

const DAY = 86400;
// New certificates start a little in the past so a peer whose clock is slightly behind
// does not reject them as not yet valid.
const CLOCK_SKEW_SECONDS = 300;
const MAX_CN_LENGTH = 64; // ub-common-name, RFC 5280

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  /** SHA-256 of the DER, colon-separated uppercase hex, as Node's X509Certificate.fingerprint256. */
  fingerprint256: string;
  subject: string;
  issuer: string;
  serialNumber: string;
  sans: string[];
  notBefore: Date;
  notAfter: Date;
  keyType: KeyType;
  profile: Profile;
}

/** A CA to sign with: its certificate and unencrypted private key, both PEM. */
export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

export interface CAOptions {
  cn: string;
  days: number;
  keyType: KeyType;
}

export interface LeafOptions {
  ca: CertificateAuthority;
  /** DNS names and IP addresses, told apart automatically. */
  sans: string[];
  days: number;
  /** Start of validity this many days ago (so days < notBeforeDaysAgo gives an expired leaf). */
  notBeforeDaysAgo?: number;
  keyType: KeyType;
  /** A clientAuth leaf instead of a serverAuth one. */
  client?: boolean;
  /** Defaults to the first SAN. */
  cn?: string;
}

export interface SelfSignedOptions {
  sans: string[];
  days: number;
  keyType: KeyType;
  cn?: string;
}

export function createCA(opts: CAOptions): IssuedCertificate {
  return issue({ profile: 'ca', cn: opts.cn, sans: [], days: opts.days, keyType: opts.keyType }, null);
}

export function createLeaf(opts: LeafOptions): IssuedCertificate {
  const profile = opts.client ? 'client' : 'server';
  const cn = opts.cn ?? defaultCommonName(opts.sans, profile);
  return issue({ profile, cn, sans: opts.sans, days: opts.days, notBeforeDaysAgo: opts.notBeforeDaysAgo, keyType: opts.keyType }, opts.ca);
}

export function selfSigned(opts: SelfSignedOptions): IssuedCertificate {
  const cn = opts.cn ?? defaultCommonName(opts.sans, 'server');
  return issue({ profile: 'server', cn, sans: opts.sans, days: opts.days, keyType: opts.keyType }, null);
}

export interface CADescription {
  subject: string;
  fingerprint256: string;
}

/** Checks that a PEM pair is a CA certificate with its own private key; describes it. */
export function checkCA(ca: CertificateAuthority): CADescription {
  const api = x509();
  return withCA(api, ca, (cert) => ({ subject: subjectOf(api, cert), fingerprint256: fingerprint256(api, cert) }));
}

interface IssueRequest {
  profile: Profile;
  cn: string;
  sans: string[];
  days: number;
  notBeforeDaysAgo?: number;
  keyType: KeyType;
}

function issue(req: IssueRequest, ca: CertificateAuthority | null): IssuedCertificate {
  validate(req);
  const sans = parseSans(req.sans);
  const api = x509();
  const sign = (issuerCert: Ptr | null, issuerKey: Ptr | null): IssuedCertificate => {
    const key = newKey(api, req.keyType);
    try {
      const start = Math.floor(Date.now() / 1000) - Math.round((req.notBeforeDaysAgo ?? 0) * DAY);
      const spec: CertificateSpec = {
        profile: req.profile,
        cn: req.cn,
        sans,
        notBefore: start - CLOCK_SKEW_SECONDS,
        notAfter: start + Math.round(req.days * DAY),
        subjectKey: key,
        issuerCert,
        issuerKey: issuerKey ?? key,
      };
      const { x509: cert, serialNumber } = buildCertificate(api, spec);
      try {
        return {
          certPem: certificateToPem(api, cert),
          keyPem: keyToPem(api, key),
          fingerprint256: fingerprint256(api, cert),
          subject: subjectOf(api, cert),
          issuer: issuerOf(api, cert),
          serialNumber,
          sans: [...sans.dns, ...sans.ips],
          notBefore: new Date(spec.notBefore * 1000),
          notAfter: new Date(spec.notAfter * 1000),
          keyType: req.keyType,
          profile: req.profile,
        };
      } finally {
        api.X509_free(cert);
      }
    } finally {
      api.EVP_PKEY_free(key);
    }
  };
  return ca ? withCA(api, ca, sign) : sign(null, null);
}

function withCA<T>(api: X509Api, ca: CertificateAuthority, use: (cert: Ptr, key: Ptr) => T): T {
  const cert = certificateFromPem(api, ca.certPem, 'CA certificate');
  try {
    const key = keyFromPem(api, ca.keyPem, 'CA private key');
    try {
      if (api.X509_check_private_key(cert, key) !== 1) {
        takeErrors(api);
        throw new Error('CA private key does not match the CA certificate');
      }
      if (api.X509_check_ca(cert) === 0) throw new Error(`${subjectOf(api, cert)} is not a CA certificate`);
      return use(cert, key);
    } finally {
      api.EVP_PKEY_free(key);
    }
  } finally {
    api.X509_free(cert);
  }
}

function validate(req: IssueRequest): void {
  if (!(Number.isFinite(req.days) && req.days > 0)) throw new Error(`validity must be a positive number of days, not ${req.days}`);
  const ago = req.notBeforeDaysAgo ?? 0;
  if (!(Number.isFinite(ago) && ago >= 0)) throw new Error(`notBeforeDaysAgo must be zero or more, not ${ago}`);
  if (req.cn === '' || req.cn.length > MAX_CN_LENGTH) throw new Error(`common name must be 1 to ${MAX_CN_LENGTH} characters: "${req.cn}"`);
  if (req.profile === 'server' && req.sans.length === 0) throw new Error('a server certificate needs at least one subject alternative name');
}

function defaultCommonName(sans: string[], profile: Profile): string {
  const fits = sans.map((s) => s.trim()).find((s) => s.length > 0 && s.length <= MAX_CN_LENGTH);
  return fits ?? (profile === 'client' ? 'iocptls client' : 'iocptls server');
}
