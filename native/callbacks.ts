// C function pointers that call into JS (koffi.register), for OpenSSL's callbacks. A registered
// callback holds a trampoline until it is unregistered: whoever installs one owns it and calls
// unregister() once the C side can no longer call it (after SSL_CTX_free). Per thread: koffi's
// callbacks belong to the isolate that registered them.
import koffi, { type TypeObject } from 'koffi';

/** A function prototype from koffi.proto (the *_cb types in openssl.ts and win32.ts). */
export type CallbackProto = TypeObject;

export class NativeCallback {
  /** The C function pointer, to hand to the setter (SSL_CTX_set_*_cb). */
  readonly ptr: bigint;
  #registered = true;

  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  constructor(fn: Function, proto: CallbackProto) {
    this.ptr = koffi.register(fn, koffi.pointer(proto));
  }

  /** Frees the trampoline; safe to call more than once. */
  unregister(): void {
    if (!this.#registered) return;
    this.#registered = false;
    koffi.unregister(this.ptr);
  }
}
