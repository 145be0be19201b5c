// OpenSSL's external session cache over a SharedSessionStore: a server context hands every new
// session to the store (serialized with i2d_SSL_SESSION), looks sessions up there when a client
// offers a session ID (d2i_SSL_SESSION), and forgets them when OpenSSL removes one. OpenSSL's own
// per-context cache is off (SSL_SESS_CACHE_NO_INTERNAL), so every worker sees the same sessions.
import { NativeCallback } from '../../../native/callbacks';
import { nativeView } from '../../../native/libc';
import { copyFromNative, nativeAlloc, nativeFree, nativeMemory } from '../../../native/memory';
import * as o from '../../../native/openssl';
import { SharedSessionStore } from './session_store';

export interface ExternalCacheOptions {
  /**
   * Whether the context issues TLS 1.3 stateless tickets (tickets on). Such a ticket carries the
   * whole session and never comes back as a cache lookup, so storing it would only cost memory
   * and time; with tickets off, TLS 1.3 tickets are stateful (a session ID) and are stored.
   */
  statelessTls13: boolean;
}

/** Installs the callbacks on ctx. `free` (after SSL_CTX_free) unregisters them and frees the scratch memory. */
export function useSharedSessionCache(ssl: o.OpenSSL, ctx: bigint, buffer: SharedArrayBuffer, opts: ExternalCacheOptions): { free: () => void } {
  const store = new SharedSessionStore(buffer);
  let scratch: { ptr: bigint; view: Uint8Array } = { ptr: 0n, view: new Uint8Array(0) };
  const scratchFor = (n: number) => {
    if (scratch.view.length < n) {
      if (scratch.ptr) nativeFree(scratch.ptr);
      const size = Math.max(n, 4096);
      const ptr = nativeAlloc(size);
      scratch = { ptr, view: nativeView(ptr, size) };
    }
    return scratch;
  };
  const idLen = new Uint32Array(1);
  const pp = new BigUint64Array(1);
  const sessionId = (sess: bigint): Uint8Array | undefined => {
    const p = ssl.SSL_SESSION_get_id(sess, idLen) as bigint;
    return p && idLen[0] ? copyFromNative(p, idLen[0]) : undefined;
  };

  const onNew = new NativeCallback((_ssl: bigint, sess: bigint): number => {
    if (opts.statelessTls13 && ssl.SSL_SESSION_get_protocol_version(sess) === o.TLS1_3_VERSION) return 0;
    const id = sessionId(sess);
    const len = ssl.i2d_SSL_SESSION(sess, null) as number;
    if (!id || len <= 0) return 0;
    if (len > store.maxRecord) {
      store.countTooLarge();
      return 0;
    }
    const buf = scratchFor(len);
    pp[0] = buf.ptr;
    if (ssl.i2d_SSL_SESSION(sess, pp) !== len) return 0;
    const timeoutSec = Number(ssl.SSL_SESSION_get_timeout(sess));
    store.put(id, buf.view.subarray(0, len), Date.now() + timeoutSec * 1000);
    // 0: we kept no reference (the store holds a copy); OpenSSL frees its own.
    return 0;
  }, o.NewSessionCallback);

  const onGet = new NativeCallback((_ssl: bigint, idPtr: bigint, idlen: number, copy: bigint): bigint | null => {
    if (!idPtr || idlen <= 0) return null;
    const der = store.get(copyFromNative(idPtr, idlen));
    if (!der) return null;
    const buf = scratchFor(der.length);
    buf.view.set(der);
    pp[0] = buf.ptr;
    const sess = ssl.d2i_SSL_SESSION(null, pp, der.length) as bigint;
    if (!sess) {
      ssl.ERR_clear_error();
      return null;
    }
    // *copy = 0: OpenSSL takes over the reference d2i_SSL_SESSION gave us.
    new Int32Array(nativeMemory(copy, 4))[0] = 0;
    return sess;
  }, o.GetSessionCallback);

  const onRemove = new NativeCallback((_ctx: bigint, sess: bigint): void => {
    const id = sessionId(sess);
    if (id) store.delete(id);
  }, o.RemoveSessionCallback);

  ssl.SSL_CTX_ctrl(ctx, o.SSL_CTRL_SET_SESS_CACHE_MODE, o.SSL_SESS_CACHE_SERVER | o.SSL_SESS_CACHE_NO_INTERNAL, null);
  ssl.SSL_CTX_sess_set_new_cb(ctx, onNew.ptr);
  ssl.SSL_CTX_sess_set_get_cb(ctx, onGet.ptr);
  ssl.SSL_CTX_sess_set_remove_cb(ctx, onRemove.ptr);
  return {
    free: () => {
      for (const cb of [onNew, onGet, onRemove]) cb.unregister();
      if (scratch.ptr) nativeFree(scratch.ptr);
      scratch = { ptr: 0n, view: new Uint8Array(0) };
    },
  };
}
