// The sessions a client resumes with (bench handshake, connect --reconnect). TLS 1.3 tickets are
// single use (RFC 8446 C.4, and OpenSSL's client marks a session it resumed as not resumable),
// so each ticket is handed out once, newest first; when a server issues no new ticket on
// resumption the store runs dry and the next handshake is a full one, as for any well-behaved
// client. A TLS 1.2 session (ticket or session ID) stays reusable: the newest is kept and handed
// out again and again.
import type { SavedSession } from './saved_session';

export class ClientSessionStore {
  #tickets: SavedSession[] = [];
  #tls12: SavedSession | undefined;

  /** At most this many unused TLS 1.3 tickets are kept (the oldest go first). */
  constructor(readonly maxTickets = Infinity) {}

  /** Keeps a new session (the store owns it now); returns true, as a new-session listener does to keep it. */
  add(sess: SavedSession): boolean {
    if (sess.isTls13) {
      this.#tickets.push(sess);
      if (this.#tickets.length > this.maxTickets) this.#tickets.shift()!.release();
    } else {
      this.#tls12?.release();
      this.#tls12 = sess;
    }
    return true;
  }

  /** Whether take() would return a session. */
  get available(): boolean {
    return this.#tickets.length > 0 || this.#tls12 !== undefined;
  }

  /** Unused TLS 1.3 tickets held. */
  get tickets(): number {
    return this.#tickets.length;
  }

  /** A session to resume with, or undefined; the caller owns it (release() it once the connection is set up). */
  take(): SavedSession | undefined {
    return this.#tickets.pop() ?? this.#tls12?.share();
  }

  free(): void {
    for (const t of this.#tickets) t.release();
    this.#tls12?.release();
    this.#tickets = [];
    this.#tls12 = undefined;
  }
}
