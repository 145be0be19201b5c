// The sessions bench handshake resumes with. TLS 1.3 tickets are single use (RFC 8446 C.4, and
// OpenSSL's client marks a session it resumed as not resumable), so each ticket is handed out
// once, newest first. A TLS 1.2 session (ticket or session ID) stays reusable: the newest is kept
// and handed out again and again.
import { openssl, TLS1_3_VERSION } from '../../../native/openssl';

export class SessionPool {
  #tickets: bigint[] = [];
  #tls12: bigint | undefined;

  /** At most this many unused TLS 1.3 tickets are kept (the oldest go first). */
  constructor(readonly maxTickets = 64) {}

  /** Keeps OpenSSL's reference to a new session; returns true for the new-session callback. */
  add(sess: bigint): boolean {
    const s = openssl();
    if (s.SSL_SESSION_get_protocol_version(sess) === TLS1_3_VERSION) {
      this.#tickets.push(sess);
      if (this.#tickets.length > this.maxTickets) s.SSL_SESSION_free(this.#tickets.shift()!);
    } else {
      if (this.#tls12) s.SSL_SESSION_free(this.#tls12);
      this.#tls12 = sess;
    }
    return true;
  }

  /** Whether take() would return a session. */
  get available(): boolean {
    return this.#tickets.length > 0 || this.#tls12 !== undefined;
  }

  /** A session to resume with, or undefined; the caller owns the reference (SSL_SESSION_free it). */
  take(): bigint | undefined {
    const t = this.#tickets.pop();
    if (t) return t;
    if (this.#tls12) openssl().SSL_SESSION_up_ref(this.#tls12);
    return this.#tls12;
  }

  free(): void {
    const s = openssl();
    for (const t of this.#tickets) s.SSL_SESSION_free(t);
    if (this.#tls12) s.SSL_SESSION_free(this.#tls12);
    this.#tickets = [];
    this.#tls12 = undefined;
  }
}
