// A resumable TLS session (OpenSSL's SSL_SESSION) as an owned handle: one reference, released
// exactly once. Reference counting stays in tls/; apps only keep, hand out and release these.
import * as o from '../../../native/openssl';

export class SavedSession {
  #ptr: bigint;
  /** Its protocol version is TLS 1.3: once known (told, or asked once), as it never changes. */
  #tls13: boolean | undefined;

  /**
   * Takes over one reference to `ptr` (as OpenSSL's new-session callback hands it out). `tls13`:
   * the version when the caller already knows it (the connection that received it negotiated it).
   */
  constructor(ptr: bigint, tls13?: boolean) {
    this.#ptr = ptr;
    this.#tls13 = tls13;
  }

  /** The SSL_SESSION*, for TlsSession (SSL_set_session takes its own reference). */
  get ptr(): bigint {
    if (!this.#ptr) throw new Error('SavedSession used after release()');
    return this.#ptr;
  }

  get released(): boolean {
    return this.#ptr === 0n;
  }

  /** A TLS 1.3 session (a ticket, single use: RFC 8446 C.4) rather than a reusable TLS 1.2 one. */
  get isTls13(): boolean {
    return (this.#tls13 ??= o.openssl().SSL_SESSION_get_protocol_version(this.ptr) === o.TLS1_3_VERSION);
  }

  /** isTls13 if already known, without asking OpenSSL. */
  get knownTls13(): boolean | undefined {
    return this.#tls13;
  }

  /** Whether the server sent a ticket for it (TLS 1.3 always; TLS 1.2 unless it used session IDs). */
  get hasTicket(): boolean {
    return o.openssl().SSL_SESSION_has_ticket(this.ptr) === 1;
  }

  /** Another handle on the same session (one more reference); release both. */
  share(): SavedSession {
    o.openssl().SSL_SESSION_up_ref(this.ptr);
    return new SavedSession(this.#ptr, this.#tls13);
  }

  release(): void {
    if (!this.#ptr) return;
    o.openssl().SSL_SESSION_free(this.#ptr);
    this.#ptr = 0n;
  }
}
