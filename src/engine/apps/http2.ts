// http2: the HTTP/2 responder of `serve --mode http`, for connections that chose h2 by ALPN.
// GET (and HEAD) of any path answers 200 with a body of bodySize bytes and its content-length;
// other methods get 405. The protocol is the sans-I/O H2ServerSession; this app moves its bytes.
//
// Bounded whatever the client does:
// - MAX_CONCURRENT_STREAMS 128: streams beyond are refused; a response body is a reference to the
//   prepared body shared by every connection, sent only as far as the client's windows allow.
// - what the session writes goes out before more of the client's bytes are read: while
//   conn.write takes less than we have, reads pause (so PINGs and SETTINGS cannot pile up
//   answers), and resume once it is all out.
// - the header timeout: from the handshake, each completed request and each write that moved
//   bytes; when it passes without any (an idle connection, or streams stalled on a window that
//   never opens), GOAWAY and close_notify. Streams still open then count as an error. A client
//   that does not read even that gets one more timeout, then a reset.
// - a protocol error: the session queues a GOAWAY with its code; it goes out, then the connection
//   closes; counted as `http2: <CODE>`.
import type { Connection } from '../connection';
import type { IocptlsError } from '../errors';
import { errorName } from '../http/h2/frames';
import { H2ServerEvents, H2ServerSession } from '../http/h2/server_session';
import { Deadline } from './deadline_queue';
import { ServerApp, ServerAppOptions } from './server_app';

export const H2_MAX_STREAMS = 128;
/** Output taken from the session at a time: a large body goes out in pieces as writes drain, not as one copy. */
const OUTPUT_BUDGET = 256 * 1024;

interface Prepared {
  body: Buffer;
  headers: ReadonlyArray<readonly [string, string]>;
}
// Prepared once per worker and body size, shared by every connection.
const cache = new Map<number, Prepared>();
const NOT_ALLOWED = Buffer.from('method not allowed\n');
const NOT_ALLOWED_HEADERS = [
  ['server', 'iocptls'],
  ['content-type', 'text/plain'],
  ['content-length', String(NOT_ALLOWED.length)],
  ['allow', 'GET, HEAD'],
] as const;

function prepared(bodySize: number): Prepared {
  let p = cache.get(bodySize);
  if (!p) {
    p = {
      body: Buffer.alloc(bodySize, 'ok'),
      headers: [
        ['server', 'iocptls'],
        ['content-type', 'text/plain'],
        ['content-length', String(bodySize)],
      ],
    };
    cache.set(bodySize, p);
  }
  return p;
}

export class Http2App extends ServerApp implements H2ServerEvents {
  readonly #session: H2ServerSession;
  readonly #p: Prepared;
  /** Output taken from the session that conn.write has not taken yet. */
  #pending: Buffer | null = null;
  #closing = false;
  #conn: Connection | undefined;
  #deadline: Deadline | undefined;

  constructor(o: ServerAppOptions) {
    super(o);
    this.#p = prepared(o.bodySize);
    this.#session = new H2ServerSession(this, { maxConcurrentStreams: H2_MAX_STREAMS });
  }

  override onHandshake(conn: Connection): void {
    super.onHandshake(conn);
    this.#conn = conn;
    if (this.o.deadlines) this.#deadline = new Deadline(() => this.#onTimeout());
    this.#rearm();
    this.#session.start();
    this.#flush(conn);
  }

  override onData(conn: Connection, data: Uint8Array, _ptr: bigint, len: number): void {
    this.o.counters.bytesIn += len;
    if (this.#closing) return;
    // A view, not a copy: the session copies only a partial frame it must keep.
    this.#session.receive(Buffer.from(data.buffer, data.byteOffset, len));
    this.#flush(conn);
  }

  onDrain(conn: Connection): void {
    this.#flush(conn);
  }

  override onClose(conn: Connection, error: IocptlsError | undefined): void {
    if (this.#deadline) this.o.deadlines!.disarm(this.#deadline);
    super.onClose(conn, error);
    this.#pending = null;
  }

  protected override exchangeInFlight(): boolean {
    return this.#session.openStreams > 0 || this.#pending !== null;
  }

  // ---- session events ----

  onRequest(streamId: number, method: string): void {
    this.o.counters.roundTrips++;
    this.#rearm();
    const p = this.#p;
    if (method === 'GET') this.#session.respond(streamId, 200, p.headers, p.body);
    else if (method === 'HEAD') this.#session.respond(streamId, 200, p.headers, null);
    else this.#session.respond(streamId, 405, NOT_ALLOWED_HEADERS, NOT_ALLOWED);
  }

  onConnectionError(_message: string, code: number): void {
    this.o.counters.error(`http2: ${errorName(code)}`);
    this.#closing = true;
    // The GOAWAY gets one more timeout to go out.
    this.#rearm();
  }

  // ---- output ----

  /** Writes what the session has, as far as the connection takes it; pauses reads while it does not. */
  #flush(conn: Connection): void {
    while (conn.open) {
      let out = this.#pending;
      if (!out) {
        out = this.#session.takeOutput(OUTPUT_BUDGET);
        if (!out) break;
      }
      const n = conn.write(out, out.length);
      this.o.counters.bytesOut += n;
      // Bytes going out (a body crossing a window the client opens) is progress too.
      if (n > 0 && !this.#closing) this.#rearm();
      if (n < out.length) {
        this.#pending = out.subarray(n);
        conn.pause();
        return;
      }
      this.#pending = null;
    }
    if (!conn.open) return;
    if (this.#closing) return conn.close('notify');
    if (conn.paused) conn.resume();
  }

  #rearm(): void {
    const d = this.#deadline;
    if (!d) return;
    this.o.deadlines!.disarm(d);
    this.o.deadlines!.arm(d);
  }

  #onTimeout(): void {
    const conn = this.#conn;
    if (!conn || !conn.open) return;
    // A client that did not take our GOAWAY within another timeout: give up on it.
    if (this.#closing) return conn.close('rst');
    if (this.#session.openStreams > 0) this.o.counters.error('http2: timeout with streams open');
    this.#session.goaway();
    this.#closing = true;
    this.#flush(conn);
    if (conn.open) this.#rearm();
  }
}
