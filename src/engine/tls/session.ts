// The sans-I/O TLS session: an SSL whose I/O goes through a BIO pair. Ciphertext comes in with
// readTls and leaves through peekTls/consumeTls (straight from the pair's own buffer, so a send
// can be posted without a copy); plaintext goes through read/write. No sockets in here.
//
// The pair's buffers exist only while bytes may be in them: the two BIOs are made once, but
// paired (which mallocs both ring buffers) only when ciphertext comes in or OpenSSL has something
// to write, and unpaired (which frees them) by releaseBuffers() once both are empty. They start at
// one TLS record (what bss_bio itself defaults to) and grow, once empty, for bulk transfers. With
// SSL_MODE_RELEASE_BUFFERS (see context.ts) the SSL's own record buffers come and go the same way,
// so an idle session holds its SSL and little else.
//
// The contract with whoever moves the bytes (the loop, or a test wiring two sessions back to
// back): OpenSSL may want to write more than the outgoing pair holds (a handshake flight with a
// long certificate chain, an alert, a KeyUpdate answer, close_notify). It then stops with
// WANT_WRITE and `wantsWrite` says so: send what is pending, and once some of it is consumed,
// drive the session again (handshake() while handshaking, retryWrites() and read() after).
// Nothing else will: no ciphertext may ever arrive to wake it up.
import { addressOf, nativeMemory } from '../../../native/memory';
import * as o from '../../../native/openssl';
import { TlsError } from '../errors';
import { TlsContext, onNewSession } from './context';
import { negotiatedGroup } from './groups';
import { drainErrorQueue, tlsErrorFromQueue, alertFromReason } from './openssl_errors';
import { SavedSession } from './saved_session';

/** Size each direction's pair buffer starts at: one full TLS record and its overhead (bss_bio's own default, 17 * 1024, which #pair relies on). */
export const BIO_PAIR_SMALL = 17 * 1024;
/**
 * What a pair grows to for bulk transfers: several records per send and per receive. The loop
 * sends up to half of it at once, so 1 MiB means sends of up to 512 KiB: on loopback the
 * sender's CPU per MiB fell by about a sixth against 256 KiB pairs (bench/bulk.js, fewer and
 * larger sends). A quiet connection gives both buffers back (releaseBuffers), so this is held only
 * while bytes stream.
 */
export const BIO_PAIR_SIZE = 1024 * 1024;

/** The pair buffers of this thread's sessions (one loop per thread): what they hold in native memory. */
export const pairMemory = { sessions: 0, paired: 0, bytes: 0, released: 0, freedBytes: 0 };
/** Largest TLS plaintext record. */
const MAX_RECORD = 16 * 1024;
/**
 * Ciphertext a record adds to its plaintext, at most, for every suite we allow: header 5, then
 * TLS 1.3 AEAD 1 + 16, TLS 1.2 GCM 8 + 16, or TLS 1.2 CBC IV 16 + HMAC-SHA384 48 + padding 16.
 */
export const RECORD_OVERHEAD = 128;

export const enum ReadResult {
  /** Nothing more until more ciphertext arrives. */
  WantRead = 0,
  /** The peer sent close_notify. */
  Closed = -1,
}

export interface SessionOptions {
  /** Client: SNI to send (none when empty). */
  servername?: string;
  /** Client: name (DNS or IP) the certificate must match when verifying. */
  verifyHost?: string;
  /** Client: a session to resume. The caller keeps its handle (and releases it): the SSL takes its own reference. */
  resume?: SavedSession;
  /** Client: called when the server's session ticket (or a TLS 1.2 session) is ready to resume with; return true to keep it (then release() it). */
  onSession?: (sess: SavedSession) => boolean;
}

/** What stopped on WANT_WRITE, by the call that must run again once the outgoing pair has room. */
const enum Blocked {
  Handshake = 1,
  Read = 2,
  Shutdown = 4,
  KeyUpdate = 8,
}

const IP_LITERAL = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/;

export class TlsSession {
  readonly ssl: bigint;
  /** The network side of the BIO pair: ciphertext in and out. */
  readonly net: bigint;
  /** The SSL's side of the BIO pair (its counters: the TLS record bytes OpenSSL read and wrote). */
  #internal: bigint;
  #o: o.OpenSSL;
  #handshakeDone = false;
  #error: TlsError | undefined;
  #peerClosed = false;
  #blocked = 0;
  /** Size of each pair buffer: now when paired, next time otherwise. */
  #size = BIO_PAIR_SMALL;
  #paired = false;
  /** The BIOs still have bss_bio's own buffer size (never resized): BIO_PAIR_SMALL. */
  #defaultSize = true;
  #freed = false;
  /** The pending ciphertext as (at most) two runs of the pair's ring buffer, filled by peekTlsRuns. */
  readonly runs = { ptr1: 0n, len1: 0, ptr2: 0n, len2: 0 };
  #handshakeBytes: HandshakeBytes | undefined;
  /** What the completed handshake settled, once asked (see isTls13 and resumed). */
  #tls13: boolean | undefined;
  #resumed: boolean | undefined;
  /**
   * OpenSSL last stopped for want of ciphertext (WANT_READ), and none came in since: it read the
   * incoming pair dry (without read-ahead it reads what a record needs; WANT_READ means the BIO
   * had no more), so the pair can take a whole buffer. Saves asking, once per receive posted.
   */
  #inDrained = false;
  /**
   * Ciphertext pending in the outgoing pair, exact while #outKnown: counted by peekTlsRuns (which
   * asks), decreased by consumeTls; any call that lets OpenSSL write makes it unknown again. A
   * send that took all of it then needs no call to learn that nothing is left.
   */
  #outPending = 0;
  #outKnown = false;
  /**
   * SSL_read ran since #outPending was last exact, and might have written (a KeyUpdate answer,
   * an alert): #outPending holds only if those reads turn out to have read application records
   * alone (#takenAtLeast reaching #fed proves it), and is dropped at the next WANT_READ otherwise.
   */
  #readsUnverified = false;
  /**
   * Where the outgoing ring buffer starts (0n until known for this pairing): the first run peeked
   * before anything was taken from a new pair starts there. bss_bio moves its read offset back to
   * the start whenever the buffer empties, so a flight written into an empty pair is a run from
   * the start, and such a run holds all that is pending (nread0 stops short only at the end).
   */
  #outBase = 0n;
  /** Ciphertext was taken from the outgoing pair since it was paired (its offset may have moved). */
  #outTaken = false;
  /** SSL_shutdown ran (our close_notify was queued, or a quiet shutdown): free() need not mark it. */
  #shutDown = false;
  /** Ciphertext bytes fed in by readTls, ever: with what OpenSSL read from the pair, what is left in it. */
  #fed = 0;
  /**
   * Ciphertext OpenSSL surely took from the incoming pair, a lower bound: what the handshake
   * read, plus for each application record read since, its plaintext and the suite's fixed
   * overhead (padding, tickets and alerts only make the true figure larger). It is exact again
   * at each WANT_READ. Once it reaches #fed the pair is empty, and the read after a record need
   * not ask OpenSSL to learn that (an SSL_read that fails and its SSL_get_error: two native
   * calls per receive of a request/response load).
   */
  #takenAtLeast = 0;
  /** What a record adds to its plaintext under the negotiated suite (see recordOverhead); -1: not known yet. */
  #overhead = -1;
  /** The version of the session offered for resumption, if known: a resumed handshake negotiated it. */
  #resumeTls13: boolean | undefined;
  /**
   * Bytes of the incoming pair's buffer lent out by lendTlsSpace (0: none): a receive writes
   * straight into them. While lent, the pair is neither freed nor resized (#pairEmpty() is false).
   */
  #lent = 0;

  constructor(
    readonly context: TlsContext,
    opts: SessionOptions = {}
  ) {
    const s = (this.#o = o.openssl());
    this.ssl = s.SSL_new(context.ctx);
    if (!this.ssl) throw tlsErrorFromQueue(s, 'SSL_new', 'out of memory');
    const method = (bioMethod ||= s.BIO_s_bio());
    const internal = (this.#internal = s.BIO_new(method));
    this.net = s.BIO_new(method);
    if (!internal || !this.net) {
      if (internal) s.BIO_free(internal);
      if (this.net) s.BIO_free(this.net);
      s.SSL_free(this.ssl);
      throw tlsErrorFromQueue(s, 'BIO_new', 'out of memory');
    }
    // Unpaired: no buffer yet. The SSL keeps this BIO for life; only its buffers come and go.
    s.SSL_set_bio(this.ssl, internal, internal);
    pairMemory.sessions++;
    if (context.role === 'client') {
      if (opts.servername) s.SSL_ctrl_str(this.ssl, o.SSL_CTRL_SET_TLSEXT_HOSTNAME, o.TLSEXT_NAMETYPE_host_name, opts.servername);
      if (context.trust && opts.verifyHost) {
        const param = s.SSL_get0_param(this.ssl);
        const h = opts.verifyHost.replace(/^\[|\]$/g, '');
        if (IP_LITERAL.test(h)) s.X509_VERIFY_PARAM_set1_ip_asc(param, h);
        else s.X509_VERIFY_PARAM_set1_host(param, h, 0);
      }
      if (opts.resume) {
        s.SSL_set_session(this.ssl, opts.resume.ptr);
        this.#resumeTls13 = opts.resume.knownTls13;
      }
      const keep = opts.onSession;
      // Not kept (false): OpenSSL frees the session itself, so the handle is dropped unreleased.
      // A session that arrives after the handshake (a TLS 1.3 ticket) has the version it negotiated.
      if (keep) onNewSession(this.ssl, (p) => keep(new SavedSession(p, this.#handshakeDone ? this.isTls13() : undefined)));
      s.SSL_set_connect_state(this.ssl);
    } else {
      s.SSL_set_accept_state(this.ssl);
    }
  }

  get isHandshaking(): boolean {
    return !this.#handshakeDone;
  }
  get error(): TlsError | undefined {
    return this.#error;
  }
  get peerClosed(): boolean {
    return this.#peerClosed;
  }
  /**
   * OpenSSL stopped because the outgoing pair was full (WANT_WRITE): once some pending ciphertext
   * has been consumed, drive the session again (see the contract at the top of this file).
   */
  get wantsWrite(): boolean {
    return this.#blocked !== 0;
  }

  // --- the pair's buffers
  /** Whether the pair's buffers exist now. */
  get paired(): boolean {
    return this.#paired;
  }
  /** Size of each pair buffer (now, or when next paired). */
  get pairSize(): number {
    return this.#size;
  }

  /** Allocates the pair's buffers if they are not there (BIO_make_bio_pair mallocs both). */
  #pair(): void {
    if (this.#paired) return;
    const s = this.#o;
    // A new BIO already has that size: two calls saved per connection (a short one pairs once).
    if (!this.#defaultSize || this.#size !== BIO_PAIR_SMALL) {
      s.BIO_ctrl(this.#internal, o.BIO_C_SET_WRITE_BUF_SIZE, this.#size, null);
      s.BIO_ctrl(this.net, o.BIO_C_SET_WRITE_BUF_SIZE, this.#size, null);
    }
    if (!s.BIO_ctrl(this.#internal, o.BIO_C_MAKE_BIO_PAIR, 0, this.net)) throw tlsErrorFromQueue(s, 'BIO_make_bio_pair', 'out of memory');
    // Streaming (a bulk-sized pair): RELEASE_BUFFERS would free and malloc the record buffer
    // around every record, each being written out or read up at once through the pair. They are
    // kept while the pair is, and freed with it (releaseBuffers).
    if (this.#size >= BIO_PAIR_SIZE) s.SSL_ctrl(this.ssl, o.SSL_CTRL_CLEAR_MODE, o.SSL_MODE_RELEASE_BUFFERS, null);
    this.#paired = true;
    this.#outBase = 0n;
    this.#outTaken = false;
    pairMemory.paired++;
    pairMemory.bytes += 2 * this.#size;
  }

  /** Frees the pair's buffers: unpaired, then a change of size makes bss_bio free each (there is no other way that keeps the BIO). */
  #unpair(): void {
    const s = this.#o;
    s.BIO_ctrl(this.net, o.BIO_C_DESTROY_BIO_PAIR, 0, null);
    this.#outKnown = false;
    s.BIO_ctrl(this.#internal, o.BIO_C_SET_WRITE_BUF_SIZE, 1, null);
    s.BIO_ctrl(this.net, o.BIO_C_SET_WRITE_BUF_SIZE, 1, null);
    this.#defaultSize = false;
    this.#paired = false;
    pairMemory.paired--;
    pairMemory.bytes -= 2 * this.#size;
    pairMemory.freedBytes += 2 * this.#size;
  }

  /** Nothing in the pair either way, none of it lent, nothing OpenSSL waits to write: its buffers may be swapped. */
  #pairEmpty(): boolean {
    const s = this.#o;
    return (
      this.#blocked === 0 &&
      this.#lent === 0 &&
      Number(s.BIO_ctrl_pending(this.net)) === 0 &&
      Number(s.BIO_ctrl(this.net, o.BIO_CTRL_WPENDING, 0, null)) === 0
    );
  }

  /** The pair empty, and nothing unread inside the SSL either. */
  #empty(): boolean {
    return this.#pairEmpty() && this.#o.SSL_has_pending(this.ssl) === 0;
  }

  /**
   * Frees the pair's buffers if the session is between exchanges (handshake done, both
   * directions empty, nothing unread inside the SSL). The caller must not have a send in flight
   * from peekTls's buffer. True if they were freed; the next byte in or out allocates them again.
   */
  releaseBuffers(): boolean {
    if (!this.#paired || !this.#handshakeDone || this.#error || !this.#empty()) return false;
    this.#unpair();
    // RELEASE_BUFFERS frees the record layer's read buffer after application data only: one
    // that read post-handshake messages (TLS 1.3 session tickets, KeyUpdate) keeps its 16 KiB
    // (OpenSSL 3.0). SSL_free_buffers frees it (and refuses while a byte is unread in it).
    // A streaming session kept its record buffers (see #pair): they go now, and again after each record until it streams again.
    if (this.#size >= BIO_PAIR_SIZE) this.#o.SSL_ctrl(this.ssl, o.SSL_CTRL_MODE, o.SSL_MODE_RELEASE_BUFFERS, null);
    this.#o.SSL_free_buffers(this.ssl);
    pairMemory.released++;
    return true;
  }

  /**
   * Grows the pair to `size` if it is smaller and empty (no send in flight from it, no receive
   * into it); otherwise nothing changes. True if it grew.
   */
  growBuffers(size: number): boolean {
    if (this.#size >= size) return false;
    if (this.#paired) {
      // A record OpenSSL has half read stays in its own buffer: only the pair's need be empty
      // (a receive rarely ends on a record's boundary).
      if (!this.#pairEmpty()) return false;
      this.#unpair();
    }
    this.#size = size;
    return true;
  }

  // --- ciphertext
  /** Feeds received ciphertext; returns how many bytes the pair took (all, when len <= tlsSpace()). */
  readTls(src: bigint | Uint8Array, len: number): number {
    this.#pair();
    this.#inDrained = false;
    const n = this.#o.BIO_write(this.net, src, len);
    if (n <= 0) return 0;
    this.#fed += n;
    return n;
  }
  /**
   * Lends the start of the incoming pair's free space, at most `max` bytes, for a receive
   * straight into it: the ciphertext then skips the copy through a receive buffer (and the
   * receive writes the same, cache-warm, bytes each time). Only while OpenSSL has read the pair
   * dry (WANT_READ, nothing fed since): with nothing in it, no read can move the pair's offsets
   * under the receive. Returns the bytes lent (0: not now; use readTls), their address in
   * `lentPtr`. Until commitTls or returnTlsSpace, nothing may be fed with readTls and the pair
   * stays allocated at its size.
   */
  lendTlsSpace(max: number): number {
    if (this.#lent || this.#error || (this.#paired && !this.#inDrained)) return 0;
    this.#pair();
    const n = this.#o.BIO_nwrite0(this.net, scratch);
    if (n <= 0) return 0;
    this.lentPtr = scratch[0];
    return (this.#lent = Math.min(n, max));
  }
  /** Address of the space lendTlsSpace lent. */
  lentPtr = 0n;
  /** The receive into the lent space brought `n` bytes (0 < n <= lent): they are now ciphertext for read(). */
  commitTls(n: number): void {
    const lent = this.#lent;
    this.#lent = 0;
    if (n <= 0) return;
    if (n > lent) throw new TlsError(`receive: ${n} bytes into ${lent} lent`, 'internal error');
    this.#inDrained = false;
    const k = this.#o.BIO_nwrite(this.net, scratch, n);
    this.#fed += k > 0 ? k : 0;
  }
  /** The receive into the lent space brought nothing (EOF, an error, cancelled): the space is the pair's again. */
  returnTlsSpace(): void {
    this.#lent = 0;
  }
  /** Space is lent to a receive (see lendTlsSpace). */
  get lent(): boolean {
    return this.#lent !== 0;
  }
  /** How much ciphertext the pair can take now (a whole buffer when it has none yet). */
  tlsSpace(): number {
    return !this.#paired || this.#inDrained ? this.#size : Number(this.#o.BIO_ctrl_get_write_guarantee(this.net));
  }
  /** Ciphertext waiting to be sent. */
  tlsPending(): number {
    if (!this.#paired) return 0;
    return this.#outExact ? this.#outPending : Number(this.#o.BIO_ctrl_pending(this.net));
  }
  /** The next contiguous run of pending ciphertext, in the pair's own buffer: [address, length]. Stays valid until consumeTls. */
  peekTls(): [bigint, number] {
    if (!this.#paired) return [0n, 0];
    const n = this.#o.BIO_nread0(this.net, scratch);
    return n > 0 ? [scratch[0], n] : [0n, 0];
  }
  /**
   * All pending ciphertext as at most two runs of the pair's ring buffer, in `runs` (no
   * allocation): the run up to the buffer's end, then the one that wrapped to its start. The
   * second starts at the buffer's base, which is where the first run ends minus the buffer's
   * size (BIO_nread0 only ever stops short of what is pending at the buffer's end). Returns the
   * total; both runs stay valid until consumeTls.
   */
  peekTlsRuns(): number {
    const r = this.runs;
    r.len1 = r.len2 = 0;
    if (!this.#paired || (this.#outExact && this.#outPending === 0)) return 0;
    const s = this.#o;
    const n = s.BIO_nread0(this.net, scratch);
    if (n <= 0) {
      this.#outKnown = true;
      this.#readsUnverified = false;
      this.#outPending = 0;
      return 0;
    }
    r.ptr1 = scratch[0];
    r.len1 = n;
    if (this.#outBase === 0n && !this.#outTaken) this.#outBase = r.ptr1;
    // A run from the ring's start is all there is (see #outBase): one call saved per flight.
    const total = r.ptr1 === this.#outBase ? n : Number(s.BIO_ctrl_pending(this.net));
    if (total > n) {
      r.ptr2 = r.ptr1 + BigInt(n - this.#size);
      r.len2 = total - n;
    }
    this.#outKnown = true;
    this.#readsUnverified = false;
    this.#outPending = total;
    return r.len1 + r.len2;
  }
  /** Marks n bytes of pending ciphertext as sent (across the ring's wrap if they span it). */
  consumeTls(n: number): void {
    if (this.#outKnown) this.#outPending = Math.max(0, this.#outPending - n);
    this.#outTaken = true;
    while (n > 0) {
      const k = this.#o.BIO_nread(this.net, scratch, n);
      if (k <= 0) break;
      n -= k;
    }
  }
  /** Copies pending ciphertext out (for in-memory pairs and tests). */
  writeTls(dst: bigint | Uint8Array, max: number): number {
    if (!this.#paired) return 0;
    this.#outKnown = false;
    this.#outTaken = true;
    const n = this.#o.BIO_read(this.net, dst, max);
    return n > 0 ? n : 0;
  }

  // --- state machine
  /** Drives the handshake; true once complete. Throws (and keeps) a TlsError on failure. */
  handshake(): boolean {
    if (this.#handshakeDone) return true;
    if (this.#error) throw this.#error;
    const s = this.#o;
    this.#pair();
    this.#blocked &= ~Blocked.Handshake;
    const sentBefore = this.context.role === 'server' ? s.BIO_number_written(this.#internal) : 0;
    this.#outKnown = false;
    const r = s.SSL_do_handshake(this.ssl);
    if (r === 1) {
      this.#handshakeDone = true;
      this.#handshakeBytes = this.#countHandshakeBytes(Number(sentBefore));
      return true;
    }
    const err = s.SSL_get_error(this.ssl, r);
    if (err === o.SSL_ERROR_WANT_READ) {
      this.#inDrained = true;
      return false;
    }
    if (err === o.SSL_ERROR_WANT_WRITE) {
      this.#blocked |= Blocked.Handshake;
      return false;
    }
    throw this.#fail(err, 'handshake');
  }

  /** Decrypts into dst: bytes (> 0), ReadResult.WantRead, or ReadResult.Closed. Throws on a fatal error. */
  read(dst: bigint | Uint8Array, max: number): number {
    if (this.#error) throw this.#error;
    // Without buffers there is nothing to read (they are only freed when all was read), and an
    // unpaired BIO would read as end of stream.
    if (!this.#paired) return ReadResult.WantRead;
    // Nothing came in since OpenSSL last found the pair dry: SSL_read could only say WANT_READ again.
    if (this.#inDrained) return ReadResult.WantRead;
    const s = this.#o;
    this.#blocked &= ~Blocked.Read;
    // A KeyUpdate answer or an alert may be written: pending ciphertext is unknown unless proven otherwise (#tookRecord).
    this.#readsUnverified = true;
    const r = s.SSL_read(this.ssl, dst, max);
    if (r > 0) {
      if (this.#overhead !== 0) this.#tookRecord(r, max);
      return r;
    }
    this.#outKnown = false;
    this.#readsUnverified = false;
    const err = s.SSL_get_error(this.ssl, r);
    if (err === o.SSL_ERROR_WANT_READ) {
      this.#inDrained = true;
      this.#takenAtLeast = this.#fed;
      return ReadResult.WantRead;
    }
    // A post-handshake message (a KeyUpdate to answer, a TLS 1.3 ticket) met a full outgoing pair.
    if (err === o.SSL_ERROR_WANT_WRITE) {
      this.#blocked |= Blocked.Read;
      return ReadResult.WantRead;
    }
    if (err === o.SSL_ERROR_ZERO_RETURN) {
      this.#peerClosed = true;
      return ReadResult.Closed;
    }
    throw this.#fail(err, 'read');
  }

  /** SSL_read returned n of at most max bytes: one record's plaintext, unless it filled max (then part of one). */
  #tookRecord(n: number, max: number): void {
    if (this.#overhead < 0) this.#overhead = this.#handshakeDone ? recordOverhead(this.#o, this.ssl) : 0;
    // A read that filled its buffer may have left part of the record inside OpenSSL: no bound then.
    if (n >= max || n > MAX_RECORD || this.#overhead === 0) {
      this.#overhead = 0;
      return;
    }
    this.#takenAtLeast += n + this.#overhead;
    if (this.#takenAtLeast === this.#fed) {
      // Everything read since the bound was last exact was application records of the least
      // size: no other record was processed, so none of those reads wrote anything.
      this.#inDrained = true;
      this.#readsUnverified = false;
    }
  }

  /** #outPending is the pending ciphertext, exactly. */
  get #outExact(): boolean {
    return this.#outKnown && !this.#readsUnverified;
  }

  /**
   * Encrypts up to len bytes; returns how many were taken (less, or 0, when the outgoing pair is
   * full: send, then write the rest). What is not taken was not encrypted: the rest may be
   * written later from anywhere, and nothing else is held back by it.
   */
  write(src: bigint | Uint8Array, len: number): number {
    if (this.#error) throw this.#error;
    const s = this.#o;
    this.#pair();
    // A KeyUpdate of ours still waiting for room goes first.
    if (this.#blocked & Blocked.KeyUpdate) {
      this.#pushKeyUpdate();
      if (this.#blocked & Blocked.KeyUpdate) return 0;
    }
    // OpenSSL encrypts a record before it knows whether the pair takes it; one that does not fit
    // stays half-written inside OpenSSL, and then nothing but the very same SSL_write may follow:
    // a close_notify or a KeyUpdate fails with "bad write retry", and the caller could not give
    // up on that data. So only what surely fits is handed over.
    let total = 0;
    while (total < len) {
      // The outgoing buffer's free room: known without asking while what is pending in it is (a request after its previous one went out).
      const space = total === 0 && this.#outExact ? this.#size - this.#outPending : Number(s.BIO_ctrl_get_write_guarantee(this.#internal));
      const n = fits(space, len - total);
      if (n === 0) break;
      const from = total === 0 ? src : typeof src === 'bigint' ? src + BigInt(total) : src.subarray(total);
      this.#outKnown = false;
      // PARTIAL_WRITE mode: SSL_write returns after each record, so loop for the rest that fits.
      const r = s.SSL_write(this.ssl, from, n);
      if (r > 0) {
        total += r;
        continue;
      }
      const err = s.SSL_get_error(this.ssl, r);
      if (err === o.SSL_ERROR_WANT_WRITE || err === o.SSL_ERROR_WANT_READ) break;
      throw this.#fail(err, 'write');
    }
    return total;
  }

  /** Queues close_notify (once there is room for it: see wantsWrite). */
  close(): void {
    if (this.#error || !this.#handshakeDone) return;
    this.#shutdown();
  }

  #shutdown(): void {
    const s = this.#o;
    this.#pair();
    this.#blocked &= ~Blocked.Shutdown;
    // OpenSSL refuses to shut down while a KeyUpdate of ours is still being written (it is "in
    // init" until then): that one goes out first, the close_notify after it.
    if (this.#blocked & Blocked.KeyUpdate) {
      this.#blocked |= Blocked.Shutdown;
      return;
    }
    this.#outKnown = false;
    const r = s.SSL_shutdown(this.ssl);
    // 0 (close_notify queued) and 1 (both sent) are successes: no error was queued to drain.
    if (r >= 0) {
      this.#shutDown = true;
      return;
    }
    if (s.SSL_get_error(this.ssl, r) === o.SSL_ERROR_WANT_WRITE) this.#blocked |= Blocked.Shutdown;
    drainErrorQueue(s);
  }

  /**
   * Client, before the handshake starts (a connection's onOpen): sends `data` as TLS 1.3 early
   * data (0-RTT) with the ClientHello of a resumed session; the handshake then goes on as usual
   * and earlyDataStatus() says whether the server took it. False when OpenSSL refused (no
   * session to resume, a ticket without max_early_data, a libssl without early data).
   */
  writeEarlyData(data: Uint8Array): boolean {
    const s = this.#o;
    if (this.#error || this.#handshakeDone || !s.SSL_write_early_data) return false;
    this.#pair();
    this.#outKnown = false;
    const written = new BigUint64Array(1);
    if (s.SSL_write_early_data(this.ssl, data, data.length, written) === 1) return true;
    drainErrorQueue(s);
    return false;
  }

  /** After the handshake: 'accepted', 'rejected' or 'not-sent' (SSL_get_early_data_status). */
  earlyDataStatus(): 'accepted' | 'rejected' | 'not-sent' {
    const r = this.#o.SSL_get_early_data_status?.(this.ssl);
    return r === o.SSL_EARLY_DATA_ACCEPTED ? 'accepted' : r === o.SSL_EARLY_DATA_REJECTED ? 'rejected' : 'not-sent';
  }

  /**
   * TLS 1.2 client: starts a client-initiated renegotiation (the scan's CVE-2011-1473 check); its
   * ClientHello is then pending, and read() carries the new handshake on as records arrive.
   * False when OpenSSL will not start one (TLS 1.3, a server without RFC 5746).
   */
  renegotiate(): boolean {
    const s = this.#o;
    if (this.#error || !this.#handshakeDone || this.context.role !== 'client') return false;
    this.#pair();
    // The context turns renegotiation off for everything else (see context.ts).
    s.SSL_clear_options(this.ssl, o.SSL_OP_NO_RENEGOTIATION);
    this.#outKnown = false;
    if (s.SSL_renegotiate(this.ssl) !== 1) {
      drainErrorQueue(s);
      return false;
    }
    const r = s.SSL_do_handshake(this.ssl);
    if (r === 1) return true;
    const err = s.SSL_get_error(this.ssl, r);
    if (err === o.SSL_ERROR_WANT_READ || err === o.SSL_ERROR_WANT_WRITE) {
      this.#inDrained = false;
      return true;
    }
    throw this.#fail(err, 'renegotiate');
  }

  /** A renegotiation we started has not finished yet. */
  get renegotiating(): boolean {
    const s = this.#o;
    return (s.SSL_renegotiate_pending?.(this.ssl) ?? 0) === 1 || s.SSL_in_init(this.ssl) === 1;
  }

  /**
   * TLS 1.3: sends a KeyUpdate (new traffic keys for what we send); with `requestPeer` the peer
   * must answer with its own. Returns false on TLS 1.2 (which has none) or after an error.
   */
  keyUpdate(requestPeer: boolean): boolean {
    if (this.#error || !this.#handshakeDone || !this.isTls13()) return false;
    const s = this.#o;
    if (s.SSL_key_update(this.ssl, requestPeer ? o.SSL_KEY_UPDATE_REQUESTED : o.SSL_KEY_UPDATE_NOT_REQUESTED) !== 1) {
      drainErrorQueue(s);
      return false;
    }
    this.#pushKeyUpdate();
    return true;
  }

  // OpenSSL writes a KeyUpdate on the next SSL_write or SSL_do_handshake; do it now.
  #pushKeyUpdate(): void {
    const s = this.#o;
    this.#pair();
    this.#blocked &= ~Blocked.KeyUpdate;
    this.#outKnown = false;
    const r = s.SSL_do_handshake(this.ssl);
    if (r === 1) return;
    const err = s.SSL_get_error(this.ssl, r);
    if (err === o.SSL_ERROR_WANT_WRITE) this.#blocked |= Blocked.KeyUpdate;
    else if (err !== o.SSL_ERROR_WANT_READ) throw this.#fail(err, 'key update');
  }

  /**
   * Once the outgoing pair has room again: re-runs what stopped on WANT_WRITE outside handshake()
   * and read() (close_notify, a KeyUpdate). handshake() and read() the caller re-runs itself.
   */
  retryWrites(): void {
    if (this.#error) return;
    if (this.#blocked & Blocked.KeyUpdate) this.#pushKeyUpdate();
    if (this.#blocked & Blocked.Shutdown) this.#shutdown();
  }

  /**
   * Ends the session on purpose without a close_notify (the caller resets the connection). OpenSSL
   * frees a session that was never shut down as a "bad" one and marks its SSL_SESSION not
   * resumable (ssl_clear_bad_session); a quiet shutdown records a deliberate close instead, so the
   * session (or TLS 1.3 ticket) can still be resumed. Sends nothing.
   */
  abandon(): void {
    if (this.#error || !this.#handshakeDone) return;
    this.#blocked = 0;
    this.#o.SSL_set_quiet_shutdown(this.ssl, 1);
    this.#outKnown = false;
    if (this.#o.SSL_shutdown(this.ssl) >= 0) this.#shutDown = true;
    else drainErrorQueue(this.#o);
  }

  /**
   * What the handshake put on the wire, counted where the session finished it: every TLS record
   * (5-byte header included) OpenSSL consumed and produced until SSL_do_handshake returned 1.
   * Without read-ahead OpenSSL reads record by record, so nothing after the last handshake
   * record is counted. A TLS 1.3 server writes its NewSessionTickets in the same call that reads
   * the client's Finished (and nothing else then): that call's output is left out.
   */
  #countHandshakeBytes(sentBeforeLastCall: number): HandshakeBytes {
    const s = this.#o;
    const received = Number(s.BIO_number_read(this.#internal));
    this.#takenAtLeast = received;
    // All that came in was read by the handshake: the first read() after it need not ask OpenSSL.
    if (received === this.#fed) this.#inDrained = true;
    let sent = Number(s.BIO_number_written(this.#internal));
    if (this.context.role === 'server' && s.SSL_version(this.ssl) === o.TLS1_3_VERSION) sent = sentBeforeLastCall;
    return { sent, received };
  }

  /** Bytes of TLS records this side sent and received for the handshake (see #countHandshakeBytes); undefined until it completed. */
  handshakeBytes(): HandshakeBytes | undefined {
    return this.#handshakeBytes;
  }

  #fail(err: number, op: string): TlsError {
    const s = this.#o;
    let e: TlsError;
    if (err === o.SSL_ERROR_SSL) {
      e = tlsErrorFromQueue(s, op === 'handshake' ? 'handshake failed' : `TLS ${op} failed`, 'protocol error');
      const v = Number(s.SSL_get_verify_result(this.ssl));
      if (e.sslReason === 'certificate verify failed' && v !== o.X509_V_OK) {
        const why = s.X509_verify_cert_error_string(v);
        e = new TlsError(`certificate verify failed: ${why}`, e.sslReason, alertFromReason(e.sslReason), why);
      }
    } else if (err === o.SSL_ERROR_SYSCALL) {
      drainErrorQueue(s);
      e = new TlsError(`TLS ${op} failed: unexpected end of stream`, 'unexpected eof');
      e.reason = 'eof';
    } else {
      drainErrorQueue(s);
      e = new TlsError(`TLS ${op} failed: SSL_get_error ${err}`, `ssl error ${err}`);
    }
    this.#error = e;
    this.#blocked = 0;
    return e;
  }

  // --- what was negotiated
  info(): NegotiatedInfo {
    const s = this.#o;
    const cipher = s.SSL_get_current_cipher(this.ssl);
    const sigHash = new Int32Array(1);
    const sigType = new Int32Array(1);
    const hasHash = Number(s.SSL_ctrl(this.ssl, o.SSL_CTRL_GET_PEER_SIGNATURE_NID, 0, sigHash)) > 0;
    const hasType = s.SSL_get_peer_signature_type_nid(this.ssl, sigType) > 0;
    const alpnPtr = new BigUint64Array(1);
    const alpnLen = new Uint32Array(1);
    s.SSL_get0_alpn_selected(this.ssl, alpnPtr, alpnLen);
    let alpn: string | undefined;
    if (alpnLen[0] > 0) alpn = Buffer.from(nativeMemory(alpnPtr[0], alpnLen[0])).toString('latin1');
    const sni = s.SSL_get_servername(this.ssl, o.TLSEXT_NAMETYPE_host_name) as string | null;
    return {
      protocol: s.SSL_get_version(this.ssl),
      cipher: cipher ? s.SSL_CIPHER_get_name(cipher) : undefined,
      group: negotiatedGroup(s, this.ssl),
      peerSignatureType: hasType ? signatureAlgorithmName(s, sigType[0]) : undefined,
      peerSignatureDigest: hasHash ? s.OBJ_nid2sn(sigHash[0]) : undefined,
      alpn,
      servername: sni ?? undefined,
      resumed: s.SSL_session_reused(this.ssl) === 1,
    };
  }

  /** The peer's certificate chain as DER, leaf first (as sent). */
  peerChainDer(): Buffer[] {
    const s = this.#o;
    const out: Buffer[] = [];
    const stack = s.SSL_get_peer_cert_chain(this.ssl);
    if (stack) {
      const n = s.OPENSSL_sk_num(stack);
      for (let i = 0; i < n; i++) out.push(x509Der(s, s.OPENSSL_sk_value(stack, i)));
    }
    // A server never sees the client's leaf in SSL_get_peer_cert_chain.
    if (this.context.role === 'server') {
      const leaf = s.SSL_get1_peer_certificate(this.ssl);
      if (leaf) {
        out.unshift(x509Der(s, leaf));
        s.X509_free(leaf);
      }
    }
    return out;
  }

  /** The key type of each chain certificate, by position, as OpenSSL names it ('EC', 'RSA', 'ED25519', 'ML-DSA-65'...). */
  peerChainKeyTypes(): string[] {
    const s = this.#o;
    const stack = s.SSL_get_peer_cert_chain(this.ssl);
    if (!stack) return [];
    const out: string[] = [];
    for (let i = 0; i < s.OPENSSL_sk_num(stack); i++) {
      const key = s.X509_get0_pubkey(s.OPENSSL_sk_value(stack, i));
      out.push(key ? (s.EVP_PKEY_get0_type_name(key) ?? 'unknown') : 'unknown');
    }
    return out;
  }

  /** The signature algorithm of each chain certificate, by position. */
  peerChainSignatureAlgorithms(): string[] {
    const s = this.#o;
    const stack = s.SSL_get_peer_cert_chain(this.ssl);
    if (!stack) return [];
    const n = s.OPENSSL_sk_num(stack);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(s.OBJ_nid2ln(s.X509_get_signature_nid(s.OPENSSL_sk_value(stack, i))));
    return out;
  }

  /** The key exchange group's name (fewer calls than info()), or undefined when there was none (see negotiatedGroup). */
  group(): string | undefined {
    return negotiatedGroup(this.#o, this.ssl);
  }

  /** The ALPN protocol selected (one call, cheaper than info()), or undefined when none was. */
  alpn(): string | undefined {
    const s = this.#o;
    const ptr = new BigUint64Array(1);
    const len = new Uint32Array(1);
    s.SSL_get0_alpn_selected(this.ssl, ptr, len);
    return len[0] > 0 ? Buffer.from(nativeMemory(ptr[0], len[0])).toString('latin1') : undefined;
  }

  /** Whether TLS 1.3 was negotiated (one call, cheaper than info(); none more once the handshake is done). */
  isTls13(): boolean {
    if (this.#tls13 !== undefined) return this.#tls13;
    // A resumed handshake negotiated the version of the session it resumed.
    if (this.#handshakeDone && this.#resumeTls13 !== undefined && this.resumed()) return (this.#tls13 = this.#resumeTls13);
    const v = this.#o.SSL_version(this.ssl) === o.TLS1_3_VERSION;
    // Settled once the handshake is: a bench asks several times per connection.
    if (this.#handshakeDone) this.#tls13 = v;
    return v;
  }

  /** Whether this handshake resumed a session (one call, cheaper than info(); none more once the handshake is done). */
  resumed(): boolean {
    if (this.#resumed !== undefined) return this.#resumed;
    const r = this.#o.SSL_session_reused(this.ssl) === 1;
    if (this.#handshakeDone) this.#resumed = r;
    return r;
  }

  verifyResult(): { ok: boolean; message: string } {
    // A context that neither verifies nor reports skips the chain check (see context.ts): nothing to tell.
    if (this.context.role === 'client' && !this.context.trust) return { ok: false, message: 'not verified (verification off)' };
    const v = Number(this.#o.SSL_get_verify_result(this.ssl));
    return { ok: v === o.X509_V_OK, message: this.#o.X509_verify_cert_error_string(v) };
  }

  free(): void {
    if (this.#freed) return;
    if (this.context.role === 'client') onNewSession(this.ssl, undefined);
    // A connection that ends without close_notify after a good handshake (a reset, a timeout):
    // SSL_free would remove its session from the cache as "bad" (ssl_clear_bad_session), so a
    // client that resets after its handshake could never resume by session ID. TLS 1.2 no longer
    // asks for that (RFC 5246 §7.2.1) and nginx keeps such sessions (a quiet shutdown); so do we,
    // unless TLS itself failed.
    // (SSL_shutdown having run already set SSL_SENT_SHUTDOWN, which is what spares the session.)
    if (this.#handshakeDone && !this.#error && !this.#shutDown) this.#o.SSL_set_shutdown(this.ssl, o.SSL_SENT_SHUTDOWN | o.SSL_RECEIVED_SHUTDOWN);
    this.#freed = true;
    if (this.#paired) {
      pairMemory.paired--;
      pairMemory.bytes -= 2 * this.#size;
      pairMemory.freedBytes += 2 * this.#size;
    }
    pairMemory.sessions--;
    this.#o.SSL_free(this.ssl); // frees the internal BIO too
    this.#o.BIO_free(this.net);
  }
}

/** BIO_s_bio()'s method table (static in libcrypto): asked once per thread, not per session. */
let bioMethod = 0n;

/** Out-pointer scratch for BIO_nread0/BIO_nread (filled and read within one call; one per thread). */
const scratch = new BigUint64Array(1);

/** How much of `len` plaintext bytes surely fits, as records, in `space` bytes of the outgoing pair. */
/**
 * Bytes every record adds to its plaintext under the session's suite, at least: TLS 1.3's AEADs
 * with 16-byte tags 5 + 1 + 16 (header, inner content type, tag), TLS 1.2's GCM 5 + 8 + 16
 * (explicit nonce) and ChaCha20-Poly1305 5 + 16; 0 for any other suite (CCM_8, CBC: no bound used).
 */
function recordOverhead(s: o.OpenSSL, ssl: bigint): number {
  const c = s.SSL_get_current_cipher(ssl);
  const name: string | null = c ? s.SSL_CIPHER_get_name(c) : null;
  if (name === 'TLS_AES_128_GCM_SHA256' || name === 'TLS_AES_256_GCM_SHA384' || name === 'TLS_CHACHA20_POLY1305_SHA256') return 22;
  if (!name || name.startsWith('TLS_') || name.includes('CCM')) return 0;
  if (name.endsWith('-GCM-SHA256') || name.endsWith('-GCM-SHA384')) return 29;
  if (name.endsWith('-CHACHA20-POLY1305')) return 21;
  return 0;
}

function fits(space: number, len: number): number {
  let n = 0;
  while (n < len && space > RECORD_OVERHEAD) {
    const r = Math.min(MAX_RECORD, space - RECORD_OVERHEAD, len - n);
    n += r;
    space -= r + RECORD_OVERHEAD;
  }
  return n;
}

/** TLS record bytes (headers included) of one handshake, from one side's point of view. */
export interface HandshakeBytes {
  sent: number;
  received: number;
}

export interface NegotiatedInfo {
  protocol: string;
  cipher?: string;
  group?: string;
  peerSignatureType?: string;
  peerSignatureDigest?: string;
  alpn?: string;
  servername?: string;
  resumed: boolean;
}

// OBJ_nid2sn names the post-quantum signatures 'id-ml-dsa-65', 'id-slh-dsa-...' (their OIDs'
// names); their long names are the algorithm names people use ('ML-DSA-65').
function signatureAlgorithmName(s: o.OpenSSL, nid: number): string {
  const sn = s.OBJ_nid2sn(nid) as string;
  return sn.startsWith('id-') ? (s.OBJ_nid2ln(nid) as string) : sn;
}

function x509Der(s: o.OpenSSL, x: bigint): Buffer {
  const len = s.i2d_X509(x, null);
  const buf = Buffer.alloc(len);
  // i2d advances the pointer it is given; hand it a scratch slot holding the buffer's address.
  s.i2d_X509(x, new BigUint64Array([addressOf(buf)]));
  return buf;
}
