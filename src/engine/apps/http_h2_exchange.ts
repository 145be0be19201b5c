// bench http over HTTP/2: one H2ClientSession (the sans-I/O codec in http/h2/) per connection,
// up to --streams requests in flight as streams. The session's output goes to the TLS connection
// once per loop turn, after every completion of the turn is handled: the requests that all the
// responses of a receive refilled (and the WINDOW_UPDATEs, SETTINGS and PING ACKs) leave in one
// TLS write, not one per response (nginx sends about one response per TLS record).
//
// Requests the load sends while the session is inside receive() (a response ended and the load
// refills at once) wait until receive() returns: the codec is never re-entered from its own events.
import type { Connection } from '../connection';
import { H2ClientEvents, H2ClientSession, H2RequestHead } from '../http/h2/client_session';
import { errorName } from '../http/h2/frames';
import type { ExchangeSink, H2ExchangeSpec, HttpExchange, PendingRequest } from './http_exchange';
import { WriteQueue } from './write_queue';

/** Receive window per stream and for the connection: large responses flow without waiting for WINDOW_UPDATEs (h2load's default is 2^30 - 1 for the connection). */
const WINDOW = 16 * 1024 * 1024 - 1;

export class H2Exchange implements HttpExchange, H2ClientEvents {
  readonly #s: H2ClientSession;
  readonly #heads: H2RequestHead[];
  readonly #body: Buffer | undefined;
  readonly #writes = new WriteQueue();
  #reqs = new Map<number, PendingRequest>();
  #deferred: Array<[PendingRequest, number]> = [];
  #receiving = false;
  #closing = false;
  #failed = false;
  #view: Buffer = Buffer.alloc(0);
  /** A flush is deferred to the end of the loop's turn. */
  #flushDue = false;
  readonly #flushNow = (): void => {
    this.#flushDue = false;
    this.#write();
  };

  constructor(
    readonly conn: Connection,
    readonly sink: ExchangeSink,
    readonly spec: H2ExchangeSpec
  ) {
    this.#s = new H2ClientSession(this, { initialWindowSize: WINDOW });
    this.#heads = spec.paths.map((path) => ({ method: spec.method, path, authority: spec.authority, scheme: 'https', headers: spec.headers.filter(([k]) => !HOP_BY_HOP.has(k.toLowerCase())) }));
    this.#body = spec.body && spec.body.length ? Buffer.from(spec.body) : undefined;
    this.#s.start();
    this.flush();
  }

  get inFlight(): number {
    return this.#reqs.size + this.#deferred.length;
  }

  get accepting(): boolean {
    if (this.#closing || this.#failed || !this.conn.open) return false;
    const open = this.inFlight;
    return open < this.spec.streams && open < this.#s.peerMaxConcurrentStreams && (this.#receiving || this.#s.canOpenStream());
  }

  send(r: PendingRequest, path: number): void {
    if (this.#receiving) {
      this.#deferred.push([r, path]);
      return;
    }
    this.#open(r, path);
  }

  #open(r: PendingRequest, path: number): void {
    if (!this.#s.canOpenStream()) {
      // The server went away (or lowered its stream limit) in the same read: this request never left.
      this.sink.onRequestFailed(r, this.#s.goingAway ? 'h2: GOAWAY' : 'h2: stream limit');
      return;
    }
    const id = this.#s.request(this.#heads[path], this.#body);
    this.#reqs.set(id, r);
  }

  /** Hands the session's output to the connection once this turn's completions are handled. */
  flush(): void {
    if (this.#flushDue) return;
    this.#flushDue = true;
    this.sink.defer(this.#flushNow);
  }

  #write(): void {
    const out = this.#s.takeOutput();
    if (out && this.conn.open) this.sink.onSent(this.#writes.write(this.conn, out, undefined, true));
  }

  drain(): void {
    this.sink.onSent(this.#writes.drain(this.conn));
    // DATA held back by a full session buffer (a large request body) goes on.
    this.flush();
  }

  receive(data: Uint8Array): void {
    this.#receiving = true;
    try {
      this.#s.receive(this.#asBuffer(data));
    } finally {
      this.#receiving = false;
    }
    if (this.#deferred.length) {
      const d = this.#deferred;
      this.#deferred = [];
      for (const [r, path] of d) this.#open(r, path);
    }
    this.flush();
  }

  /** data as a Buffer (the codec reads it with Buffer methods): the last one again when it views the same bytes (the loop's scratch, records of one size). */
  #asBuffer(data: Uint8Array): Buffer {
    const last = this.#view;
    if (last.buffer === data.buffer && last.byteOffset === data.byteOffset && last.length === data.length) return last;
    return (this.#view = Buffer.from(data.buffer, data.byteOffset, data.length));
  }

  peerClosed(): string | undefined {
    return this.inFlight > 0 ? 'h2: connection closed with streams open' : undefined;
  }

  takeLost(): PendingRequest[] {
    const lost = [...this.#reqs.values(), ...this.#deferred.map(([r]) => r)];
    this.#reqs.clear();
    this.#deferred = [];
    return lost;
  }

  // --- the session's events
  onResponseHeaders(streamId: number, status: number, headerBytes: number): void {
    const r = this.#reqs.get(streamId);
    if (!r) return;
    r.status = status;
    this.sink.onResponseHead(r, status, headerBytes);
  }

  onData(_streamId: number, bytes: number): void {
    this.sink.onResponseBody(bytes);
  }

  onStreamEnd(streamId: number): void {
    const r = this.#reqs.get(streamId);
    if (!r) return;
    this.#reqs.delete(streamId);
    this.sink.onResponseDone(r);
  }

  onStreamReset(streamId: number, code: number): void {
    const r = this.#reqs.get(streamId);
    if (!r) return;
    this.#reqs.delete(streamId);
    this.sink.onRequestFailed(r, `h2: RST_STREAM ${errorName(code)}`);
  }

  onGoaway(lastStreamId: number, code: number): void {
    this.#closing = true;
    // Streams above lastStreamId were never processed: they fail; those below may still complete.
    for (const [id, r] of [...this.#reqs]) {
      if (id <= lastStreamId) continue;
      this.#reqs.delete(id);
      this.sink.onRequestFailed(r, `h2: GOAWAY ${errorName(code)}`);
    }
    for (const [r] of this.#deferred) this.sink.onRequestFailed(r, `h2: GOAWAY ${errorName(code)}`);
    this.#deferred = [];
    this.sink.onNoMoreRequests();
  }

  onConnectionError(message: string, code: number): void {
    this.#failed = true;
    // The GOAWAY goes out first (now: the error closes the connection after it).
    this.#write();
    this.sink.onFatal(`h2: ${errorName(code)}: ${message}`);
  }
}

/** Connection-specific headers HTTP/2 forbids (RFC 9113 8.2.2); --header may carry them for HTTP/1.1. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

export function h2Exchange(conn: Connection, sink: ExchangeSink, spec: H2ExchangeSpec): HttpExchange {
  return new H2Exchange(conn, sink, spec);
}
