// A sans-I/O HTTP/1.1 response parser for bench http: bytes in, events out (status and header
// size, body bytes, end of response), no sockets and no allocation per response in the common
// case. It reads what RFC 9112 says decides where a response ends: the status line, then
// Transfer-Encoding: chunked (§7.1), else Content-Length (§6.3), else the connection's close
// (an HTTP/1.0-style body); responses to HEAD and 1xx/204/304 have no body (§6.3 rule 1).
// Interim 1xx responses (100 Continue, 103 Early Hints) are skipped; 101 is refused (we never
// ask to upgrade).
//
// Bounded whatever the server sends: a head larger than maxHeaderBytes, a chunk-size line longer
// than MAX_CHUNK_LINE, lengths that are not digits or disagree, bytes that arrive when no
// response is due — each is an error with a short reason, after which the parser stays failed
// (sticky, as rustls' state) and the caller closes the connection.

/** What the parser tells its owner, in order, for each response. */
export interface H1ResponseEvents {
  /** The head is complete: status code and its size in bytes (status line, headers and the empty line). */
  onHead(status: number, headerBytes: number): void;
  /** Body payload bytes (chunk framing not included). */
  onBody(bytes: number): void;
  /** The response is complete; keepAlive false: the server closes after it (Connection: close, HTTP/1.0). */
  onComplete(keepAlive: boolean): void;
}

/** The largest response head accepted by default (nginx's large_client_header_buffers is 4 × 8 KiB). */
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;
/** The longest chunk-size line (size, extensions, CRLF). */
export const MAX_CHUNK_LINE = 1024;
/** The largest Content-Length or chunk size accepted: 2^48 bytes, far beyond any bench response. */
const MAX_LENGTH = 2 ** 48;
/** Heads longer than this are not kept for recognition (see LastHead). */
const MAX_KEPT_HEAD = 1024;

/**
 * The last final head parsed, its bytes and what they said. A server answers a bench with the
 * same head again and again (nginx's changes with its Date, once a second): when the next
 * response starts with the very same bytes, they end at the same place (the first empty line)
 * and say the same, so one comparison replaces finding the end and parsing the fields.
 */
class LastHead {
  bytes = Buffer.allocUnsafe(MAX_KEPT_HEAD);
  /** 0: none kept. */
  len = 0;
  head: ResponseHead = { status: 0, contentLength: -1, chunked: false, keepAlive: true };

  /** Whether data[i..) starts with the kept head. */
  startsAt(data: Uint8Array, i: number, n: number): boolean {
    const len = this.len;
    if (len === 0 || n - i < len) return false;
    const b = this.bytes;
    for (let k = 0; k < len; k++) if (data[i + k] !== b[k]) return false;
    return true;
  }

  keep(data: Uint8Array, from: number, end: number, head: ResponseHead): void {
    if (end - from > MAX_KEPT_HEAD) {
      this.len = 0;
      return;
    }
    this.bytes.set(data.subarray(from, end));
    this.len = end - from;
    this.head = head;
  }
}

const CR = 0x0d;
const LF = 0x0a;

const enum State {
  /** No response is due: any byte is an error. */
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  /** The CRLF after a chunk's data. */
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Failed,
}

export class H1ResponseParser {
  #state = State.Idle;
  /** Responses due, oldest first: whether each answers a HEAD (no body). A ring of flags. */
  #due: boolean[] = [];
  #dueHead = 0;
  #dueCount = 0;
  /** A head (or trailer section, or chunk-size line) split over reads, kept until it is complete. */
  #partial: Buffer | undefined;
  #partialLen = 0;
  #remaining = 0;
  #keepAlive = true;
  #error: string | undefined;
  readonly #last = new LastHead();
  readonly maxHeaderBytes: number;

  constructor(
    readonly events: H1ResponseEvents,
    opts: { maxHeaderBytes?: number } = {}
  ) {
    this.maxHeaderBytes = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  }

  /** The first error, if any (sticky). */
  get error(): string | undefined {
    return this.#error;
  }

  /** Responses due and not complete. */
  get pending(): number {
    return this.#dueCount;
  }

  /** Part of a response has arrived and it is not complete. */
  get midResponse(): boolean {
    return this.#state !== State.Idle && this.#state !== State.Failed && (this.#state !== State.Head || this.#partialLen > 0);
  }

  /** A request went out: one more response is due (without a body when it answers a HEAD). */
  expect(head: boolean): void {
    if (this.#dueCount === this.#due.length) {
      // Grow the ring, keeping order.
      const old = this.#due;
      const grown: boolean[] = new Array(Math.max(4, old.length * 2)).fill(false);
      for (let i = 0; i < this.#dueCount; i++) grown[i] = old[(this.#dueHead + i) % old.length];
      this.#due = grown;
      this.#dueHead = 0;
    }
    this.#due[(this.#dueHead + this.#dueCount) % this.#due.length] = head;
    this.#dueCount++;
    if (this.#state === State.Idle) this.#state = State.Head;
  }

  /** Bytes from the server. Returns the error (also kept in `error`) when they are not a valid response stream. */
  push(data: Uint8Array): string | undefined {
    let i = 0;
    const n = data.length;
    while (i < n) {
      switch (this.#state) {
        case State.Failed:
          return this.#error;
        case State.Idle:
          return this.#fail('response data with no request outstanding');
        case State.Head:
          i = this.#head(data, i);
          break;
        case State.Length: {
          const take = Math.min(this.#remaining, n - i);
          this.#remaining -= take;
          i += take;
          this.events.onBody(take);
          if (this.#remaining === 0) this.#complete();
          break;
        }
        case State.UntilClose:
          this.events.onBody(n - i);
          i = n;
          break;
        case State.ChunkSize:
        case State.Trailers:
          i = this.#line(data, i);
          break;
        case State.ChunkData: {
          const take = Math.min(this.#remaining, n - i);
          this.#remaining -= take;
          i += take;
          this.events.onBody(take);
          if (this.#remaining === 0) {
            this.#state = State.ChunkDataEnd;
            this.#remaining = 2;
          }
          break;
        }
        case State.ChunkDataEnd: {
          // Exactly CRLF (a bare LF is tolerated, as for every line here).
          const b = data[i];
          if (this.#remaining === 2 && b === CR) {
            this.#remaining = 1;
            i++;
          } else if (b === LF) {
            i++;
            this.#state = State.ChunkSize;
          } else return this.#fail('chunk data longer than its size');
          break;
        }
      }
      if (this.#error) return this.#error;
    }
    return undefined;
  }

  /**
   * The server closed the connection (close_notify or FIN). A body read until the close is then
   * complete; a response cut anywhere else is an error. Returns the error, if any.
   */
  end(): string | undefined {
    if (this.#state === State.UntilClose) {
      this.#complete();
      return undefined;
    }
    if (this.midResponse) return this.#fail('connection closed mid-response');
    return undefined;
  }

  #fail(why: string): string {
    this.#state = State.Failed;
    this.#error ??= why;
    this.#partial = undefined;
    return this.#error;
  }

  #complete(): void {
    this.#dueHead = (this.#dueHead + 1) % this.#due.length;
    this.#dueCount--;
    this.#state = this.#dueCount > 0 ? State.Head : State.Idle;
    const keepAlive = this.#keepAlive;
    this.events.onComplete(keepAlive);
    // After a response that ends the connection nothing more may come.
    if (!keepAlive && (this.#state as State) !== State.Failed) this.#state = State.Idle;
  }

  /** Reads a head from data[i..]: finds its end (possibly across reads), parses it; returns the next index. */
  #head(data: Uint8Array, i: number): number {
    const n = data.length;
    if (this.#partialLen === 0) {
      const last = this.#last;
      if (last.startsAt(data, i, n)) {
        this.#onHead(last.head, last.len);
        return i + last.len;
      }
      const end = findHeadEnd(data, i, n);
      if (end >= 0) {
        if (end - i > this.maxHeaderBytes) {
          this.#fail('response head too large');
          return n;
        }
        this.#parseHead(data, i, end);
        return end;
      }
      if (n - i > this.maxHeaderBytes) {
        this.#fail('response head too large');
        return n;
      }
      this.#keep(data, i, n);
      return n;
    }
    // A head split over reads: look for its end across the join (the last 3 kept bytes and the new ones).
    const keptBefore = this.#partialLen;
    this.#keep(data, i, n);
    const buf = this.#partial!;
    const end = findHeadEnd(buf, Math.max(0, keptBefore - 3), this.#partialLen);
    if (end < 0) {
      if (this.#partialLen > this.maxHeaderBytes) this.#fail('response head too large');
      return n;
    }
    if (end > this.maxHeaderBytes) {
      this.#fail('response head too large');
      return n;
    }
    this.#partialLen = 0;
    this.#parseHead(buf, 0, end);
    // What followed the head in this read is body (or the next response): continue from there.
    return i + (end - keptBefore);
  }

  #keep(data: Uint8Array, from: number, to: number): void {
    const len = to - from;
    if (!this.#partial || this.#partialLen + len > this.#partial.length) {
      const grown = Buffer.allocUnsafe(Math.max(1024, (this.#partialLen + len) * 2));
      if (this.#partial) this.#partial.copy(grown, 0, 0, this.#partialLen);
      this.#partial = grown;
    }
    this.#partial.set(data.subarray(from, to), this.#partialLen);
    this.#partialLen += len;
  }

  /** Parses the head b[from..end) (end just past the empty line) and sets up the body. */
  #parseHead(b: Uint8Array, from: number, end: number): void {
    const r = parseResponseHead(b, from, end);
    if (typeof r === 'string') {
      this.#fail(r);
      return;
    }
    const status = r.status;
    if (status === 101) {
      this.#fail('unexpected 101 Switching Protocols');
      return;
    }
    // Interim responses: another head follows for the same request.
    if (status < 200) return;
    this.#last.keep(b, from, end, r);
    this.#onHead(r, end - from);
  }

  /** A final head (status >= 200) of headerBytes bytes: the response's events, and its body set up. */
  #onHead(r: ResponseHead, headerBytes: number): void {
    const status = r.status;
    this.#keepAlive = r.keepAlive;
    this.events.onHead(status, headerBytes);
    if (this.#state === State.Failed) return;
    const head = this.#due[this.#dueHead];
    if (head || status === 204 || status === 304) return this.#complete();
    if (r.chunked) {
      this.#state = State.ChunkSize;
      return;
    }
    if (r.contentLength >= 0) {
      if (r.contentLength === 0) return this.#complete();
      this.#state = State.Length;
      this.#remaining = r.contentLength;
      return;
    }
    // Neither: the body runs until the server closes, and the connection cannot be reused.
    this.#keepAlive = false;
    this.#state = State.UntilClose;
  }

  /** A chunk-size line or a trailer line, possibly split over reads; returns the next index. */
  #line(data: Uint8Array, i: number): number {
    const n = data.length;
    let lf = -1;
    for (let j = i; j < n; j++) {
      if (data[j] === LF) {
        lf = j;
        break;
      }
    }
    const limit = this.#state === State.ChunkSize ? MAX_CHUNK_LINE : this.maxHeaderBytes;
    if (lf < 0) {
      if (this.#partialLen + (n - i) > limit) this.#fail(this.#state === State.ChunkSize ? 'chunk-size line too long' : 'trailers too large');
      else this.#keep(data, i, n);
      return n;
    }
    let line: Uint8Array;
    if (this.#partialLen > 0) {
      this.#keep(data, i, lf + 1);
      line = this.#partial!.subarray(0, this.#partialLen);
      this.#partialLen = 0;
    } else line = data.subarray(i, lf + 1);
    if (line.length > limit) {
      this.#fail(this.#state === State.ChunkSize ? 'chunk-size line too long' : 'trailers too large');
      return n;
    }
    // Without its line end.
    let len = line.length - 1;
    if (len > 0 && line[len - 1] === CR) len--;
    if (this.#state === State.Trailers) {
      // The empty line ends the trailer section, and the response.
      if (len === 0) this.#complete();
      return lf + 1;
    }
    const size = parseChunkSize(line, len);
    if (size < 0) {
      this.#fail('bad chunk size');
      return n;
    }
    if (size === 0) this.#state = State.Trailers;
    else {
      this.#state = State.ChunkData;
      this.#remaining = size;
    }
    return lf + 1;
  }
}

/** Where a head ends in b[from..to): the index just past the empty line (CRLF CRLF or LF LF), or -1. */
export function findHeadEnd(b: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (b[i] !== LF) continue;
    if (i + 1 < to && b[i + 1] === LF) return i + 2;
    if (i + 2 < to && b[i + 1] === CR && b[i + 2] === LF) return i + 3;
  }
  return -1;
}

/** A chunk-size line's size (hex, extensions after ';' ignored), or -1 when it is not one. */
function parseChunkSize(b: Uint8Array, len: number): number {
  let size = 0;
  let digits = 0;
  let i = 0;
  for (; i < len; i++) {
    const c = b[i];
    const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (v < 0) break;
    size = size * 16 + v;
    if (++digits > 12 || size > MAX_LENGTH) return -1;
  }
  if (digits === 0) return -1;
  // Whitespace, then extensions, may follow the size.
  while (i < len && (b[i] === 0x20 || b[i] === 0x09)) i++;
  if (i < len && b[i] !== 0x3b) return -1;
  return size;
}

export interface ResponseHead {
  status: number;
  /** -1: no Content-Length. */
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
}

/** Case-insensitive comparison of b[at..at+name.length) with a lower-case ASCII name. */
function nameIs(b: Uint8Array, at: number, len: number, name: string): boolean {
  if (len !== name.length) return false;
  for (let k = 0; k < len; k++) if ((b[at + k] | 0x20) !== name.charCodeAt(k)) return false;
  return true;
}

/** Whether b[from..to) holds `token` as a comma-separated list element (case-insensitive). */
function hasToken(b: Uint8Array, from: number, to: number, token: string): boolean {
  let i = from;
  while (i < to) {
    while (i < to && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x2c)) i++;
    let j = i;
    while (j < to && b[j] !== 0x2c) j++;
    let e = j;
    while (e > i && (b[e - 1] === 0x20 || b[e - 1] === 0x09)) e--;
    if (nameIs(b, i, e - i, token)) return true;
    i = j + 1;
  }
  return false;
}

/** Whether b[from..to)'s last comma-separated element is `chunked` (the final transfer coding). */
function lastTokenIsChunked(b: Uint8Array, from: number, to: number): boolean {
  let e = to;
  while (e > from && (b[e - 1] === 0x20 || b[e - 1] === 0x09)) e--;
  let s = e;
  while (s > from && b[s - 1] !== 0x2c) s--;
  while (s < e && (b[s] === 0x20 || b[s] === 0x09)) s++;
  return nameIs(b, s, e - s, 'chunked');
}

/**
 * Parses a complete response head b[from..end) byte by byte (no strings: this runs once per
 * response). Returns what decides the body's length, or a short reason when it is not a head.
 */
export function parseResponseHead(b: Uint8Array, from: number, end: number): ResponseHead | string {
  // "HTTP/1.x SSS" at least.
  if (end - from < 12) return 'bad status line';
  if (b[from] !== 0x48 || b[from + 1] !== 0x54 || b[from + 2] !== 0x54 || b[from + 3] !== 0x50 || b[from + 4] !== 0x2f || b[from + 5] !== 0x31 || b[from + 6] !== 0x2e) return 'bad status line';
  const minor = b[from + 7] - 0x30;
  if (minor < 0 || minor > 9 || b[from + 8] !== 0x20) return 'bad status line';
  let status = 0;
  for (let k = 9; k < 12; k++) {
    const d = b[from + k] - 0x30;
    if (d < 0 || d > 9) return 'bad status line';
    status = status * 10 + d;
  }
  if (status < 100) return 'bad status line';
  const after = b[from + 12];
  if (after !== 0x20 && after !== CR && after !== LF) return 'bad status line';
  let contentLength = -1;
  let chunked = false;
  let transferEncoding = false;
  let close = minor === 0;
  // Header lines, after the status line.
  let i = from + 12;
  while (i < end && b[i] !== LF) i++;
  i++;
  while (i < end) {
    let eol = i;
    while (eol < end && b[eol] !== LF) eol++;
    let lineEnd = eol;
    if (lineEnd > i && b[lineEnd - 1] === CR) lineEnd--;
    if (lineEnd === i) break; // the empty line
    if (b[i] === 0x20 || b[i] === 0x09) return 'obsolete header line folding';
    let colon = i;
    while (colon < lineEnd && b[colon] !== 0x3a) colon++;
    if (colon === i || colon === lineEnd) return 'header line without a name';
    if (b[colon - 1] === 0x20 || b[colon - 1] === 0x09) return 'whitespace before a header colon';
    let v = colon + 1;
    while (v < lineEnd && (b[v] === 0x20 || b[v] === 0x09)) v++;
    let ve = lineEnd;
    while (ve > v && (b[ve - 1] === 0x20 || b[ve - 1] === 0x09)) ve--;
    const nameLen = colon - i;
    if (nameLen === 14 && nameIs(b, i, nameLen, 'content-length')) {
      if (ve === v || ve - v > 15) return 'bad content-length';
      let x = 0;
      for (let k = v; k < ve; k++) {
        const d = b[k] - 0x30;
        if (d < 0 || d > 9) return 'bad content-length';
        x = x * 10 + d;
      }
      if (x > MAX_LENGTH) return 'bad content-length';
      if (contentLength >= 0 && x !== contentLength) return 'conflicting content-length';
      contentLength = x;
    } else if (nameLen === 17 && nameIs(b, i, nameLen, 'transfer-encoding')) {
      transferEncoding = true;
      chunked = lastTokenIsChunked(b, v, ve);
    } else if (nameLen === 10 && nameIs(b, i, nameLen, 'connection')) {
      if (hasToken(b, v, ve, 'close')) close = true;
      else if (minor === 0 && hasToken(b, v, ve, 'keep-alive')) close = false;
    }
    i = eol + 1;
  }
  // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; a coding other than a final
  // chunked reads until close. Both at once is a smuggling hazard a server must not send.
  if (transferEncoding && contentLength >= 0) return 'both transfer-encoding and content-length';
  if (transferEncoding && !chunked) return { status, contentLength: -1, chunked: false, keepAlive: false };
  return { status, contentLength, chunked, keepAlive: !close };
}
