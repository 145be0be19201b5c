// OpenSSL's key, X.509 and PEM API for generating test PKI, as koffi bindings. Bound from the
// same library `openssl()` chose (node's own or --openssl), lazily, once per thread.
import { openssl, type OpenSSL, type Ptr } from './openssl';

// objects.h NIDs of the v3 extensions we add.
export const NID_subject_key_identifier = 82;
export const NID_key_usage = 83;
export const NID_subject_alt_name = 85;
export const NID_basic_constraints = 87;
export const NID_authority_key_identifier = 90;
export const NID_ext_key_usage = 126;

export const X509_VERSION_3 = 2; // X509_set_version takes the zero-based encoded value
export const MBSTRING_UTF8 = 0x1000;
export const BIO_CTRL_INFO = 3; // BIO_get_mem_data

// XN_FLAG_RFC2253 = ASN1_STRFLGS_RFC2253 | XN_FLAG_SEP_COMMA_PLUS | XN_FLAG_DN_REV
//                 | XN_FLAG_FN_SN | XN_FLAG_DUMP_UNKNOWN_FIELDS
export const XN_FLAG_RFC2253 = 0x317 | 0x10000 | 0x100000 | 0 | 0x1000000;

// sizeof(X509V3_CTX) is 64 bytes on 64-bit OpenSSL 3.0 (an int and seven pointers), but the
// struct is public and has grown before (issuer_pkey arrived in 3.0). Callers must allocate it,
// so we over-allocate: extra zeroed bytes are harmless, too few would be memory corruption.
export const X509V3_CTX_ALLOC_SIZE = 256;

export const EVP_MAX_MD_SIZE = 64;

const SIGNATURES = {
  EVP_PKEY_CTX_new_from_name: 'void *EVP_PKEY_CTX_new_from_name(void *libctx, const char *name, const char *propquery)',
  EVP_PKEY_CTX_free: 'void EVP_PKEY_CTX_free(void *ctx)',
  EVP_PKEY_keygen_init: 'int EVP_PKEY_keygen_init(void *ctx)',
  EVP_PKEY_CTX_set_rsa_keygen_bits: 'int EVP_PKEY_CTX_set_rsa_keygen_bits(void *ctx, int bits)',
  EVP_PKEY_CTX_set_group_name: 'int EVP_PKEY_CTX_set_group_name(void *ctx, const char *name)',
  EVP_PKEY_generate: 'int EVP_PKEY_generate(void *ctx, _Out_ void **ppkey)',
  EVP_PKEY_get_id: 'int EVP_PKEY_get_id(void *pkey)',
  EVP_PKEY_get_bits: 'int EVP_PKEY_get_bits(void *pkey)',
  EVP_PKEY_free: 'void EVP_PKEY_free(void *pkey)',
  EVP_sha256: 'const void *EVP_sha256(void)',
  EVP_PKEY_get_default_digest_name: 'int EVP_PKEY_get_default_digest_name(void *pkey, _Out_ char *mdname, size_t mdname_sz)',

  X509_new: 'void *X509_new(void)',
  X509_free: 'void X509_free(void *x)',
  X509_set_version: 'int X509_set_version(void *x, long version)',
  X509_get_serialNumber: 'void *X509_get_serialNumber(void *x)',
  ASN1_INTEGER_set_uint64: 'int ASN1_INTEGER_set_uint64(void *a, uint64_t r)',
  X509_getm_notBefore: 'void *X509_getm_notBefore(void *x)',
  X509_getm_notAfter: 'void *X509_getm_notAfter(void *x)',
  // time_t is 64-bit on every platform we run on (glibc x86_64/arm64, MSVC, macOS).
  X509_time_adj_ex: 'void *X509_time_adj_ex(void *s, int offset_day, long offset_sec, const int64_t *t)',
  X509_set_pubkey: 'int X509_set_pubkey(void *x, void *pkey)',
  X509_get_subject_name: 'void *X509_get_subject_name(void *x)',
  X509_get_issuer_name: 'void *X509_get_issuer_name(void *x)',
  X509_set_issuer_name: 'int X509_set_issuer_name(void *x, void *name)',
  X509_NAME_add_entry_by_txt:
    'int X509_NAME_add_entry_by_txt(void *name, const char *field, int type, const char *bytes, int len, int loc, int set)',
  X509_NAME_print_ex: 'int X509_NAME_print_ex(void *out, void *nm, int indent, unsigned long flags)',
  X509V3_set_ctx: 'void X509V3_set_ctx(void *ctx, void *issuer, void *subject, void *req, void *crl, int flags)',
  X509V3_EXT_nconf_nid: 'void *X509V3_EXT_nconf_nid(void *conf, void *ctx, int ext_nid, const char *value)',
  X509_add_ext: 'int X509_add_ext(void *x, void *ex, int loc)',
  X509_EXTENSION_free: 'void X509_EXTENSION_free(void *ex)',
  X509_sign: 'int X509_sign(void *x, void *pkey, const void *md)',
  X509_check_private_key: 'int X509_check_private_key(void *x, void *pkey)',
  X509_check_ca: 'int X509_check_ca(void *x)',
  X509_digest: 'int X509_digest(void *x, const void *md, _Out_ uint8_t *out, _Inout_ unsigned int *len)',

  BIO_s_mem: 'const void *BIO_s_mem(void)',
  BIO_new: 'void *BIO_new(const void *type)',
  BIO_write: 'int BIO_write(void *b, const void *data, int dlen)',
  BIO_read: 'int BIO_read(void *b, _Out_ void *data, int dlen)',
  BIO_ctrl_mem_data: 'long BIO_ctrl(void *b, int cmd, long larg, _Out_ void **parg)',
  BIO_free: 'int BIO_free(void *b)',
  PEM_write_bio_X509: 'int PEM_write_bio_X509(void *bp, void *x)',
  PEM_write_bio_PrivateKey:
    'int PEM_write_bio_PrivateKey(void *bp, void *x, const void *enc, const uint8_t *kstr, int klen, void *cb, void *u)',
  PEM_read_bio_X509: 'void *PEM_read_bio_X509(void *bp, void *x, void *cb, void *u)',
  // u is the passphrase when cb is NULL; we always pass "" so an encrypted key fails
  // instead of OpenSSL prompting on the terminal.
  PEM_read_bio_PrivateKey: 'void *PEM_read_bio_PrivateKey(void *bp, void *x, void *cb, const char *u)',

  RAND_bytes: 'int RAND_bytes(_Out_ uint8_t *buf, int num)',
  CRYPTO_zalloc: 'void *CRYPTO_zalloc(size_t num, const char *file, int line)',
  CRYPTO_free: 'void CRYPTO_free(void *p, const char *file, int line)',
  ERR_get_error: 'unsigned long ERR_get_error(void)',
  ERR_error_string_n: 'void ERR_error_string_n(unsigned long e, _Out_ char *buf, size_t len)',
  ERR_reason_error_string: 'const char *ERR_reason_error_string(unsigned long e)',
} as const;

export type X509Api = { [K in keyof typeof SIGNATURES]: (...args: any[]) => any };

// Per thread (module state is per isolate), re-bound if the loaded OpenSSL changes.
let cache: { ssl: OpenSSL; api: X509Api } | undefined;

export function x509(): X509Api {
  const ssl = openssl();
  if (cache && cache.ssl === ssl) return cache.api;
  const api: Record<string, unknown> = {};
  for (const [name, sig] of Object.entries(SIGNATURES)) {
    try {
      api[name] = ssl.lib.func(sig);
    } catch {
      throw new Error(`OpenSSL from ${ssl.source} lacks ${name} (OpenSSL 3.x is required)`);
    }
  }
  cache = { ssl, api: api as X509Api };
  return cache.api;
}

/** A new memory BIO holding a copy of `data` (OpenSSL owns the copy, so nothing JS can move). */
export function memBioFrom(api: X509Api, data: string | Uint8Array): Ptr {
  const bio: Ptr = api.BIO_new(api.BIO_s_mem());
  if (!bio) throw new Error(`BIO_new failed${takeErrors(api)}`);
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (buf.length > 0 && api.BIO_write(bio, buf, buf.length) !== buf.length) {
    api.BIO_free(bio);
    throw new Error(`BIO_write failed${takeErrors(api)}`);
  }
  return bio;
}

/** Everything written to a memory BIO so far, as a string; consumes it. */
export function memBioText(api: X509Api, bio: Ptr): string {
  const out: [Ptr | null] = [null];
  const n = Number(api.BIO_ctrl_mem_data(bio, BIO_CTRL_INFO, 0, out));
  if (n <= 0) return '';
  // BIO_read into a JS buffer rather than koffi.view over BIO_get_mem_data's pointer: each
  // view costs ~170 bytes that a full GC does not give back (measured, koffi 3.3), and
  // certificate generation in a long benchmark run should not grow.
  const buf = Buffer.alloc(n);
  if (api.BIO_read(bio, buf, n) !== n) throw new Error(`BIO_read of ${n} bytes failed${takeErrors(api)}`);
  return buf.toString('utf8');
}

/** Drains this thread's OpenSSL error queue into ": reason; reason" (empty when none). */
export function takeErrors(api: X509Api): string {
  const reasons: string[] = [];
  const buf = Buffer.alloc(256);
  for (let e = api.ERR_get_error(); e; e = api.ERR_get_error()) {
    // The bare reason ("no start line") reads better in a one-line CLI error than the
    // full "error:0480006C:PEM routines::no start line"; codes without one get the full form.
    let text: string | null = api.ERR_reason_error_string(e);
    if (!text) {
      api.ERR_error_string_n(e, buf, buf.length);
      text = buf.toString('latin1', 0, buf.indexOf(0));
    }
    if (!reasons.includes(text)) reasons.push(text);
  }
  return reasons.length ? `: ${reasons.join('; ')}` : '';
}

export const EVP_PKEY_ED25519 = 1087;
export const EVP_PKEY_ED448 = 1088;
export const EVP_PKEY_RSA = 6;

/**
 * Keys whose signature algorithm has its digest built in (Ed25519, Ed448, ML-DSA): X509_sign must
 * get a NULL md. Asked of the key itself, so a provider's algorithm without a NID (ML-DSA on 3.5)
 * is recognised too: its default digest is "UNDEF".
 */
export function signsWithoutDigest(api: X509Api, pkey: Ptr): boolean {
  const id = api.EVP_PKEY_get_id(pkey);
  if (id === EVP_PKEY_ED25519 || id === EVP_PKEY_ED448) return true;
  const name = Buffer.alloc(64);
  if (api.EVP_PKEY_get_default_digest_name(pkey, name, name.length) <= 0) return false;
  return name.toString('latin1', 0, name.indexOf(0)) === 'UNDEF';
}
