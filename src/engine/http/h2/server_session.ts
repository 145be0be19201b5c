// The HTTP/2 server session (sans-I/O): the client's bytes in through receive(), complete
// requests out as onRequest events, responses in through respond(), frames out through
// takeOutput(). A response body is a reference to the caller's Buffer, sent as DATA only as far
// as the client's windows allow (a client that never opens its window holds one reference per
// stream, never a copy), and MAX_CONCURRENT_STREAMS bounds how many such streams there are.
// Request bodies are counted and dropped (their window is given back as they arrive).
import { H2Connection, H2Options, H2Stream } from './connection';
import { ErrorCode, Setting } from './frames';

export interface H2ServerEvents {
  /** A complete request (head, body if any, END_STREAM): answer it with respond(). headerBytes: its header frames' payload bytes. */
  onRequest(streamId: number, method: string, path: string, headerBytes: number): void;
  /** RST_STREAM from the client. */
  onStreamReset?(streamId: number, code: number): void;
  /** GOAWAY from the client. */
  onGoaway?(lastStreamId: number, code: number): void;
  /** Protocol error: a GOAWAY was queued; the connection must close after flushing output. */
  onConnectionError(message: string, code: number): void;
}

export interface H2ServerOptions extends H2Options {
  /** Our SETTINGS_MAX_CONCURRENT_STREAMS; streams beyond it are refused (REFUSED_STREAM). Default 128. */
  maxConcurrentStreams?: number;
}

class ServerStream extends H2Stream {
  method = '';
  path = '';
  headerBytes = 0;
  responded = false;
}

export const DEFAULT_MAX_STREAMS = 128;
/** Request pseudo-headers and the fields RFC 9113 8.2.2 forbids in HTTP/2. */
const UPPERCASE = /[A-Z]/;
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export class H2ServerSession extends H2Connection<ServerStream> {
  readonly #events: H2ServerEvents;
  readonly maxConcurrentStreams: number;
  #started = false;
  #goingAway = false;
  /** Encoded response heads by status and fields, valid while the encoder's table is unchanged. */
  #heads = new Map<string, { generation: number; block: Buffer }>();
  #byObject = new WeakMap<ReadonlyArray<readonly [string, string]>, { status: number; generation: number; block: Buffer }>();
  /** Requests answered, streams refused or reset by us (for the app's counters). */
  requests = 0;
  refused = 0;
  streamErrors = 0;
  // The header block being decoded.
  #method = '';
  #path = '';
  #scheme = '';
  #pseudoAfterRegular = false;
  #malformed = '';
  #regularSeen = false;

  constructor(events: H2ServerEvents, options: H2ServerOptions = {}) {
    super(options);
    this.#events = events;
    this.maxConcurrentStreams = options.maxConcurrentStreams ?? DEFAULT_MAX_STREAMS;
  }

  /** Expects the client preface and queues our SETTINGS (the server preface). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.prefaceLeft = 24;
    this.sendSettings([[Setting.MAX_CONCURRENT_STREAMS, this.maxConcurrentStreams], ...this.localSettings()]);
  }

  get goingAway(): boolean {
    return this.#goingAway || this.dead;
  }

  /** Ends the connection gracefully: GOAWAY (streams so far still get their responses), no new streams. */
  goaway(code: number = ErrorCode.NO_ERROR): void {
    if (this.#goingAway || this.dead) return;
    this.#goingAway = true;
    this.out.goaway(this.lastPeerStream, code);
  }

  /**
   * Answers a request: status, header fields (lowercase names) and a body (sent by reference as
   * the windows allow; none for HEAD). A stream the client reset meanwhile is ignored.
   */
  respond(streamId: number, status: number, fields: ReadonlyArray<readonly [string, string]>, body: Buffer | null): void {
    const stream = this.streams.get(streamId);
    if (!stream || stream.responded || this.dead) return;
    stream.responded = true;
    this.requests++;
    const hasBody = body !== null && body.length > 0;
    this.out.headers(streamId, this.#encode(status, fields), !hasBody, this.peerMaxFrame);
    if (hasBody) this.queueBody(stream, body);
    else {
      stream.localClosed = true;
      this.maybeClose(stream);
    }
  }

  #encode(status: number, fields: ReadonlyArray<readonly [string, string]>): Buffer {
    // The same fields array again (an app's prepared headers): no key to build.
    const table = this.encoder.table;
    const same = this.#byObject.get(fields);
    if (same && same.status === status && same.generation === table.generation) return same.block;
    const before = table.generation;
    const block = this.#encodeByKey(status, fields);
    if (table.generation === before) this.#byObject.set(fields, { status, generation: before, block });
    return block;
  }

  #encodeByKey(status: number, fields: ReadonlyArray<readonly [string, string]>): Buffer {
    let key = String(status);
    for (const [n, v] of fields) key += `\0${n}\0${v}`;
    const table = this.encoder.table;
    const hit = this.#heads.get(key);
    if (hit && hit.generation === table.generation) return hit.block;
    const before = table.generation;
    const block = this.encoder.encode([[':status', String(status)], ...fields]);
    if (table.generation === before) {
      if (this.#heads.size >= 64) this.#heads.clear();
      this.#heads.set(key, { generation: before, block });
    }
    return block;
  }

  // ---- frames from the client ----

  protected beginHeaderBlock(): void {
    this.#method = '';
    this.#path = '';
    this.#scheme = '';
    this.#malformed = '';
    this.#regularSeen = false;
    this.#pseudoAfterRegular = false;
  }

  header(name: string, value: string): void {
    if (this.#malformed) return;
    if (name.charCodeAt(0) === 0x3a) {
      if (this.#regularSeen) this.#pseudoAfterRegular = true;
      if (name === ':method') this.#method ? (this.#malformed = 'two :method') : (this.#method = value);
      else if (name === ':path') this.#path ? (this.#malformed = 'two :path') : (this.#path = value);
      else if (name === ':scheme') this.#scheme ? (this.#malformed = 'two :scheme') : (this.#scheme = value);
      else if (name !== ':authority') this.#malformed = `pseudo-header ${name}`;
      return;
    }
    this.#regularSeen = true;
    if (UPPERCASE.test(name)) this.#malformed = `uppercase field name ${name}`;
    else if (CONNECTION_SPECIFIC.has(name)) this.#malformed = `connection-specific field ${name}`;
    else if (name === 'te' && value !== 'trailers') this.#malformed = `te: ${value}`;
  }

  protected onHeaderBlock(id: number, endStream: boolean, bytes: number): void {
    const existing = this.streams.get(id);
    if (existing) {
      // Trailers after a request body: they end the request.
      if (existing.remoteClosed) return this.connectionError(ErrorCode.STREAM_CLOSED, `HEADERS after END_STREAM on stream ${id}`);
      if (!endStream) return this.streamError(id, ErrorCode.PROTOCOL_ERROR, `trailers without END_STREAM on stream ${id}`);
      return this.#requestDone(existing);
    }
    if ((id & 1) === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on even stream ${id}`);
    if (id <= this.lastPeerStream) return this.connectionError(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
    this.lastPeerStream = id;
    // After our GOAWAY new streams are ignored (RFC 9113 6.8).
    if (this.#goingAway) return;
    if (this.streams.size >= this.maxConcurrentStreams) {
      this.refused++;
      return this.resetStream(undefined, id, ErrorCode.REFUSED_STREAM);
    }
    const malformed =
      this.#malformed ||
      (this.#pseudoAfterRegular ? 'pseudo-header after a regular field' : '') ||
      (!this.#method ? 'no :method' : '') ||
      (this.#method !== 'CONNECT' && (!this.#path || !this.#scheme) ? 'no :path or :scheme' : '');
    if (malformed) {
      this.streamErrors++;
      return this.resetStream(undefined, id, ErrorCode.PROTOCOL_ERROR);
    }
    if (this.decoder.listSize > this.localMaxHeaderList) {
      this.streamErrors++;
      return this.resetStream(undefined, id, ErrorCode.ENHANCE_YOUR_CALM);
    }
    const stream = new ServerStream(id, this.peerInitialWindow, this.recvInitialWindow);
    stream.method = this.#method;
    stream.path = this.#path;
    stream.headerBytes = bytes;
    this.streams.set(id, stream);
    if (endStream) this.#requestDone(stream);
  }

  protected onDataFrame(stream: ServerStream, _bytes: number, endStream: boolean): void {
    if (endStream) this.#requestDone(stream);
  }

  #requestDone(stream: ServerStream): void {
    stream.remoteClosed = true;
    this.progress();
    this.#events.onRequest(stream.id, stream.method, stream.path, stream.headerBytes);
    this.maybeClose(stream);
  }

  protected onResetFrame(id: number, code: number): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    this.closeStream(stream);
    this.#events.onStreamReset?.(id, code);
  }

  protected onGoawayFrame(lastStreamId: number, code: number): void {
    this.#events.onGoaway?.(lastStreamId, code);
  }

  protected onError(message: string, code: number): void {
    this.#events.onConnectionError(message, code);
  }

  protected streamError(id: number, code: number, _message: string): void {
    this.streamErrors++;
    this.resetStream(this.streams.get(id), id, code);
  }

  protected isIdle(id: number): boolean {
    return (id & 1) === 0 || id > this.lastPeerStream;
  }
}
