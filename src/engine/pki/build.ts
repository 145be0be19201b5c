// Assembles and signs one X.509 v3 certificate through the loaded OpenSSL. Works on native
// handles; certificates.ts wraps it in PEM-in, PEM-out functions.
import { type Ptr } from '../../../native/openssl';
import {
  EVP_MAX_MD_SIZE,
  EVP_PKEY_RSA,
  MBSTRING_UTF8,
  NID_authority_key_identifier,
  NID_basic_constraints,
  NID_ext_key_usage,
  NID_key_usage,
  NID_subject_alt_name,
  NID_subject_key_identifier,
  X509V3_CTX_ALLOC_SIZE,
  X509_VERSION_3,
  XN_FLAG_RFC2253,
  memBioFrom,
  memBioText,
  signsWithoutDigest,
  takeErrors,
  type X509Api,
} from '../../../native/x509';
import { subjectAltNameValue, type SubjectAltNames } from './names';

export type Profile = 'ca' | 'server' | 'client';

export interface CertificateSpec {
  profile: Profile;
  cn: string;
  sans: SubjectAltNames;
  /** Validity, in whole seconds since the epoch. */
  notBefore: number;
  notAfter: number;
  subjectKey: Ptr;
  /** NULL for self-signed: the certificate is its own issuer and subjectKey signs it. */
  issuerCert: Ptr | null;
  issuerKey: Ptr;
}

/** Builds and signs a certificate; returns an X509 the caller must X509_free, and its serial. */
export function buildCertificate(api: X509Api, spec: CertificateSpec): { x509: Ptr; serialNumber: string } {
  const x: Ptr = api.X509_new();
  if (!x) throw new Error(`X509_new failed${takeErrors(api)}`);
  try {
    check(api, api.X509_set_version(x, X509_VERSION_3), 'X509_set_version');
    const serial = randomSerial(api);
    check(api, api.ASN1_INTEGER_set_uint64(api.X509_get_serialNumber(x), serial), 'ASN1_INTEGER_set_uint64');
    setTime(api, api.X509_getm_notBefore(x), spec.notBefore);
    setTime(api, api.X509_getm_notAfter(x), spec.notAfter);
    check(api, api.X509_set_pubkey(x, spec.subjectKey), 'X509_set_pubkey');
    const subject = api.X509_get_subject_name(x);
    check(api, api.X509_NAME_add_entry_by_txt(subject, 'CN', MBSTRING_UTF8, spec.cn, -1, -1, 0), `common name "${spec.cn}"`);
    const issuerName = spec.issuerCert ? api.X509_get_subject_name(spec.issuerCert) : subject;
    check(api, api.X509_set_issuer_name(x, issuerName), 'X509_set_issuer_name');
    addExtensions(api, x, spec);
    const md = signsWithoutDigest(api, spec.issuerKey) ? null : api.EVP_sha256();
    if (api.X509_sign(x, spec.issuerKey, md) <= 0) throw new Error(`X509_sign failed${takeErrors(api)}`);
    return { x509: x, serialNumber: serialHex(serial) };
  } catch (e) {
    api.X509_free(x);
    throw e;
  }
}

function extensionsFor(api: X509Api, spec: CertificateSpec): [number, string][] {
  if (spec.profile === 'ca') {
    // pathlen:0: this CA signs leaves only, so a leaked test leaf key cannot mint more CAs.
    return [
      [NID_basic_constraints, 'critical,CA:TRUE,pathlen:0'],
      [NID_key_usage, 'critical,keyCertSign,cRLSign'],
    ];
  }
  // keyEncipherment lets RSA keys do TLS 1.2 RSA key exchange; ECDSA/EdDSA keys only sign.
  const rsa = api.EVP_PKEY_get_id(spec.subjectKey) === EVP_PKEY_RSA;
  const exts: [number, string][] = [
    [NID_basic_constraints, 'critical,CA:FALSE'],
    [NID_key_usage, rsa ? 'critical,digitalSignature,keyEncipherment' : 'critical,digitalSignature'],
    [NID_ext_key_usage, spec.profile === 'client' ? 'clientAuth' : 'serverAuth'],
  ];
  const san = subjectAltNameValue(spec.sans);
  if (san) exts.push([NID_subject_alt_name, san]);
  return exts;
}

function addExtensions(api: X509Api, x: Ptr, spec: CertificateSpec): void {
  // The subject key identifier goes in before the authority key identifier: for a self-signed
  // certificate, OpenSSL derives the AKID from the issuer's (this certificate's own) SKID.
  // A CA from a file may lack an SKID; "keyid,issuer" then falls back to issuer name + serial.
  const all: [number, string][] = [
    ...extensionsFor(api, spec),
    [NID_subject_key_identifier, 'hash'],
    [NID_authority_key_identifier, spec.issuerCert ? 'keyid,issuer' : 'keyid:always'],
  ];
  const ctx: Ptr = api.CRYPTO_zalloc(X509V3_CTX_ALLOC_SIZE, null, 0);
  if (!ctx) throw new Error('out of memory for X509V3_CTX');
  try {
    api.X509V3_set_ctx(ctx, spec.issuerCert ?? x, x, null, null, 0);
    for (const [nid, value] of all) {
      const ext: Ptr | null = api.X509V3_EXT_nconf_nid(null, ctx, nid, value);
      if (!ext) throw new Error(`bad certificate extension "${value}"${takeErrors(api)}`);
      const ok = api.X509_add_ext(x, ext, -1);
      api.X509_EXTENSION_free(ext);
      check(api, ok, `X509_add_ext(${value})`);
    }
  } finally {
    api.CRYPTO_free(ctx, null, 0);
  }
}

function setTime(api: X509Api, asn1Time: Ptr, epochSeconds: number): void {
  if (!api.X509_time_adj_ex(asn1Time, 0, 0, BigInt64Array.of(BigInt(epochSeconds))))
    throw new Error(`cannot encode time ${new Date(epochSeconds * 1000).toISOString()}${takeErrors(api)}`);
}

// 63 random bits: unpredictable (CA/B Forum asks for 64 bits of entropy from a CA that matters;
// these are test certificates) and positive in DER without a padding byte.
function randomSerial(api: X509Api): bigint {
  const bytes = Buffer.alloc(8);
  if (api.RAND_bytes(bytes, bytes.length) !== 1) throw new Error(`RAND_bytes failed${takeErrors(api)}`);
  bytes[0] &= 0x7f;
  const v = bytes.readBigUInt64BE(0);
  return v === 0n ? 1n : v;
}

// The way OpenSSL's BN_bn2hex (and so Node's X509Certificate.serialNumber) spells it.
function serialHex(v: bigint): string {
  const h = v.toString(16).toUpperCase();
  return h.length % 2 ? `0${h}` : h;
}

export function certificateToPem(api: X509Api, x: Ptr): string {
  const bio = memBioFrom(api, '');
  try {
    if (api.PEM_write_bio_X509(bio, x) !== 1) throw new Error(`PEM_write_bio_X509 failed${takeErrors(api)}`);
    return memBioText(api, bio);
  } finally {
    api.BIO_free(bio);
  }
}

/** Parses the first certificate in a PEM text into an X509 the caller must free. */
export function certificateFromPem(api: X509Api, pem: string, what = 'certificate'): Ptr {
  const bio = memBioFrom(api, pem);
  try {
    const x: Ptr | null = api.PEM_read_bio_X509(bio, null, null, null);
    if (!x) throw new Error(`${what} is not a PEM certificate${takeErrors(api)}`);
    return x;
  } finally {
    api.BIO_free(bio);
  }
}

/** SHA-256 of the DER, as colon-separated uppercase hex (Node's fingerprint256 format). */
export function fingerprint256(api: X509Api, x: Ptr): string {
  const md = Buffer.alloc(EVP_MAX_MD_SIZE);
  const len = [0];
  if (api.X509_digest(x, api.EVP_sha256(), md, len) !== 1) throw new Error(`X509_digest failed${takeErrors(api)}`);
  return Array.from(md.subarray(0, len[0]), (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':');
}

export function subjectOf(api: X509Api, x: Ptr): string {
  return nameToString(api, api.X509_get_subject_name(x));
}

export function issuerOf(api: X509Api, x: Ptr): string {
  return nameToString(api, api.X509_get_issuer_name(x));
}

function nameToString(api: X509Api, name: Ptr): string {
  const bio = memBioFrom(api, '');
  try {
    if (api.X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) throw new Error(`X509_NAME_print_ex failed${takeErrors(api)}`);
    return memBioText(api, bio);
  } finally {
    api.BIO_free(bio);
  }
}

function check(api: X509Api, ret: number, what: string): void {
  if (ret !== 1) throw new Error(`${what} failed${takeErrors(api)}`);
}
