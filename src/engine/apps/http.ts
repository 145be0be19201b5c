// http: a minimal HTTP/1.1 responder. GET (and HEAD) of any path answers 200 with a body of
// bodySize bytes; HTTP/1.1 keeps the connection alive unless the client says close, HTTP/1.0
// closes after one response (close_notify, then close) unless it asked for keep-alive.
// Pipelined requests are answered in order. Enough for curl, wrk, h2load, ab and scanners.
import type { Connection } from '../connection';
import { ServerApp, ServerAppOptions } from './server_app';
import { WriteQueue } from './write_queue';

const MAX_HEADER = 16 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

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

const cache = new Map<number, Responses>();
const BAD_REQUEST = response('400 Bad Request', Buffer.from('bad request\n'), 'Connection: close\r\n');
const TOO_LARGE = response('431 Request Header Fields Too Large', Buffer.from('header too large\n'), 'Connection: close\r\n');
const NOT_ALLOWED = response('405 Method Not Allowed', Buffer.from('method not allowed\n'), 'Allow: GET, HEAD\r\n');

export class HttpApp extends ServerApp {
  #queue = new WriteQueue();
  #buf: Buffer | undefined;
  /** Request body bytes still to skip. */
  #skip = 0;
  #closing = false;
  #r: Responses;

  constructor(o: ServerAppOptions) {
    super(o);
    let r = cache.get(o.bodySize);
    if (!r) cache.set(o.bodySize, (r = responsesFor(o.bodySize)));
    this.#r = r;
  }

  override onData(conn: Connection, data: Uint8Array, _ptr: bigint, len: number): void {
    this.o.counters.bytesIn += len;
    if (this.#closing) return;
    let input = this.#buf ? Buffer.concat([this.#buf, data]) : Buffer.from(data.buffer, data.byteOffset, data.length);
    this.#buf = undefined;
    for (;;) {
      if (this.#skip) {
        const n = Math.min(this.#skip, input.length);
        this.#skip -= n;
        input = input.subarray(n);
      }
      if (input.length === 0) return;
      const end = input.indexOf(CRLFCRLF);
      if (end < 0) {
        if (input.length > MAX_HEADER) return this.#finish(conn, TOO_LARGE);
        this.#buf = Buffer.from(input); // keep a copy: `data` is the loop's scratch
        return;
      }
      const head = input.subarray(0, end).toString('latin1');
      input = input.subarray(end + 4);
      if (!this.#answer(conn, head)) return;
    }
  }

  /** Answers one request head; false when the connection is closing. */
  #answer(conn: Connection, head: string): boolean {
    const lines = head.split('\r\n');
    const m = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(lines[0]);
    if (!m) {
      this.#finish(conn, BAD_REQUEST);
      return false;
    }
    const [, method, , minor] = m;
    let connection = '';
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i];
      const c = l.indexOf(':');
      if (c <= 0) {
        this.#finish(conn, BAD_REQUEST);
        return false;
      }
      const name = l.slice(0, c).toLowerCase();
      if (name === 'connection') connection = l.slice(c + 1).trim().toLowerCase();
      else if (name === 'content-length') this.#skip = Number(l.slice(c + 1).trim()) || 0;
      else if (name === 'transfer-encoding') {
        // Chunked request bodies are not worth parsing in a benchmark responder.
        this.#finish(conn, BAD_REQUEST);
        return false;
      }
    }
    const keepAlive = minor === '1' ? connection !== 'close' : connection === 'keep-alive';
    const r = this.#r;
    if (method !== 'GET' && method !== 'HEAD') {
      this.#send(conn, NOT_ALLOWED);
      return true;
    }
    if (method === 'HEAD') {
      if (keepAlive) this.#send(conn, r.headKeepAlive);
      else this.#finish(conn, r.headClose);
      return keepAlive;
    }
    if (keepAlive) {
      this.#send(conn, minor === '1' ? r.keepAlive11 : r.keepAlive10);
      return true;
    }
    this.#finish(conn, minor === '1' ? r.close11 : r.close10);
    return false;
  }

  /** One response = one request answered (also the last one before a close, and 4xx). */
  #send(conn: Connection, b: Buffer): void {
    this.o.counters.roundTrips++;
    // bytesOut counts what the session took, so a client that leaves early is not over-counted.
    this.o.counters.bytesOut += this.#queue.write(conn, b);
  }

  /** Last response: then close_notify and close once it is all out. */
  #finish(conn: Connection, b: Buffer): void {
    this.#closing = true;
    this.#send(conn, b);
    if (this.#queue.empty) conn.close('notify');
  }

  onDrain(conn: Connection): void {
    // Not `bytesOut += drain()`: drain resumes reads, so onData runs (and counts) inside the call.
    const n = this.#queue.drain(conn);
    this.o.counters.bytesOut += n;
    if (this.#closing && this.#queue.empty) conn.close('notify');
  }
}
