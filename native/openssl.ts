// The OpenSSL C ABI, as koffi bindings. The only file above libc that knows OpenSSL's
// function signatures, macro-to-ctrl mappings and constants.
import koffi, { type LibraryHandle } from 'koffi';
import fs from 'node:fs';
import path from 'node:path';

export type Ptr = bigint;
export const NULL: null = null;

// Constants from ssl.h / tls1.h / x509_vfy.h / bio.h (OpenSSL 3.x).
export const SSL_ERROR_NONE = 0;
export const SSL_ERROR_SSL = 1;
export const SSL_ERROR_WANT_READ = 2;
export const SSL_ERROR_WANT_WRITE = 3;
export const SSL_ERROR_WANT_X509_LOOKUP = 4;
export const SSL_ERROR_SYSCALL = 5;
export const SSL_ERROR_ZERO_RETURN = 6;

export const TLS1_VERSION = 0x0301;
export const TLS1_1_VERSION = 0x0302;
export const TLS1_2_VERSION = 0x0303;
export const TLS1_3_VERSION = 0x0304;

export const SSL_VERIFY_NONE = 0x00;
export const SSL_VERIFY_PEER = 0x01;
export const SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02;

export const SSL_FILETYPE_PEM = 1;

// SSL_CTX_ctrl / SSL_ctrl commands behind the manual's macros.
export const SSL_CTRL_SET_SESS_CACHE_MODE = 44; // SSL_CTX_set_session_cache_mode
export const SSL_CTRL_SET_TLSEXT_HOSTNAME = 55; // SSL_set_tlsext_host_name
export const SSL_CTRL_SET_TLSEXT_TICKET_KEYS = 59; // SSL_CTX_set_tlsext_ticket_keys
export const TLSEXT_TICKET_KEYS_SIZE = 80; // key name 16 + HMAC secret 32 + AES key 32
export const SSL_CTRL_SET_GROUPS_LIST = 92; // SSL_CTX_set1_groups_list
export const SSL_CTRL_GET_PEER_SIGNATURE_NID = 108; // SSL_get_peer_signature_nid
export const SSL_CTRL_GET_PEER_TMP_KEY = 109; // SSL_get_peer_tmp_key
export const SSL_CTRL_SET_MIN_PROTO_VERSION = 123; // SSL_CTX_set_min_proto_version
export const SSL_CTRL_SET_MAX_PROTO_VERSION = 124; // SSL_CTX_set_max_proto_version
export const SSL_CTRL_GET_NEGOTIATED_GROUP = 134; // SSL_get_negotiated_group
export const SSL_CTRL_EXTRA_CHAIN_CERT = 14;
export const SSL_CTRL_SET_TLSEXT_STATUS_REQ_TYPE = 65; // SSL_set_tlsext_status_type
export const SSL_CTRL_GET_TLSEXT_STATUS_REQ_OCSP_RESP = 70; // SSL_get_tlsext_status_ocsp_resp
export const SSL_CTRL_SET_SIGALGS_LIST = 98; // SSL_set1_sigalgs_list
export const TLSEXT_STATUSTYPE_ocsp = 1;
/** SSL_enable_ct: ask for SCTs and keep the handshake going whatever their validation says. */
export const SSL_CT_VALIDATION_PERMISSIVE = 0;
/** SSL_get_early_data_status results. */
export const SSL_EARLY_DATA_NOT_SENT = 0;
export const SSL_EARLY_DATA_REJECTED = 1;
export const SSL_EARLY_DATA_ACCEPTED = 2;
/** SCT_get_source results (ct.h): where the SCT came from. */
export const SCT_SOURCE_TLS_EXTENSION = 1;
export const SCT_SOURCE_X509V3_EXTENSION = 2;
export const SCT_SOURCE_OCSP_STAPLED_RESPONSE = 3;
export const SSL_CTRL_MODE = 33; // SSL_CTX_set_mode
export const SSL_CTRL_CLEAR_MODE = 78; // SSL_clear_mode
export const TLSEXT_NAMETYPE_host_name = 0;
/** Set in SSL_get_negotiated_group's result for a group without a NID; the low 16 bits are its IANA id. */
export const TLSEXT_nid_unknown = 0x1000000;

export const SSL_SESS_CACHE_OFF = 0x0000;
export const SSL_SESS_CACHE_CLIENT = 0x0001;
export const SSL_SESS_CACHE_SERVER = 0x0002;
export const SSL_SESS_CACHE_NO_INTERNAL_STORE = 0x0200;
export const SSL_SESS_CACHE_NO_INTERNAL_LOOKUP = 0x0100;
/** NO_INTERNAL_LOOKUP | NO_INTERNAL_STORE: the external (get/new/remove callback) cache only. */
export const SSL_SESS_CACHE_NO_INTERNAL = 0x0300;
/** SSL_set_shutdown / SSL_get_shutdown bits. */
export const SSL_SENT_SHUTDOWN = 1;
export const SSL_RECEIVED_SHUTDOWN = 2;

export const SSL_OP_NO_TICKET = 1n << 14n;
export const SSL_OP_IGNORE_UNEXPECTED_EOF = 1n << 7n;
export const SSL_OP_NO_RENEGOTIATION = 1n << 30n;
/** 3.2+: RFC 8879 certificate compression off, sending and receiving (bits 32, 33). */
export const SSL_OP_NO_TX_CERTIFICATE_COMPRESSION = 1n << 32n;
export const SSL_OP_NO_RX_CERTIFICATE_COMPRESSION = 1n << 33n;

/** SSL_key_update types. */
export const SSL_KEY_UPDATE_NONE = -1;
export const SSL_KEY_UPDATE_NOT_REQUESTED = 0;
export const SSL_KEY_UPDATE_REQUESTED = 1;

export const SSL_MODE_ENABLE_PARTIAL_WRITE = 0x1;
export const SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = 0x2;
/** Free the record layer's read/write buffers whenever they are empty (an idle SSL holds none). */
export const SSL_MODE_RELEASE_BUFFERS = 0x10;

// BIO_ctrl commands of BIO_s_bio (bio.h) behind the BIO pair macros.
export const BIO_CTRL_WPENDING = 13; // BIO_wpending: bytes in this BIO's own write buffer
export const BIO_C_SET_WRITE_BUF_SIZE = 136; // BIO_set_write_buf_size: frees the buffer when the size changes
export const BIO_C_MAKE_BIO_PAIR = 138; // BIO_make_bio_pair: allocates both buffers
export const BIO_C_DESTROY_BIO_PAIR = 139; // BIO_destroy_bio_pair: unpairs, keeps the buffers

export const SSL_CB_ALERT = 0x4000;
export const SSL_CB_READ = 0x04;
export const SSL_CB_WRITE = 0x08;

export const SSL_TLSEXT_ERR_OK = 0;
export const SSL_TLSEXT_ERR_NOACK = 3;
/** From the ALPN select callback: abort the handshake with alert 120, no_application_protocol (RFC 7301 §3.2). */
export const SSL_TLSEXT_ERR_ALERT_FATAL = 2;
export const OPENSSL_NPN_NEGOTIATED = 1;

export const EVP_PKEY_RSA = 6;
export const EVP_PKEY_EC = 408;
export const EVP_PKEY_ED25519 = 1087;
export const EVP_PKEY_X25519 = 1034;

export const X509_V_OK = 0;

// Callback prototypes (registered per thread; a koffi callback must stay registered while
// OpenSSL holds it).
export const KeylogCallback = koffi.proto('void iocptls_keylog_cb(void *ssl, const char *line)');
export const NewSessionCallback = koffi.proto('int iocptls_new_session_cb(void *ssl, void *sess)');
// out/outlen are raw pointers: the callback stores into them itself (a pointer into `in`, a length).
export const AlpnSelectCallback = koffi.proto(
  'int iocptls_alpn_select_cb(void *ssl, void *out, void *outlen, void *in, unsigned int inlen, void *arg)'
);
// SSL_CTX_set_cert_verify_callback: replaces the whole chain verification (X509_verify_cert).
export const CertVerifyCallback = koffi.proto('int iocptls_cert_verify_cb(void *store_ctx, void *arg)');
export const InfoCallback = koffi.proto('void iocptls_info_cb(void *ssl, int where, int ret)');
// The external session cache (SSL_CTX_sess_set_get_cb / _remove_cb; the new-session callback is
// NewSessionCallback). `copy` is an int* the callback sets: 0 hands OpenSSL the reference d2i made.
export const GetSessionCallback = koffi.proto('void *iocptls_get_session_cb(void *ssl, void *id, int idlen, void *copy)');
export const RemoveSessionCallback = koffi.proto('void iocptls_remove_session_cb(void *ctx, void *sess)');

const SIGNATURES = {
  OpenSSL_version: 'const char *OpenSSL_version(int t)',
  OpenSSL_version_num: 'unsigned long OpenSSL_version_num(void)',

  TLS_client_method: 'void *TLS_client_method(void)',
  TLS_server_method: 'void *TLS_server_method(void)',
  SSL_CTX_new: 'void *SSL_CTX_new(void *method)',
  SSL_CTX_free: 'void SSL_CTX_free(void *ctx)',
  SSL_CTX_ctrl: 'long SSL_CTX_ctrl(void *ctx, int cmd, long larg, void *parg)',
  SSL_CTX_ctrl_str: 'long SSL_CTX_ctrl(void *ctx, int cmd, long larg, const char *parg)',
  SSL_CTX_set_options: 'uint64_t SSL_CTX_set_options(void *ctx, uint64_t op)',
  SSL_CTX_set_cipher_list: 'int SSL_CTX_set_cipher_list(void *ctx, const char *str)',
  SSL_CTX_set_ciphersuites: 'int SSL_CTX_set_ciphersuites(void *ctx, const char *str)',
  SSL_CTX_use_certificate_chain_file: 'int SSL_CTX_use_certificate_chain_file(void *ctx, const char *file)',
  SSL_CTX_use_PrivateKey_file: 'int SSL_CTX_use_PrivateKey_file(void *ctx, const char *file, int type)',
  SSL_CTX_use_certificate: 'int SSL_CTX_use_certificate(void *ctx, void *x509)',
  SSL_CTX_use_PrivateKey: 'int SSL_CTX_use_PrivateKey(void *ctx, void *pkey)',
  SSL_CTX_check_private_key: 'int SSL_CTX_check_private_key(void *ctx)',
  SSL_CTX_load_verify_locations: 'int SSL_CTX_load_verify_locations(void *ctx, const char *file, const char *dir)',
  SSL_CTX_set_default_verify_paths: 'int SSL_CTX_set_default_verify_paths(void *ctx)',
  SSL_CTX_get_cert_store: 'void *SSL_CTX_get_cert_store(void *ctx)',
  SSL_CTX_set_verify: 'void SSL_CTX_set_verify(void *ctx, int mode, void *cb)',
  SSL_CTX_set_client_CA_list: 'void SSL_CTX_set_client_CA_list(void *ctx, void *list)',
  SSL_load_client_CA_file: 'void *SSL_load_client_CA_file(const char *file)',
  SSL_CTX_set_alpn_protos: 'int SSL_CTX_set_alpn_protos(void *ctx, const uint8_t *protos, unsigned int len)',
  SSL_CTX_set_alpn_select_cb: 'void SSL_CTX_set_alpn_select_cb(void *ctx, void *cb, void *arg)',
  SSL_select_next_proto:
    'int SSL_select_next_proto(_Out_ void **out, _Out_ uint8_t *outlen, const uint8_t *server, unsigned int server_len, const uint8_t *client, unsigned int client_len)',
  SSL_CTX_set_keylog_callback: 'void SSL_CTX_set_keylog_callback(void *ctx, iocptls_keylog_cb *cb)',
  SSL_CTX_sess_set_new_cb: 'void SSL_CTX_sess_set_new_cb(void *ctx, iocptls_new_session_cb *cb)',
  SSL_CTX_set_num_tickets: 'int SSL_CTX_set_num_tickets(void *ctx, size_t n)',
  SSL_CTX_sess_set_get_cb: 'void SSL_CTX_sess_set_get_cb(void *ctx, iocptls_get_session_cb *cb)',
  SSL_CTX_sess_set_remove_cb: 'void SSL_CTX_sess_set_remove_cb(void *ctx, iocptls_remove_session_cb *cb)',
  SSL_CTX_set_session_id_context: 'int SSL_CTX_set_session_id_context(void *ctx, const uint8_t *sid, unsigned int len)',
  SSL_CTX_set_info_callback: 'void SSL_CTX_set_info_callback(void *ctx, iocptls_info_cb *cb)',
  SSL_CTX_set_cert_verify_callback: 'void SSL_CTX_set_cert_verify_callback(void *ctx, iocptls_cert_verify_cb *cb, void *arg)',

  SSL_new: 'void *SSL_new(void *ctx)',
  SSL_free: 'void SSL_free(void *ssl)',
  SSL_set_bio: 'void SSL_set_bio(void *ssl, void *rbio, void *wbio)',
  SSL_set_connect_state: 'void SSL_set_connect_state(void *ssl)',
  SSL_set_accept_state: 'void SSL_set_accept_state(void *ssl)',
  SSL_do_handshake: 'int SSL_do_handshake(void *ssl)',
  SSL_read: 'int SSL_read(void *ssl, void *buf, int num)',
  SSL_write: 'int SSL_write(void *ssl, void *buf, int num)',
  SSL_get_error: 'int SSL_get_error(void *ssl, int ret)',
  SSL_shutdown: 'int SSL_shutdown(void *ssl)',
  SSL_get_shutdown: 'int SSL_get_shutdown(void *ssl)',
  SSL_in_init: 'int SSL_in_init(void *ssl)',
  SSL_is_init_finished: 'int SSL_is_init_finished(void *ssl)',
  SSL_ctrl: 'long SSL_ctrl(void *ssl, int cmd, long larg, void *parg)',
  SSL_ctrl_str: 'long SSL_ctrl(void *ssl, int cmd, long larg, const char *parg)',
  SSL_ctrl_out: 'long SSL_ctrl(void *ssl, int cmd, long larg, _Out_ void **parg)',
  SSL_set1_host: 'int SSL_set1_host(void *ssl, const char *host)',
  SSL_set_hostflags: 'void SSL_set_hostflags(void *ssl, unsigned int flags)',
  SSL_set_verify: 'void SSL_set_verify(void *ssl, int mode, void *cb)',
  SSL_get_version: 'const char *SSL_get_version(void *ssl)',
  SSL_version: 'int SSL_version(void *ssl)',
  SSL_get_current_cipher: 'void *SSL_get_current_cipher(void *ssl)',
  SSL_CIPHER_get_name: 'const char *SSL_CIPHER_get_name(void *cipher)',
  SSL_get0_alpn_selected: 'void SSL_get0_alpn_selected(void *ssl, void *data, void *len)',
  SSL_session_reused: 'int SSL_session_reused(void *ssl)',
  SSL_get1_session: 'void *SSL_get1_session(void *ssl)',
  SSL_set_session: 'int SSL_set_session(void *ssl, void *sess)',
  SSL_SESSION_free: 'void SSL_SESSION_free(void *sess)',
  SSL_SESSION_is_resumable: 'int SSL_SESSION_is_resumable(void *sess)',
  SSL_SESSION_has_ticket: 'int SSL_SESSION_has_ticket(void *sess)',
  SSL_SESSION_get_protocol_version: 'int SSL_SESSION_get_protocol_version(void *sess)',
  SSL_SESSION_up_ref: 'int SSL_SESSION_up_ref(void *sess)',
  // len: a Uint32Array(1) the length is written to; returns a pointer into the session.
  SSL_SESSION_get_id: 'void *SSL_SESSION_get_id(void *sess, void *len)',
  SSL_SESSION_get_timeout: 'long SSL_SESSION_get_timeout(void *sess)',
  // pp: a BigUint64Array(1) holding the buffer's address (advanced by the call); null to ask the length.
  i2d_SSL_SESSION: 'int i2d_SSL_SESSION(void *sess, void *pp)',
  d2i_SSL_SESSION: 'void *d2i_SSL_SESSION(void *a, void *pp, long length)',
  SSL_set_shutdown: 'void SSL_set_shutdown(void *ssl, int mode)',
  SSL_get_verify_result: 'long SSL_get_verify_result(void *ssl)',
  SSL_get1_peer_certificate: 'void *SSL_get1_peer_certificate(void *ssl)',
  SSL_get_peer_cert_chain: 'void *SSL_get_peer_cert_chain(void *ssl)',
  SSL_get_servername: 'const char *SSL_get_servername(void *ssl, int type)',
  SSL_set_ex_data: 'int SSL_set_ex_data(void *ssl, int idx, void *data)',
  SSL_alert_desc_string_long: 'const char *SSL_alert_desc_string_long(int value)',
  SSL_get_peer_signature_type_nid: 'int SSL_get_peer_signature_type_nid(void *ssl, void *pnid)',
  SSL_get0_param: 'void *SSL_get0_param(void *ssl)',
  X509_VERIFY_PARAM_set1_ip_asc: 'int X509_VERIFY_PARAM_set1_ip_asc(void *param, const char *ip)',
  X509_VERIFY_PARAM_set1_host: 'int X509_VERIFY_PARAM_set1_host(void *param, const char *name, size_t len)',
  SSL_get_SSL_CTX: 'void *SSL_get_SSL_CTX(void *ssl)',
  SSL_set_quiet_shutdown: 'void SSL_set_quiet_shutdown(void *ssl, int mode)',
  SSL_key_update: 'int SSL_key_update(void *ssl, int updatetype)',
  SSL_get_key_update_type: 'int SSL_get_key_update_type(void *ssl)',
  SSL_renegotiate: 'int SSL_renegotiate(void *ssl)',
  SSL_clear_options: 'uint64_t SSL_clear_options(void *ssl, uint64_t op)',

  X509_verify_cert_error_string: 'const char *X509_verify_cert_error_string(long n)',
  X509_STORE_add_cert: 'int X509_STORE_add_cert(void *store, void *x)',
  X509_free: 'void X509_free(void *x)',
  X509_get_signature_nid: 'int X509_get_signature_nid(void *x)',
  i2d_X509: 'int i2d_X509(void *x, void *out)',
  d2i_X509: 'void *d2i_X509(void *px, _Inout_ void **in, long len)',
  OPENSSL_sk_num: 'int OPENSSL_sk_num(void *st)',
  OPENSSL_sk_value: 'void *OPENSSL_sk_value(void *st, int i)',
  OBJ_nid2sn: 'const char *OBJ_nid2sn(int n)',
  OBJ_nid2ln: 'const char *OBJ_nid2ln(int n)',
  EVP_PKEY_get_id: 'int EVP_PKEY_get_id(void *pkey)',
  EVP_PKEY_get0_type_name: 'const char *EVP_PKEY_get0_type_name(void *pkey)',
  X509_get0_pubkey: 'void *X509_get0_pubkey(void *x)',
  EVP_PKEY_get_bits: 'int EVP_PKEY_get_bits(void *pkey)',
  EVP_PKEY_free: 'void EVP_PKEY_free(void *pkey)',
  CRYPTO_free: 'void CRYPTO_free(void *p, const char *file, int line)',

  // Out-pointers are passed as a BigUint64Array scratch (written in place, no allocation).
  BIO_new_bio_pair: 'int BIO_new_bio_pair(void *bio1, size_t writebuf1, void *bio2, size_t writebuf2)',
  BIO_new_mem_buf: 'void *BIO_new_mem_buf(const void *buf, int len)',
  BIO_write: 'int BIO_write(void *b, void *data, int dlen)',
  BIO_read: 'int BIO_read(void *b, void *data, int dlen)',
  BIO_ctrl_pending: 'size_t BIO_ctrl_pending(void *b)',
  BIO_ctrl_get_write_guarantee: 'size_t BIO_ctrl_get_write_guarantee(void *b)',
  BIO_nread0: 'int BIO_nread0(void *b, void *buf)',
  BIO_nread: 'int BIO_nread(void *b, void *buf, int num)',
  BIO_nwrite0: 'int BIO_nwrite0(void *b, void *buf)',
  BIO_nwrite: 'int BIO_nwrite(void *b, void *buf, int num)',
  BIO_free: 'int BIO_free(void *b)',
  BIO_new: 'void *BIO_new(const void *type)',
  BIO_s_bio: 'const void *BIO_s_bio(void)',
  BIO_ctrl: 'long BIO_ctrl(void *b, int cmd, long larg, void *parg)',
  SSL_has_pending: 'int SSL_has_pending(const void *ssl)',
  // Frees the record layer's read and write buffers when nothing is pending in them (1.1.0+).
  SSL_free_buffers: 'int SSL_free_buffers(void *ssl)',
  PEM_read_bio_X509: 'void *PEM_read_bio_X509(void *bp, void *x, void *cb, void *u)',
  PEM_read_bio_PrivateKey: 'void *PEM_read_bio_PrivateKey(void *bp, void *x, void *cb, void *u)',
  SSL_CTX_add0_chain_cert: 'long SSL_CTX_ctrl(void *ctx, int cmd, long larg, void *parg)',

  ERR_get_error: 'unsigned long ERR_get_error(void)',
  ERR_peek_error: 'unsigned long ERR_peek_error(void)',
  ERR_clear_error: 'void ERR_clear_error(void)',
  ERR_error_string_n: 'void ERR_error_string_n(unsigned long e, _Out_ char *buf, size_t len)',
  ERR_reason_error_string: 'const char *ERR_reason_error_string(unsigned long e)',
  ERR_lib_error_string: 'const char *ERR_lib_error_string(unsigned long e)',

  // Bytes through a BIO since it was made: on the SSL's side of the pair, the TLS records it
  // consumed / produced (header included), which is what the handshake put on the wire.
  BIO_number_read: 'uint64_t BIO_number_read(void *b)',
  BIO_number_written: 'uint64_t BIO_number_written(void *b)',
} as const;

/**
 * Functions only some OpenSSL 3.x releases have: bound when present, undefined otherwise, so
 * that callers fall back (and never fail to load on an older library).
 */
const OPTIONAL_SIGNATURES = {
  /** 3.0+: the TLS name of a group, given SSL_get_negotiated_group's result. */
  SSL_group_to_name: 'const char *SSL_group_to_name(void *ssl, int id)',
  /** 3.2+: the TLS name of the group this connection's key exchange used (e.g. 'X25519MLKEM768'). */
  SSL_get0_group_name: 'const char *SSL_get0_group_name(void *ssl)',
  // The scan's full-handshake probes (src/engine/scan/session_probes.ts); a libssl built without
  // CT or early data lacks some, and the probe then says so.
  SSL_renegotiate_pending: 'int SSL_renegotiate_pending(void *ssl)',
  // written: a BigUint64Array(1) (size_t *).
  SSL_write_early_data: 'int SSL_write_early_data(void *ssl, const void *buf, size_t num, void *written)',
  SSL_get_early_data_status: 'int SSL_get_early_data_status(void *ssl)',
  SSL_SESSION_get_max_early_data: 'uint32_t SSL_SESSION_get_max_early_data(void *sess)',
  SSL_SESSION_get_ticket_lifetime_hint: 'unsigned long SSL_SESSION_get_ticket_lifetime_hint(void *sess)',
  // tick: a BigUint64Array(1) for the pointer (into the session), len: a BigUint64Array(1).
  SSL_SESSION_get0_ticket: 'void SSL_SESSION_get0_ticket(void *sess, void *tick, void *len)',
  SSL_enable_ct: 'int SSL_enable_ct(void *ssl, int validation_mode)',
  SSL_get0_peer_scts: 'void *SSL_get0_peer_scts(void *ssl)',
  SCT_get_source: 'int SCT_get_source(void *sct)',
} as const;

type Bound = { [K in keyof typeof SIGNATURES]: (...args: any[]) => any };
type OptionalBound = { [K in keyof typeof OPTIONAL_SIGNATURES]?: (...args: any[]) => any };

export interface OpenSSL extends Bound, OptionalBound {
  /** Where this OpenSSL came from: 'node' (the running executable) or a libssl path. */
  readonly source: string;
  readonly version: string;
  /** Major and minor release of the loaded library (from OpenSSL_version_num: 0xMNN00PP0). */
  readonly release: { major: number; minor: number };
  readonly lib: LibraryHandle;
}

const OPENSSL_VERSION = 0;

// One per thread: koffi bindings are per isolate, and so are registered callbacks.
let loaded: OpenSSL | undefined;

/** The libssl path asked for by flag or environment, or undefined for the one inside node. */
export function requestedLibssl(flag?: string): string | undefined {
  const p = flag ?? process.env.IOCPTLS_OPENSSL;
  return p && p.length > 0 ? p : undefined;
}

export function loadOpenSSL(libsslPath?: string): OpenSSL {
  if (loaded) {
    const want = libsslPath ? path.resolve(libsslPath) : 'node';
    if (loaded.source !== want) throw new Error(`OpenSSL already loaded from ${loaded.source}, cannot also load ${want}`);
    return loaded;
  }
  let lib: LibraryHandle;
  let source = 'node';
  if (libsslPath) {
    source = path.resolve(libsslPath);
    if (!fs.existsSync(source)) throw new Error(`--openssl: no such file: ${libsslPath}`);
    try {
      // RTLD_DEEPBIND: the node executable exports OpenSSL symbols too; without it the
      // loaded libssl would bind to node's libcrypto instead of its own.
      lib = koffi.load(source, { deep: true });
    } catch (e) {
      throw new Error(`--openssl: cannot load ${libsslPath}: ${(e as Error).message}`);
    }
  } else {
    lib = koffi.load(null as unknown as string);
  }
  const bound: Record<string, unknown> = {};
  for (const [name, sig] of Object.entries(SIGNATURES)) {
    try {
      bound[name] = lib.func(sig);
    } catch (e) {
      if (libsslPath) throw new Error(`--openssl: ${libsslPath} lacks ${name} (OpenSSL 3.x is required)`);
      throw new Error(`this Node.js does not export ${name}; use --openssl PATH to a libssl.so.3`);
    }
  }
  for (const [name, sig] of Object.entries(OPTIONAL_SIGNATURES)) {
    try {
      bound[name] = lib.func(sig);
    } catch {
      // absent in this release: callers check for undefined
    }
  }
  const version = (bound.OpenSSL_version as (t: number) => string)(OPENSSL_VERSION);
  const num = Number((bound.OpenSSL_version_num as () => number | bigint)());
  const release = { major: Math.floor(num / 2 ** 28) & 0xf, minor: Math.floor(num / 2 ** 20) & 0xff };
  loaded = Object.assign(bound, { source, version, release, lib }) as unknown as OpenSSL;
  return loaded;
}

/** The bindings already loaded on this thread (loads node's by default). */
export function openssl(): OpenSSL {
  return loaded ?? loadOpenSSL(requestedLibssl());
}

/** Frees memory OpenSSL allocated for us (the OPENSSL_free macro). */
export function opensslFree(ssl: OpenSSL, p: Ptr): void {
  ssl.CRYPTO_free(p, null, 0);
}
