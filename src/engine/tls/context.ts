// An SSL_CTX built from our options: protocol range, ciphers, groups, ALPN, certificates,
// trust, client auth, tickets, session cache and keylog. Built once per worker, shared by
// every session of that worker.
import fs from 'node:fs';
import { NativeCallback } from '../../../native/callbacks';
import { nativeMemory } from '../../../native/memory';
import * as o from '../../../native/openssl';
import { ConfigError } from '../errors';
import { opensslAtLeast } from '../openssl_info';
import { useSharedSessionCache } from './external_cache';
import { checkGroups } from './groups';
import { drainErrorQueue } from './openssl_errors';
import { resolveTrust, TrustSource } from './trust';

export type TlsVersion = '1.2' | '1.3';
export type KeyPair = { cert: string; key: string; inline?: boolean };

export interface TlsContextOptions {
  role: 'client' | 'server';
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
  /** TLS 1.2 cipher list (OpenSSL syntax). */
  ciphers?: string;
  /** TLS 1.3 ciphersuites (OpenSSL syntax). */
  ciphersuites?: string;
  groups?: string;
  alpn?: string[];
  /** Certificate chains and keys: PEM file paths, or PEM text when `inline`. Several key types may coexist. */
  certs?: KeyPair[];
  /** Client: verify the server (against `ca`, or the system/Node roots). Server: see clientAuth. */
  verify?: boolean;
  ca?: string;
  /** Client with verify off: still load the trust store, so the verification result can be reported (connect --insecure). */
  reportVerify?: boolean;
  /** Server: ask for (request) or demand (require) a client certificate signed by clientCa. */
  clientAuth?: 'none' | 'request' | 'require';
  clientCa?: string;
  /** Server: issue session tickets (default on). Client: false refuses them (SSL_OP_NO_TICKET), so TLS 1.2 resumes by session ID. */
  tickets?: boolean;
  /** Server: ticket keys (80 bytes) shared by every worker's context, so a ticket one worker issued resumes on any. */
  ticketKeys?: Uint8Array;
  /** Server: stateful session cache (default on). Client: keep sessions via onNewSession. */
  sessionCache?: boolean;
  /**
   * Server: keep the session cache in this shared memory (SharedSessionStore.buffer()) instead of
   * in the context, so every worker's context resumes the session IDs any of them issued.
   */
  sharedSessionCache?: SharedArrayBuffer;
  /** Called with each NSS key log line; the line holds secrets and is only ever written where the user asked. */
  keylog?: (line: string) => void;
  /**
   * false: no RFC 8879 certificate compression (OpenSSL 3.2+ compresses TLS 1.3 Certificate
   * messages when both sides can), so a flight is as large as its certificates. Default: OpenSSL's.
   */
  certCompression?: boolean;
}

const VERSIONS: Record<TlsVersion, number> = { '1.2': o.TLS1_2_VERSION, '1.3': o.TLS1_3_VERSION };

// Per thread: koffi callbacks are per isolate. Sessions that want to hear about new session
// tickets register here by SSL pointer.
const newSessionListeners = new Map<bigint, (sess: bigint) => boolean>();
let newSessionCb: NativeCallback | undefined;

export function onNewSession(ssl: bigint, fn: ((sess: bigint) => boolean) | undefined): void {
  if (fn) newSessionListeners.set(ssl, fn);
  else newSessionListeners.delete(ssl);
}

function newSessionCallback(): bigint {
  newSessionCb ??= new NativeCallback((ssl: bigint, sess: bigint) => {
    const fn = newSessionListeners.get(ssl);
    // Returning 1 keeps OpenSSL's reference for us; 0 lets OpenSSL free the session.
    return fn && fn(sess) ? 1 : 0;
  }, o.NewSessionCallback);
  return newSessionCb.ptr;
}

export class TlsContext {
  readonly ctx: bigint;
  readonly role: 'client' | 'server';
  readonly trust?: TrustSource;
  readonly verify: boolean;
  readonly alpn?: Uint8Array;
  #callbacks: NativeCallback[] = [];
  #sharedCache: { free: () => void } | undefined;
  #ssl: o.OpenSSL;

  constructor(readonly options: TlsContextOptions) {
    const ssl = (this.#ssl = o.openssl());
    this.role = options.role;
    const method = this.role === 'client' ? ssl.TLS_client_method() : ssl.TLS_server_method();
    this.ctx = ssl.SSL_CTX_new(method);
    if (!this.ctx) throw this.#fail('SSL_CTX_new');
    try {
      this.verify = this.role === 'client' ? options.verify !== false : (options.clientAuth ?? 'none') !== 'none';
      this.#configureProtocol();
      this.#configureCertificates();
      if (this.role === 'client') this.trust = this.#configureClientVerify();
      else this.#configureServer();
      if (options.alpn?.length) this.alpn = this.#configureAlpn(options.alpn);
      if (options.keylog) this.#configureKeylog(options.keylog);
    } catch (e) {
      this.free();
      throw e;
    }
  }

  #fail(what: string, hint?: string): ConfigError {
    const reasons = drainErrorQueue(this.#ssl);
    return new ConfigError(`${hint ?? what}${reasons.length ? `: ${reasons[0]}` : ''}`);
  }

  #configureProtocol(): void {
    const s = this.#ssl;
    const { minVersion, maxVersion, ciphers, ciphersuites, groups } = this.options;
    if (minVersion && !s.SSL_CTX_ctrl(this.ctx, o.SSL_CTRL_SET_MIN_PROTO_VERSION, VERSIONS[minVersion], null))
      throw this.#fail('min version', `--tls-min ${minVersion} not supported`);
    if (maxVersion && !s.SSL_CTX_ctrl(this.ctx, o.SSL_CTRL_SET_MAX_PROTO_VERSION, VERSIONS[maxVersion], null))
      throw this.#fail('max version', `--tls-max ${maxVersion} not supported`);
    if (minVersion && maxVersion && VERSIONS[minVersion] > VERSIONS[maxVersion])
      throw new ConfigError(`--tls-min ${minVersion} is above --tls-max ${maxVersion}`);
    if (ciphers && !s.SSL_CTX_set_cipher_list(this.ctx, ciphers)) throw this.#fail('ciphers', `--ciphers '${ciphers}' matches no cipher`);
    if (ciphersuites && !s.SSL_CTX_set_ciphersuites(this.ctx, ciphersuites))
      throw this.#fail('ciphersuites', `--ciphersuites '${ciphersuites}' is not valid`);
    // Checked group by group first, so the error names the one this OpenSSL lacks.
    if (groups && !s.SSL_CTX_ctrl_str(this.ctx, o.SSL_CTRL_SET_GROUPS_LIST, 0, checkGroups(s, groups)))
      throw this.#fail('groups', `--groups '${groups}' is not valid`);
    // Peers that close without close_notify are common (and our own --close rst); count them, don't fail hard.
    // No TLS 1.2 renegotiation, either way: a server asking (HelloRequest) gets a no_renegotiation
    // alert from our client, a client asking gets one from our server. Nothing here needs it, and
    // a client-initiated one costs the server a full handshake on the peer's whim.
    s.SSL_CTX_set_options(this.ctx, o.SSL_OP_IGNORE_UNEXPECTED_EOF | o.SSL_OP_NO_RENEGOTIATION);
    if (this.options.certCompression === false && opensslAtLeast(3, 2, s))
      s.SSL_CTX_set_options(this.ctx, o.SSL_OP_NO_TX_CERTIFICATE_COMPRESSION | o.SSL_OP_NO_RX_CERTIFICATE_COMPRESSION);
    // TlsSession.write reports bytes taken. Without PARTIAL_WRITE, an SSL_write of several records
    // returns only once all are written, so what it took could not be told. With it, SSL_write
    // returns after each record; TlsSession only hands over what fits in the pair, and the rest is
    // written later from wherever the caller keeps it (MOVING_WRITE_BUFFER).
    // RELEASE_BUFFERS (as nginx sets it): the record layer frees its read and write buffers
    // whenever they are empty, so an idle connection holds no record buffer (~34 KiB otherwise).
    s.SSL_CTX_ctrl(
      this.ctx,
      o.SSL_CTRL_MODE,
      o.SSL_MODE_ENABLE_PARTIAL_WRITE | o.SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | o.SSL_MODE_RELEASE_BUFFERS,
      null
    );
  }

  #configureCertificates(): void {
    const s = this.#ssl;
    for (const pair of this.options.certs ?? []) {
      if (pair.inline) {
        this.#useInlinePair(pair);
        continue;
      }
      for (const f of [pair.cert, pair.key]) {
        try {
          fs.accessSync(f, fs.constants.R_OK);
        } catch {
          throw new ConfigError(`cannot read ${f}`);
        }
      }
      if (!s.SSL_CTX_use_certificate_chain_file(this.ctx, pair.cert)) throw this.#fail('cert', `${pair.cert} is not a PEM certificate`);
      if (!s.SSL_CTX_use_PrivateKey_file(this.ctx, pair.key, o.SSL_FILETYPE_PEM)) throw this.#fail('key', `${pair.key} is not a usable PEM private key`);
      if (!s.SSL_CTX_check_private_key(this.ctx)) throw this.#fail('check', `${pair.key} does not match ${pair.cert}`);
    }
  }

  #useInlinePair(pair: KeyPair): void {
    const s = this.#ssl;
    const certBio = s.BIO_new_mem_buf(Buffer.from(pair.cert), pair.cert.length);
    const keyBio = s.BIO_new_mem_buf(Buffer.from(pair.key), pair.key.length);
    try {
      const x = s.PEM_read_bio_X509(certBio, null, null, null);
      if (!x) throw this.#fail('cert', 'inline certificate is not PEM');
      const ok = s.SSL_CTX_use_certificate(this.ctx, x);
      s.X509_free(x);
      if (!ok) throw this.#fail('cert', 'inline certificate rejected');
      const k = s.PEM_read_bio_PrivateKey(keyBio, null, null, null);
      if (!k) throw this.#fail('key', 'inline key is not PEM');
      const okk = s.SSL_CTX_use_PrivateKey(this.ctx, k);
      s.EVP_PKEY_free(k);
      if (!okk || !s.SSL_CTX_check_private_key(this.ctx)) throw this.#fail('key', 'inline key does not match its certificate');
    } finally {
      s.BIO_free(certBio);
      s.BIO_free(keyBio);
    }
  }

  #loadTrust(trust: TrustSource): void {
    const s = this.#ssl;
    if (trust.path) {
      try {
        fs.accessSync(trust.path, fs.constants.R_OK);
      } catch {
        throw new ConfigError(`cannot read CA file ${trust.path}`);
      }
      if (!s.SSL_CTX_load_verify_locations(this.ctx, trust.path, null)) throw this.#fail('ca', `${trust.path} holds no PEM certificate`);
      return;
    }
    const store = s.SSL_CTX_get_cert_store(this.ctx);
    const pem = Buffer.from(trust.pem!);
    const bio = s.BIO_new_mem_buf(pem, pem.length);
    try {
      for (;;) {
        const x = s.PEM_read_bio_X509(bio, null, null, null);
        if (!x) break;
        s.X509_STORE_add_cert(store, x);
        s.X509_free(x);
      }
      drainErrorQueue(s); // end of input leaves a 'no start line' error behind
    } finally {
      s.BIO_free(bio);
    }
  }

  #configureClientVerify(): TrustSource | undefined {
    const s = this.#ssl;
    s.SSL_CTX_ctrl(this.ctx, o.SSL_CTRL_SET_SESS_CACHE_MODE, o.SSL_SESS_CACHE_CLIENT | o.SSL_SESS_CACHE_NO_INTERNAL_STORE, null);
    s.SSL_CTX_sess_set_new_cb(this.ctx, newSessionCallback());
    // Without the session_ticket extension a TLS 1.2 server can only resume by session ID.
    if (this.options.tickets === false) s.SSL_CTX_set_options(this.ctx, o.SSL_OP_NO_TICKET);
    if (!this.verify && !this.options.reportVerify) {
      s.SSL_CTX_set_verify(this.ctx, o.SSL_VERIFY_NONE, null);
      // Nobody will read the result: skip building and checking the chain (X509_verify_cert, with
      // VERIFY_NONE, still runs on every handshake against an empty store), and keep no verified
      // chain per connection. The handshake still checks CertificateVerify with the leaf's key.
      const skip = new NativeCallback(() => 1, o.CertVerifyCallback);
      this.#callbacks.push(skip);
      s.SSL_CTX_set_cert_verify_callback(this.ctx, skip.ptr, null);
      return undefined;
    }
    const trust = resolveTrust(this.options.ca);
    this.#loadTrust(trust);
    // With VERIFY_NONE OpenSSL still verifies and records the result; it just doesn't fail the handshake.
    s.SSL_CTX_set_verify(this.ctx, this.verify ? o.SSL_VERIFY_PEER : o.SSL_VERIFY_NONE, null);
    return trust;
  }

  #configureServer(): void {
    const s = this.#ssl;
    const { tickets, sessionCache, clientAuth, clientCa } = this.options;
    const sid = Buffer.from('iocptls');
    s.SSL_CTX_set_session_id_context(this.ctx, sid, sid.length);
    if (this.options.ticketKeys) {
      const k = this.options.ticketKeys;
      if (k.length !== o.TLSEXT_TICKET_KEYS_SIZE) throw new ConfigError(`ticket keys must be ${o.TLSEXT_TICKET_KEYS_SIZE} bytes`);
      s.SSL_CTX_ctrl(this.ctx, o.SSL_CTRL_SET_TLSEXT_TICKET_KEYS, k.length, k);
    }
    if (tickets === false) {
      s.SSL_CTX_set_options(this.ctx, o.SSL_OP_NO_TICKET);
      s.SSL_CTX_set_num_tickets(this.ctx, 0);
    }
    if (sessionCache === false) s.SSL_CTX_ctrl(this.ctx, o.SSL_CTRL_SET_SESS_CACHE_MODE, o.SSL_SESS_CACHE_OFF, null);
    else if (this.options.sharedSessionCache)
      this.#sharedCache = useSharedSessionCache(s, this.ctx, this.options.sharedSessionCache, { statelessTls13: tickets !== false });
    if (clientAuth && clientAuth !== 'none') {
      if (!clientCa) throw new ConfigError(`--client-auth ${clientAuth} needs --client-ca FILE`);
      this.#loadTrust({ kind: 'file', path: clientCa, describe: clientCa });
      const list = s.SSL_load_client_CA_file(clientCa);
      if (list) s.SSL_CTX_set_client_CA_list(this.ctx, list);
      const mode = o.SSL_VERIFY_PEER | (clientAuth === 'require' ? o.SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
      s.SSL_CTX_set_verify(this.ctx, mode, null);
    }
  }

  #configureAlpn(protocols: string[]): Uint8Array {
    const wire = encodeAlpn(protocols);
    const s = this.#ssl;
    if (this.role === 'client') {
      // Returns 0 on success (unlike most of OpenSSL).
      if (s.SSL_CTX_set_alpn_protos(this.ctx, wire, wire.length) !== 0) throw this.#fail('alpn', `--alpn ${protocols.join(',')} is not valid`);
      return wire;
    }
    // Server preference order: the first of our protocols that the client also offers. A client
    // that offers ALPN but none of ours gets alert 120, no_application_protocol: RFC 7301 §3.2
    // says the server SHALL send it (nginx does); carrying on without ALPN would leave the client
    // to guess what we speak. A client that offers no ALPN at all is not asked (no callback).
    const cb = new NativeCallback((_ssl: bigint, out: bigint, outlen: bigint, inp: bigint, inlen: number) => {
      const offered = new Uint8Array(nativeMemory(inp, inlen));
      for (const want of protocols) {
        for (let i = 0; i < offered.length; ) {
          const n = offered[i];
          if (n === want.length && Buffer.from(offered.subarray(i + 1, i + 1 + n)).toString('latin1') === want) {
            new BigUint64Array(nativeMemory(out, 8))[0] = inp + BigInt(i + 1);
            new Uint8Array(nativeMemory(outlen, 1))[0] = n;
            return o.SSL_TLSEXT_ERR_OK;
          }
          i += 1 + n;
        }
      }
      return o.SSL_TLSEXT_ERR_ALERT_FATAL;
    }, o.AlpnSelectCallback);
    this.#callbacks.push(cb);
    s.SSL_CTX_set_alpn_select_cb(this.ctx, cb.ptr, null);
    return wire;
  }

  #configureKeylog(sink: (line: string) => void): void {
    const cb = new NativeCallback((_ssl: bigint, line: string) => sink(line), o.KeylogCallback);
    this.#callbacks.push(cb);
    this.#ssl.SSL_CTX_set_keylog_callback(this.ctx, cb.ptr);
  }

  free(): void {
    if (this.ctx) this.#ssl.SSL_CTX_free(this.ctx);
    for (const cb of this.#callbacks) cb.unregister();
    this.#callbacks = [];
    this.#sharedCache?.free();
    this.#sharedCache = undefined;
  }
}

export function encodeAlpn(protocols: string[]): Uint8Array {
  const parts: number[] = [];
  for (const p of protocols) {
    const b = Buffer.from(p, 'latin1');
    if (b.length === 0 || b.length > 255) throw new ConfigError(`--alpn: protocol name '${p}' must be 1 to 255 bytes`);
    parts.push(b.length, ...b);
  }
  return Uint8Array.from(parts);
}
