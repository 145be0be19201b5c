// http: a minimal HTTP/1.1 responder. GET (and HEAD) of any path answers 200 with a body of
// bodySize bytes; HTTP/1.1 keeps the connection alive unless the client says close, HTTP/1.0
// closes after one response (close_notify, then close) unless it asked for keep-alive.
// Enough for curl, wrk, h2load, ab, scanners and `printf ... | openssl s_client`.
//
// Bounded whatever the client does:
// - a request head larger than MAX_HEADER gets 431; one that is not complete within the header
//   timeout (counted from the handshake or the previous request, like nginx's
//   client_header_timeout) gets 408; either way the connection then closes. A connection with no
//   byte of a next request when the timeout passes is closed quietly (an idle keep-alive).
// - pipelined requests are answered in order, one at a time: while a response is still queued
//   (the client is not reading), no more requests are parsed and no more bytes are read, so the
//   input held is at most one receive plus one head; and a queued response is a reference to the
//   prepared, immutable response buffer, never a copy of it.
import type { Connection } from '../connection';
import type { IocptlsError } from '../errors';
import { Deadline } from './deadline_queue';
import { findHeadEnd, parseRequestHead, RequestHead, skipEmptyLines } from './http_request';
import { ServerApp, ServerAppOptions } from './server_app';
import { WriteQueue } from './write_queue';

/** Largest request head (request line + headers), bytes. nginx's default allows 1 KiB, or 4 × 8 KiB with large_client_header_buffers. */
export const MAX_HEADER = 16 * 1024;
/** Default request header timeout: nginx's client_header_timeout. */
export const DEFAULT_HEADER_TIMEOUT_MS = 60_000;
/** An input buffer larger than this is dropped once empty (an idle connection holds none). */
const KEEP_INPUT = 4096;

interface Responses {
  keepAlive11: Buffer;
  close11: Buffer;
  keepAlive10: Buffer;
  close10: Buffer;
  headKeepAlive: Buffer;
  headClose: Buffer;
}

function response(status: string, body: Buffer, extra: string, head = false): Buffer {
  const h = `HTTP/1.1 ${status}\r\nServer: iocptls\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${extra}\r\n`;
  return head ? Buffer.from(h) : Buffer.concat([Buffer.from(h), body]);
}

function responsesFor(bodySize: number): Responses {
  const body = Buffer.alloc(bodySize, 'ok');
  return {
    keepAlive11: response('200 OK', body, ''),
    close11: response('200 OK', body, 'Connection: close\r\n'),
    keepAlive10: response('200 OK', body, 'Connection: keep-alive\r\n'),
    close10: response('200 OK', body, 'Connection: close\r\n'),
    headKeepAlive: response('200 OK', body, '', true),
    headClose: response('200 OK', body, 'Connection: close\r\n', true),
  };
}

// Prepared once per worker and body size, shared by every connection (queued by reference).
const cache = new Map<number, Responses>();
const BAD_REQUEST = response('400 Bad Request', Buffer.from('bad request\n'), 'Connection: close\r\n');
const TIMEOUT = response('408 Request Timeout', Buffer.from('request header timeout\n'), 'Connection: close\r\n');
const TOO_LARGE = response('431 Request Header Fields Too Large', Buffer.from('header too large\n'), 'Connection: close\r\n');
const NOT_ALLOWED = response('405 Method Not Allowed', Buffer.from('method not allowed\n'), 'Allow: GET, HEAD\r\n');
const NOT_IMPLEMENTED = response('501 Not Implemented', Buffer.from('chunked request bodies are not supported\n'), 'Connection: close\r\n');

export class HttpApp extends ServerApp {
  #queue = new WriteQueue();
  /** Request bytes received and not yet parsed: #in[#start..#end). */
  #in: Buffer | undefined;
  #start = 0;
  #end = 0;
  /** Bytes at #start already searched for the end of the head (a slow head is not rescanned from its start). */
  #scanned = 0;
  /** Request body bytes still to skip. */
  #skip = 0;
  #closing = false;
  #r: Responses;
  #deadline: Deadline | undefined;

  constructor(o: ServerAppOptions) {
    super(o);
    let r = cache.get(o.bodySize);
    if (!r) cache.set(o.bodySize, (r = responsesFor(o.bodySize)));
    this.#r = r;
  }

  override onHandshake(conn: Connection): void {
    super.onHandshake(conn);
    if (this.o.deadlines) this.#deadline = new Deadline(() => this.#onTimeout(conn));
    this.#arm();
  }

  override onData(conn: Connection, data: Uint8Array, _ptr: bigint, len: number): void {
    this.o.counters.bytesIn += len;
    if (this.#closing) return;
    this.#append(data);
    this.#process(conn);
  }

  onDrain(conn: Connection): void {
    // Not `bytesOut += drain()` in one go with the rest: #process and resume can run onData.
    this.o.counters.bytesOut += this.#queue.drain(conn, false);
    if (!this.#queue.empty || !conn.open) return;
    if (this.#closing) return conn.close('notify');
    // The requests that waited while the responses went out, then reading again.
    this.#process(conn);
    if (this.#queue.empty && !this.#closing && conn.paused) conn.resume();
  }

  override onClose(conn: Connection, error: IocptlsError | undefined): void {
    this.#disarm();
    // Counted before the input is dropped: a reset with part of a request read cut that request.
    super.onClose(conn, error);
    this.#in = undefined;
  }

  /** Part of a request (head or body) is read, or a response is still queued. */
  protected override exchangeInFlight(): boolean {
    return (this.#in !== undefined && this.#end > this.#start) || this.#skip > 0 || !this.#queue.empty;
  }

  /** Answers complete requests from the input, in order, until one is incomplete or a response is queued. */
  #process(conn: Connection): void {
    while (!this.#closing && conn.open) {
      if (!this.#queue.empty) {
        // Backpressure: the client is not reading its responses, so stop reading its requests.
        this.#disarm();
        conn.pause();
        return;
      }
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, this.#end - this.#start);
        this.#consume(n);
        this.#skip -= n;
        if (this.#skip > 0) {
          // A body that keeps coming keeps the connection: the timeout runs between its reads.
          this.#disarm();
          this.#arm();
          return;
        }
      }
      const buf = this.#in;
      if (!buf || this.#start === this.#end) return this.#arm();
      if (this.#scanned === 0) this.#consume(skipEmptyLines(buf, this.#start, this.#end));
      const avail = this.#end - this.#start;
      if (avail === 0) return this.#arm();
      const end = findHeadEnd(buf, this.#start + Math.max(0, this.#scanned - 2), this.#end);
      if (end < 0) {
        if (avail > MAX_HEADER) return this.#reject(conn, TOO_LARGE, 'http: 431 request header too large');
        this.#scanned = avail;
        return this.#arm();
      }
      if (end - this.#start > MAX_HEADER) return this.#reject(conn, TOO_LARGE, 'http: 431 request header too large');
      const text = buf.toString('latin1', this.#start, end);
      this.#consume(end - this.#start);
      this.#disarm();
      const parsed = parseRequestHead(text);
      if (!parsed.ok) return this.#reject(conn, BAD_REQUEST, 'http: 400 bad request');
      this.#answer(conn, parsed.head);
    }
  }

  #answer(conn: Connection, h: RequestHead): void {
    // Without chunked decoding the end of such a body cannot be found: refuse and close.
    if (h.chunked) return this.#reject(conn, NOT_IMPLEMENTED, 'http: 501 chunked request body');
    this.#skip = h.contentLength;
    const r = this.#r;
    if (h.method !== 'GET' && h.method !== 'HEAD') return this.#send(conn, NOT_ALLOWED);
    if (h.method === 'HEAD') return h.keepAlive ? this.#send(conn, r.headKeepAlive) : this.#finish(conn, r.headClose);
    if (h.keepAlive) return this.#send(conn, h.minor === 1 ? r.keepAlive11 : r.keepAlive10);
    this.#finish(conn, h.minor === 1 ? r.close11 : r.close10);
  }

  /** One response = one request answered (also the last one before a close, and 4xx). */
  #send(conn: Connection, b: Buffer): void {
    this.o.counters.roundTrips++;
    // bytesOut counts what the session took, so a client that leaves early is not over-counted.
    this.o.counters.bytesOut += this.#queue.write(conn, b, undefined, true);
  }

  /** Last response: then close_notify and close once it is all out. */
  #finish(conn: Connection, b: Buffer): void {
    this.#closing = true;
    this.#disarm();
    this.#in = undefined;
    this.#send(conn, b);
    if (this.#queue.empty) conn.close('notify');
  }

  /** An error response that ends the connection, counted by reason in the server's errors. */
  #reject(conn: Connection, b: Buffer, reason: string): void {
    this.o.counters.error(reason);
    this.#finish(conn, b);
  }

  #onTimeout(conn: Connection): void {
    if (this.#closing || !conn.open) return;
    if (this.#end > this.#start || this.#skip > 0) return this.#reject(conn, TIMEOUT, 'http: 408 request header timeout');
    conn.close('notify');
  }

  #arm(): void {
    if (this.#deadline) this.o.deadlines!.arm(this.#deadline);
  }

  #disarm(): void {
    if (this.#deadline) this.o.deadlines!.disarm(this.#deadline);
  }

  #append(data: Uint8Array): void {
    const n = data.length;
    let buf = this.#in;
    if (!buf || this.#end + n > buf.length) {
      const live = this.#end - this.#start;
      if (buf && live + n <= buf.length) {
        buf.copy(buf, 0, this.#start, this.#end);
      } else {
        const grown = Buffer.allocUnsafe(Math.max(live + n, buf ? buf.length * 2 : 0, 1024));
        if (buf) buf.copy(grown, 0, this.#start, this.#end);
        this.#in = buf = grown;
      }
      this.#start = 0;
      this.#end = live;
    }
    buf.set(data, this.#end);
    this.#end += n;
  }

  #consume(n: number): void {
    this.#start += n;
    this.#scanned = 0;
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      if (this.#in && this.#in.length > KEEP_INPUT) this.#in = undefined;
    }
  }
}
