// The HTTP/2 client session (sans-I/O): requests in through request(), frames out through
// takeOutput(), the server's frames in through receive(), what happened out through events.
// Built for a load generator: a request whose head repeats reuses its encoded header block
// (after the first, every field is an HPACK index, so a repeat request is a few bytes), output
// is one Buffer per takeOutput(), and nothing is allocated per frame.
//
// Stream errors (RFC 9113 5.4.2) on one of our streams (a window pushed past 2^31-1, DATA after
// END_STREAM, a body longer or shorter than its content-length) reset that stream with the
// code and report it through onStreamReset, like a reset from the server; the other streams go on.
// Connection errors send a GOAWAY and report onConnectionError once.
import { H2Connection, H2Options, H2Stream } from './connection';
import { ErrorCode, MAX_WINDOW, PREFACE, Setting } from './frames';

export interface H2ClientEvents {
  /** The final response head (1xx heads are skipped); headerBytes: payload bytes of its HEADERS + CONTINUATION frames. */
  onResponseHeaders(streamId: number, status: number, headerBytes: number): void;
  /** DATA payload bytes (padding excluded); the session sends WINDOW_UPDATEs itself. */
  onData(streamId: number, bytes: number): void;
  /** END_STREAM seen (after headers/data/trailers): the response is complete. */
  onStreamEnd(streamId: number): void;
  /** RST_STREAM from the peer, or a stream error of the peer's we reset the stream for (code: the one we sent). */
  onStreamReset(streamId: number, code: number): void;
  /** GOAWAY: streams above lastStreamId will never complete (the caller counts them from lastStreamId). */
  onGoaway(lastStreamId: number, code: number): void;
  /** Protocol error: a GOAWAY was queued; the connection must close after flushing output. */
  onConnectionError(message: string, code: number): void;
}

export interface H2RequestHead {
  method: string;
  path: string;
  authority: string;
  scheme?: 'https';
  headers?: ReadonlyArray<readonly [string, string]>;
}

export interface H2ClientOptions {
  initialWindowSize?: number;
  maxFrameSize?: number;
  headerTableSize?: number;
}

class ClientStream extends H2Stream {
  /** The final (non-1xx) response head arrived. */
  final = false;
  /** content-length of the response, or -1; and the DATA bytes received. */
  expected = -1;
  received = 0;
  /** A HEAD request: the response's content-length describes a body that does not come. */
  head = false;
}

/** The last valid :status or content-length text and its number: the next response usually repeats it (the same string, when the decoder replays its block). */
class ParsedValue {
  text = '';
  value = -1;
  set(text: string): number {
    this.text = text;
    return (this.value = Number(text));
  }
}

/** Encoded request heads kept at most (a bench cycles through a few; more is a cache that never hits). */
const MAX_CACHED_HEADS = 64;
/** Streams open at once before the server's SETTINGS say how many it takes (RFC 9113 6.5.2 suggests >= 100). */
const ASSUMED_MAX_STREAMS = 100;

export class H2ClientSession extends H2Connection<ClientStream> {
  readonly #events: H2ClientEvents;
  #nextId = 1;
  #started = false;
  #goingAway = false;
  #settingsReceived = false;
  #sawMaxStreams = false;
  /** Encoded header blocks by head, valid while the encoder's table generation is unchanged. */
  #heads = new Map<string, { generation: number; block: Buffer }>();
  /** The same, by head object (a caller that reuses its head objects skips building the key). */
  #byObject = new WeakMap<H2RequestHead, { generation: number; block: Buffer }>();
  // The header block being decoded.
  readonly #lastStatus = new ParsedValue();
  readonly #lastLength = new ParsedValue();
  #status = -1;
  #contentLength = -1;
  #malformed = false;

  constructor(events: H2ClientEvents, options: H2ClientOptions = {}) {
    super(options satisfies H2Options);
    this.#events = events;
    this.peerMaxStreams = ASSUMED_MAX_STREAMS;
  }

  /** Queues the connection preface and our SETTINGS. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.out.bytes(PREFACE);
    this.sendSettings([[Setting.ENABLE_PUSH, 0], ...this.localSettings()]);
  }

  /**
   * True while another stream may be opened (peer's MAX_CONCURRENT_STREAMS, not going away).
   * Until the server's SETTINGS arrive the limit is taken as 100 (what nghttp2 assumes too); a
   * server that allows fewer refuses the extra streams (onStreamReset, REFUSED_STREAM).
   */
  canOpenStream(): boolean {
    return this.#started && !this.#goingAway && !this.dead && this.streams.size < this.peerMaxStreams && this.#nextId <= MAX_WINDOW;
  }

  get peerMaxConcurrentStreams(): number {
    return this.peerMaxStreams;
  }

  get goingAway(): boolean {
    return this.#goingAway || this.dead;
  }

  /** Opens a stream; returns its id. body (optional) is sent as DATA respecting flow control. Throws only on caller error. */
  request(head: H2RequestHead, body?: Buffer): number {
    if (!this.#started) throw new Error('h2: request() before start()');
    if (this.goingAway) throw new Error('h2: the connection is going away');
    if (!this.canOpenStream()) throw new Error(`h2: ${this.streams.size} streams open, the server allows ${this.peerMaxStreams}`);
    const id = this.#nextId;
    this.#nextId += 2;
    // Stream ids are spent (2^30 requests): the caller sees goingAway and opens a new connection.
    if (this.#nextId > MAX_WINDOW) this.#goingAway = true;
    const stream = new ClientStream(id, this.peerInitialWindow, this.recvInitialWindow);
    stream.head = head.method === 'HEAD';
    this.streams.set(id, stream);
    const hasBody = body !== undefined && body.length > 0;
    this.out.headers(id, this.#encode(head), !hasBody, this.peerMaxFrame);
    if (hasBody) this.queueBody(stream, body);
    else stream.localClosed = true;
    return id;
  }

  #encode(head: H2RequestHead): Buffer {
    // The same head object again (a bench's usual case): no key to build.
    const table = this.encoder.table;
    const same = this.#byObject.get(head);
    if (same && same.generation === table.generation) return same.block;
    const before = table.generation;
    const block = this.#encodeByKey(head);
    // Only an encoding that changed nothing in the table can be sent again as it is.
    if (table.generation === before) this.#byObject.set(head, { generation: before, block });
    return block;
  }

  #encodeByKey(head: H2RequestHead): Buffer {
    let key = `${head.method}\0${head.path}\0${head.authority}\0${head.scheme ?? 'https'}`;
    if (head.headers) for (const [n, v] of head.headers) key += `\0${n}\0${v}`;
    const table = this.encoder.table;
    const hit = this.#heads.get(key);
    if (hit && hit.generation === table.generation) return hit.block;
    const fields: Array<readonly [string, string]> = [
      [':method', head.method],
      [':scheme', head.scheme ?? 'https'],
      [':authority', head.authority],
      [':path', head.path],
    ];
    if (head.headers) for (const [n, v] of head.headers) fields.push([n.toLowerCase(), v]);
    const before = table.generation;
    const block = this.encoder.encode(fields);
    // Only an encoding that changed nothing in the table can be sent again as it is.
    if (table.generation === before) {
      if (this.#heads.size >= MAX_CACHED_HEADS) this.#heads.clear();
      this.#heads.set(key, { generation: before, block });
    }
    return block;
  }

  // ---- frames from the server ----

  protected beginHeaderBlock(): void {
    this.#status = -1;
    this.#contentLength = -1;
    this.#malformed = false;
  }

  header(name: string, value: string): void {
    if (name === ':status') {
      if (this.#status >= 0) this.#malformed = true;
      else if (value === this.#lastStatus.text) this.#status = this.#lastStatus.value;
      else if (!/^[1-5][0-9][0-9]$/.test(value)) this.#malformed = true;
      else this.#status = this.#lastStatus.set(value);
    } else if (name === 'content-length') {
      const n = value === this.#lastLength.text ? this.#lastLength.value : /^[0-9]{1,15}$/.test(value) ? this.#lastLength.set(value) : -1;
      if (n < 0 || (this.#contentLength >= 0 && n !== this.#contentLength)) this.#malformed = true;
      else this.#contentLength = n;
    } else if (name.charCodeAt(0) === 0x3a) this.#malformed = true; // a request pseudo-header in a response
  }

  protected onHeaderBlock(id: number, endStream: boolean, bytes: number): void {
    const stream = this.streams.get(id);
    if (!stream) {
      if (this.isIdle(id)) return this.connectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${id}, which we did not open`);
      return this.connectionError(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
    }
    if (stream.remoteClosed) return this.connectionError(ErrorCode.STREAM_CLOSED, `HEADERS after END_STREAM on stream ${id}`);
    if (!stream.final) {
      if (this.#malformed || this.#status < 0) return this.streamError(id, ErrorCode.PROTOCOL_ERROR, `malformed response head on stream ${id}`);
      if (this.#status < 200) {
        // 1xx: informational, the final head follows; 101 has no meaning in HTTP/2.
        if (endStream || this.#status === 101) return this.streamError(id, ErrorCode.PROTOCOL_ERROR, `${this.#status} response on stream ${id}`);
        return;
      }
      stream.final = true;
      this.progress();
      // HEAD and 304 responses have no body whatever their content-length says (RFC 9110 8.6).
      stream.expected = stream.head || this.#status === 304 ? -1 : this.#contentLength;
      this.#events.onResponseHeaders(id, this.#status, bytes);
      if (this.dead || !this.streams.has(id)) return;
    } else if (!endStream) {
      return this.streamError(id, ErrorCode.PROTOCOL_ERROR, `trailers without END_STREAM on stream ${id}`);
    }
    if (endStream) this.#end(stream);
  }

  protected onDataFrame(stream: ClientStream, bytes: number, endStream: boolean): void {
    if (!stream.final) return this.streamError(stream.id, ErrorCode.PROTOCOL_ERROR, `DATA before the response head on stream ${stream.id}`);
    stream.received += bytes;
    if (stream.expected >= 0 && stream.received > stream.expected) {
      return this.streamError(stream.id, ErrorCode.PROTOCOL_ERROR, `body longer than its content-length ${stream.expected} on stream ${stream.id}`);
    }
    if (bytes > 0) this.#events.onData(stream.id, bytes);
    if (endStream && !this.dead && this.streams.has(stream.id)) this.#end(stream);
  }

  #end(stream: ClientStream): void {
    if (stream.expected >= 0 && stream.received !== stream.expected) {
      return this.streamError(stream.id, ErrorCode.PROTOCOL_ERROR, `body of ${stream.received} bytes, content-length ${stream.expected}, on stream ${stream.id}`);
    }
    stream.remoteClosed = true;
    if (!stream.localClosed) {
      // The response is complete before our body: stop sending it (RFC 9113 8.1).
      this.out.rstStream(stream.id, ErrorCode.NO_ERROR);
      stream.localClosed = true;
    }
    this.closeStream(stream);
    this.#events.onStreamEnd(stream.id);
  }

  protected onResetFrame(id: number, code: number): void {
    const stream = this.streams.get(id);
    if (!stream) return; // already closed on our side
    this.closeStream(stream);
    this.#events.onStreamReset(id, code);
  }

  protected onGoawayFrame(lastStreamId: number, code: number): void {
    this.#goingAway = true;
    for (const s of [...this.streams.values()]) if (s.id > lastStreamId) this.closeStream(s);
    this.#events.onGoaway(lastStreamId, code);
  }

  protected onError(message: string, code: number): void {
    this.#goingAway = true;
    this.#events.onConnectionError(message, code);
  }

  protected streamError(id: number, code: number, _message: string): void {
    const stream = this.streams.get(id);
    this.resetStream(stream, id, code);
    if (stream) this.#events.onStreamReset(id, code);
  }

  protected isIdle(id: number): boolean {
    return (id & 1) === 0 || id >= this.#nextId;
  }

  protected checkSetting(id: number, value: number): string | null {
    if (id === Setting.ENABLE_PUSH && value !== 0) return `SETTINGS_ENABLE_PUSH ${value} from a server`;
    if (id === Setting.MAX_CONCURRENT_STREAMS) this.#sawMaxStreams = true;
    return null;
  }

  protected onSettings(): void {
    // Without a MAX_CONCURRENT_STREAMS in its first SETTINGS, the server sets no limit.
    if (!this.#settingsReceived && !this.#sawMaxStreams) this.peerMaxStreams = Number.POSITIVE_INFINITY;
    this.#settingsReceived = true;
  }
}
