// What the HTTP/2 client and server sessions share: reading frames out of a byte stream,
// SETTINGS, PING, WINDOW_UPDATE, GOAWAY, header blocks (HEADERS + CONTINUATION through HPACK),
// flow control both ways, and the output buffer. Sans-I/O: bytes in through receive(), bytes out
// through takeOutput(), no sockets, no timers.
//
// Bounded against a hostile peer: a frame longer than our SETTINGS_MAX_FRAME_SIZE, a header
// block longer than maxHeaderBlock or split into too many CONTINUATIONs, a window pushed past
// 2^31-1, a flood of control frames that each ask for an answer: each ends the connection with
// a GOAWAY carrying the RFC 9113 code and one connection-error event. receive() never throws;
// after an error it ignores further input.
import { growWindow, sendable, updateDue } from './flow_control';
import {
  DEFAULT_WINDOW,
  ErrorCode,
  FRAME_HEADER,
  Flag,
  FrameType,
  MAX_MAX_FRAME_SIZE,
  MAX_WINDOW,
  MIN_MAX_FRAME_SIZE,
  OutputBuffer,
  PREFACE,
  Setting,
} from './frames';
import { HeaderSink, HpackDecoder, HpackEncoder } from './hpack';

/** One stream's state, as both sides keep it. Subclasses add their own fields. */
export class H2Stream {
  /** What we may still send on it (the peer's window). */
  sendWindow: number;
  /** What the peer may still send on it (our window), and the bytes consumed since our last WINDOW_UPDATE. */
  recvWindow: number;
  recvConsumed = 0;
  /** The body to send, and how far it went. */
  body: Buffer | null = null;
  bodyOffset = 0;
  /** In the send queue (has body left to send). */
  queued = false;
  /** We sent END_STREAM / the peer sent END_STREAM. */
  localClosed = false;
  remoteClosed = false;
  constructor(
    readonly id: number,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }
}

export interface H2Options {
  /** Our SETTINGS_INITIAL_WINDOW_SIZE: the window per stream we grant the peer. */
  initialWindowSize?: number;
  /** Our SETTINGS_MAX_FRAME_SIZE: the largest frame payload we accept. */
  maxFrameSize?: number;
  /** Our SETTINGS_HEADER_TABLE_SIZE: the HPACK table the peer's encoder may use. */
  headerTableSize?: number;
  /** Our SETTINGS_MAX_HEADER_LIST_SIZE (advertised and enforced per block). */
  maxHeaderListSize?: number;
  /** The connection-level window we keep open (raised with a WINDOW_UPDATE at start). */
  connectionWindowSize?: number;
}

/** A header block longer than this (compressed, all frames) ends the connection. */
const MAX_HEADER_BLOCK_FACTOR = 2;
/** More CONTINUATION frames than this for one block: a flood (CVE-2024-27316 class). */
const MAX_CONTINUATIONS = 64;
/**
 * More frames that ask for work but carry no request or response (SETTINGS, PING, PRIORITY,
 * empty DATA, unknown types) than this in a row: a flood (the CVE-2019-9512/9515/9518 class).
 * A real peer sends a handful between two requests.
 */
const MAX_IDLE_FRAMES = 1000;

export abstract class H2Connection<S extends H2Stream> implements HeaderSink {
  protected readonly out = new OutputBuffer();
  protected readonly decoder: HpackDecoder;
  protected readonly encoder = new HpackEncoder();
  protected readonly streams = new Map<number, S>();

  // Our settings.
  protected readonly localWindow: number;
  protected readonly localMaxFrame: number;
  protected readonly localMaxHeaderList: number;
  protected readonly connectionWindow: number;
  protected readonly localTableSize: number;
  /** The window a new stream starts with on our receive side: 65535 until the peer acks our SETTINGS. */
  #recvInitial = DEFAULT_WINDOW;
  #settingsUnacked = 0;

  // The peer's settings.
  protected peerMaxFrame = MIN_MAX_FRAME_SIZE;
  protected peerInitialWindow = DEFAULT_WINDOW;
  protected peerMaxStreams = Number.POSITIVE_INFINITY;

  // Connection-level windows.
  #connSend = DEFAULT_WINDOW;
  #connRecv = DEFAULT_WINDOW;
  #connConsumed = 0;

  // Input not yet parsed: #in[0..#inLen).
  #in: Buffer | null = null;
  #inLen = 0;
  /** Bytes of the client preface still to check (server side). */
  protected prefaceLeft = 0;
  #settingsSeen = false;

  // A header block in progress: its stream, END_STREAM from its HEADERS, its bytes so far.
  #blockStream = 0;
  #blockEndStream = false;
  #block: Buffer | null = null;
  #blockLen = 0;
  #blockFrames = 0;
  #blockPayload = 0;
  readonly #maxBlock: number;

  /** Streams with body to send and (maybe) window: served round robin. */
  #sendQueue: S[] = [];
  #pendingBodies = 0;
  /** Frames in a row that did no useful work (see MAX_IDLE_FRAMES). */
  #idleFrames = 0;
  /** A connection error ended the session (GOAWAY sent): input is ignored. */
  protected dead = false;
  /** The highest stream id the peer opened that we processed (our GOAWAY's last stream id). */
  protected lastPeerStream = 0;

  constructor(options: H2Options = {}) {
    this.localWindow = clamp(options.initialWindowSize ?? DEFAULT_WINDOW, 0, MAX_WINDOW);
    this.localMaxFrame = clamp(options.maxFrameSize ?? MIN_MAX_FRAME_SIZE, MIN_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE);
    this.localMaxHeaderList = options.maxHeaderListSize ?? 64 * 1024;
    this.connectionWindow = clamp(options.connectionWindowSize ?? Math.max(this.localWindow, 1 << 24), DEFAULT_WINDOW, MAX_WINDOW);
    this.localTableSize = clamp(options.headerTableSize ?? 4096, 0, 1 << 20);
    // Until the peer acks our SETTINGS its encoder may use the default 4096: allow that much.
    this.decoder = new HpackDecoder(Math.max(4096, this.localTableSize));
    this.decoder.table.setMaxSize(4096);
    this.#maxBlock = this.localMaxHeaderList * MAX_HEADER_BLOCK_FACTOR + 1024;
  }

  // ---- what subclasses provide ----

  /** A header block for stream id decoded (its fields went to header()); bytes: its frames' payload bytes. */
  protected abstract onHeaderBlock(id: number, endStream: boolean, bytes: number): void;
  /** A header block is starting (header() calls follow). */
  protected abstract beginHeaderBlock(id: number): void;
  abstract header(name: string, value: string): void;
  protected abstract onDataFrame(stream: S, bytes: number, endStream: boolean): void;
  protected abstract onResetFrame(id: number, code: number): void;
  protected abstract onGoawayFrame(lastStreamId: number, code: number): void;
  protected abstract onError(message: string, code: number): void;
  /** A stream id the peer has not opened (or cannot): frames on it other than PRIORITY are a PROTOCOL_ERROR. */
  protected abstract isIdle(id: number): boolean;
  /** A stream error (RFC 9113 5.4.2) the subclass turns into a RST_STREAM or a connection error. */
  protected abstract streamError(id: number, code: number, message: string): void;
  /** A peer's SETTINGS entry a subclass checks further (ENABLE_PUSH from a server); an error message or null. */
  protected checkSetting(_id: number, _value: number): string | null {
    return null;
  }
  /** The peer's SETTINGS (not an ACK) were applied. */
  protected onSettings(): void {}
  /** A stream closed both ways (or reset) has left the map. */
  protected onStreamClosed(_stream: S): void {}

  // ---- public surface ----

  /**
   * Bytes to send, or null: the queued frames and all the DATA the windows allow now. With
   * maxBytes, DATA stops once the output reaches it (the rest comes with the next calls: a caller
   * that passes it calls again until null, e.g. as its writes drain).
   */
  takeOutput(maxBytes = Number.POSITIVE_INFINITY): Buffer | null {
    if (!this.dead) this.#pump(maxBytes);
    return this.out.take();
  }

  /** Peer bytes (plaintext). Never throws: a protocol error becomes a GOAWAY and one error event. */
  receive(data: Buffer): void {
    if (this.dead || data.length === 0) return;
    try {
      this.#receive(data);
    } catch (e) {
      this.connectionError(ErrorCode.INTERNAL_ERROR, `internal error: ${(e as Error).message}`);
    }
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Streams with body still to send (waiting for window, or for the next takeOutput). */
  get pendingBodies(): number {
    return this.#pendingBodies;
  }

  // ---- for subclasses ----

  protected sendSettings(entries: Array<[number, number]>): void {
    this.out.settings(entries);
    this.#settingsUnacked++;
    if (this.connectionWindow > DEFAULT_WINDOW) {
      this.out.windowUpdate(0, this.connectionWindow - DEFAULT_WINDOW);
      this.#connRecv = this.connectionWindow;
    }
  }

  /** Our SETTINGS as the entries to send (only what differs from the RFC defaults, plus what must be said). */
  protected localSettings(): Array<[number, number]> {
    const s: Array<[number, number]> = [];
    if (this.localTableSize !== 4096) s.push([Setting.HEADER_TABLE_SIZE, this.localTableSize]);
    if (this.localWindow !== DEFAULT_WINDOW) s.push([Setting.INITIAL_WINDOW_SIZE, this.localWindow]);
    if (this.localMaxFrame !== MIN_MAX_FRAME_SIZE) s.push([Setting.MAX_FRAME_SIZE, this.localMaxFrame]);
    s.push([Setting.MAX_HEADER_LIST_SIZE, this.localMaxHeaderList]);
    return s;
  }

  /** The receive window a new stream starts with (65535 until the peer acks our SETTINGS). */
  protected get recvInitialWindow(): number {
    return this.#recvInitial;
  }

  /** Queues a stream's body as DATA (END_STREAM on the last frame); it goes out as windows allow. */
  protected queueBody(stream: S, body: Buffer): void {
    if (!stream.body) this.#pendingBodies++;
    stream.body = body;
    stream.bodyOffset = 0;
    this.#enqueue(stream);
  }

  /** Removes a stream (closed both ways or reset); it leaves the send queue lazily. */
  protected closeStream(stream: S): void {
    if (!this.streams.delete(stream.id)) return;
    if (stream.body) this.#pendingBodies--;
    stream.body = null;
    this.onStreamClosed(stream);
  }

  /** A request or response went through: the frames around it were not a flood. */
  protected progress(): void {
    this.#idleFrames = 0;
  }

  /** Counts a frame that did no work; true (and a GOAWAY ENHANCE_YOUR_CALM) once there are too many in a row. */
  #flood(what: string): boolean {
    if (++this.#idleFrames <= MAX_IDLE_FRAMES) return false;
    this.connectionError(ErrorCode.ENHANCE_YOUR_CALM, `${what} flood: ${MAX_IDLE_FRAMES} frames in a row without a request or response`);
    return true;
  }

  protected maybeClose(stream: S): void {
    if (stream.localClosed && stream.remoteClosed) this.closeStream(stream);
  }

  /** Ends the connection: GOAWAY with code, then one error event; input is ignored from now on. */
  protected connectionError(code: number, message: string): void {
    if (this.dead) return;
    this.dead = true;
    this.#sendQueue.length = 0;
    this.#pendingBodies = 0;
    this.#blockStream = 0;
    this.out.goaway(this.lastPeerStream, code);
    this.onError(message, code);
  }

  protected resetStream(stream: S | undefined, id: number, code: number): void {
    this.out.rstStream(id, code);
    if (stream) this.closeStream(stream);
  }

  // ---- input ----

  #receive(data: Buffer): void {
    let buf: Buffer;
    let len: number;
    if (this.#inLen === 0) {
      buf = data;
      len = data.length;
    } else {
      this.#append(data);
      buf = this.#in!;
      len = this.#inLen;
    }
    let p = 0;
    if (this.prefaceLeft > 0) {
      p = this.#checkPreface(buf, len);
      if (p < 0) return;
    }
    while (!this.dead && len - p >= FRAME_HEADER) {
      const length = (buf[p] << 16) | (buf[p + 1] << 8) | buf[p + 2];
      // Garbage where the peer's SETTINGS should be is named as such, whatever length it spells.
      if (!this.#settingsSeen && (buf[p + 3] !== FrameType.SETTINGS || buf[p + 4] & Flag.ACK)) {
        return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'the first frame is not SETTINGS');
      }
      if (length > this.localMaxFrame) {
        return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes above SETTINGS_MAX_FRAME_SIZE ${this.localMaxFrame}`);
      }
      if (len - p < FRAME_HEADER + length) break;
      const type = buf[p + 3];
      const flags = buf[p + 4];
      const id = buf.readUInt32BE(p + 5) & MAX_WINDOW;
      this.#frame(type, flags, id, buf, p + FRAME_HEADER, length);
      p += FRAME_HEADER + length;
    }
    if (this.dead) {
      this.#in = null;
      this.#inLen = 0;
      return;
    }
    this.#keep(buf, p, len);
  }

  /** Checks the client preface; returns where frames start, or -1 (wait for more, or error). */
  #checkPreface(buf: Buffer, len: number): number {
    const PREFACE_LEN = 24;
    const from = PREFACE_LEN - this.prefaceLeft;
    const n = Math.min(this.prefaceLeft, len);
    for (let i = 0; i < n; i++) {
      if (buf[i] !== PREFACE[from + i]) {
        this.connectionError(ErrorCode.PROTOCOL_ERROR, 'not an HTTP/2 client connection preface');
        return -1;
      }
    }
    this.prefaceLeft -= n;
    if (this.prefaceLeft > 0) {
      this.#inLen = 0;
      return -1;
    }
    return n;
  }

  #append(data: Buffer): void {
    const need = this.#inLen + data.length;
    if (!this.#in || this.#in.length < need) {
      const next = Buffer.allocUnsafe(Math.max(need, 2 * (this.#in?.length ?? 0), 1024));
      if (this.#in) this.#in.copy(next, 0, 0, this.#inLen);
      this.#in = next;
    }
    data.copy(this.#in, this.#inLen);
    this.#inLen = need;
  }

  /** Keeps buf[p..len) for the next receive (a copy: the caller's buffer is reused). */
  #keep(buf: Buffer, p: number, len: number): void {
    const rest = len - p;
    if (rest === 0) {
      // Nothing kept: an idle connection holds no input buffer.
      this.#inLen = 0;
      this.#in = null;
      return;
    }
    if (buf === this.#in) {
      if (p > 0) buf.copy(buf, 0, p, len);
    } else {
      if (!this.#in || this.#in.length < rest) this.#in = Buffer.allocUnsafe(Math.max(rest, 1024));
      buf.copy(this.#in, 0, p, len);
    }
    this.#inLen = rest;
  }

  #frame(type: number, flags: number, id: number, buf: Buffer, at: number, length: number): void {
    if (!this.#settingsSeen) {
      if (type !== FrameType.SETTINGS || flags & Flag.ACK) {
        return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'the first frame is not SETTINGS');
      }
      this.#settingsSeen = true;
    }
    if (this.#blockStream !== 0 && (type !== FrameType.CONTINUATION || id !== this.#blockStream)) {
      return this.connectionError(ErrorCode.PROTOCOL_ERROR, `frame type ${type} inside a header block of stream ${this.#blockStream}`);
    }
    switch (type) {
      case FrameType.DATA:
        return this.#data(flags, id, buf, at, length);
      case FrameType.HEADERS:
        return this.#headers(flags, id, buf, at, length);
      case FrameType.PRIORITY:
        if (id === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (length !== 5) return this.streamError(id, ErrorCode.FRAME_SIZE_ERROR, `PRIORITY of ${length} bytes`);
        this.#flood('PRIORITY');
        return;
      case FrameType.RST_STREAM:
        if (id === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
        if (length !== 4) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, `RST_STREAM of ${length} bytes`);
        if (this.isIdle(id)) return this.connectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
        return this.onResetFrame(id, buf.readUInt32BE(at));
      case FrameType.SETTINGS:
        return this.#settings(flags, id, buf, at, length);
      case FrameType.PUSH_PROMISE:
        return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE (push is disabled)');
      case FrameType.PING:
        if (id !== 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
        if (length !== 8) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, `PING of ${length} bytes`);
        if (flags & Flag.ACK) return;
        if (this.#flood('PING')) return;
        return this.out.ping(Flag.ACK, buf, at);
      case FrameType.GOAWAY:
        if (id !== 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
        if (length < 8) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, `GOAWAY of ${length} bytes`);
        return this.onGoawayFrame(buf.readUInt32BE(at) & MAX_WINDOW, buf.readUInt32BE(at + 4));
      case FrameType.WINDOW_UPDATE:
        return this.#windowUpdate(id, buf, at, length);
      case FrameType.CONTINUATION:
        if (this.#blockStream === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without HEADERS');
        return this.#continuation(flags, buf, at, length);
      default:
        // Unknown frame types are ignored (RFC 9113 5.5), but not without end.
        this.#flood(`type ${type}`);
        return;
    }
  }

  #data(flags: number, id: number, buf: Buffer, at: number, length: number): void {
    if (id === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    let data = length;
    if (flags & Flag.PADDED) {
      if (length < 1 || buf[at] >= length) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'DATA padding longer than the frame');
      data = length - 1 - buf[at];
    }
    if (length > this.#connRecv) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    this.#connRecv -= length;
    // The connection window is given back whatever becomes of the stream: the bytes are consumed.
    this.#connConsumed += length;
    if (updateDue(this.#connConsumed, this.connectionWindow)) {
      this.out.windowUpdate(0, this.#connConsumed);
      this.#connRecv += this.#connConsumed;
      this.#connConsumed = 0;
    }
    const stream = this.streams.get(id);
    if (!stream) {
      if (this.isIdle(id)) return this.connectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      return this.streamError(id, ErrorCode.STREAM_CLOSED, `DATA on closed stream ${id}`);
    }
    if (stream.remoteClosed) return this.streamError(id, ErrorCode.STREAM_CLOSED, `DATA after END_STREAM on stream ${id}`);
    if (length > stream.recvWindow) return this.streamError(id, ErrorCode.FLOW_CONTROL_ERROR, `DATA beyond the window of stream ${id}`);
    stream.recvWindow -= length;
    const end = (flags & Flag.END_STREAM) !== 0;
    if (length === 0 && !end && this.#flood('empty DATA')) return;
    if (!end) {
      stream.recvConsumed += length;
      if (updateDue(stream.recvConsumed, this.#recvInitial)) {
        this.out.windowUpdate(id, stream.recvConsumed);
        stream.recvWindow += stream.recvConsumed;
        stream.recvConsumed = 0;
      }
    }
    this.onDataFrame(stream, data, end);
  }

  #headers(flags: number, id: number, buf: Buffer, at: number, length: number): void {
    if (id === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let start = at;
    let end = at + length;
    if (flags & Flag.PADDED) {
      if (length < 1) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS too short for its padding');
      const pad = buf[at];
      start++;
      end -= pad;
    }
    if (flags & Flag.PRIORITY) start += 5;
    if (start > end) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS padding and priority longer than the frame');
    if (flags & Flag.PRIORITY && (buf.readUInt32BE(start - 5) & MAX_WINDOW) === id) {
      return this.streamError(id, ErrorCode.PROTOCOL_ERROR, `stream ${id} depends on itself`);
    }
    this.#blockEndStream = (flags & Flag.END_STREAM) !== 0;
    this.#blockPayload = length;
    if (flags & Flag.END_HEADERS) return this.#decodeBlock(id, buf, start, end);
    // A block in several frames: gathered, then decoded once complete.
    this.#blockStream = id;
    this.#blockFrames = 0;
    this.#blockLen = 0;
    this.#blockAppend(buf, start, end);
  }

  #continuation(flags: number, buf: Buffer, at: number, length: number): void {
    this.#blockPayload += length;
    if (++this.#blockFrames > MAX_CONTINUATIONS) {
      return this.connectionError(ErrorCode.ENHANCE_YOUR_CALM, `header block in more than ${MAX_CONTINUATIONS} CONTINUATION frames`);
    }
    if (this.#blockLen + length > this.#maxBlock) {
      return this.connectionError(ErrorCode.ENHANCE_YOUR_CALM, `header block above ${this.#maxBlock} bytes`);
    }
    this.#blockAppend(buf, at, at + length);
    if (flags & Flag.END_HEADERS) {
      const id = this.#blockStream;
      this.#blockStream = 0;
      this.#decodeBlock(id, this.#block!, 0, this.#blockLen);
      this.#block = null;
    }
  }

  #blockAppend(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    if (!this.#block || this.#block.length < this.#blockLen + n) {
      const next = Buffer.allocUnsafe(Math.max(this.#blockLen + n, 2 * (this.#block?.length ?? 0), 1024));
      if (this.#block) this.#block.copy(next, 0, 0, this.#blockLen);
      this.#block = next;
    }
    buf.copy(this.#block, this.#blockLen, start, end);
    this.#blockLen += n;
  }

  #decodeBlock(id: number, buf: Buffer, start: number, end: number): void {
    this.beginHeaderBlock(id);
    const err = this.decoder.decode(buf, start, end, this);
    if (err !== null) return this.connectionError(ErrorCode.COMPRESSION_ERROR, `HPACK: ${err}`);
    this.onHeaderBlock(id, this.#blockEndStream, this.#blockPayload);
  }

  #settings(flags: number, id: number, buf: Buffer, at: number, length: number): void {
    if (id !== 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) {
      if (length !== 0) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      if (this.#settingsUnacked === 0 && this.#flood('SETTINGS ACK')) return;
      // From now on the peer's encoder must keep to our table size (it says so with a size update).
      if (this.#settingsUnacked > 0) this.decoder.maxTableSize = this.localTableSize;
      if (this.#settingsUnacked > 0 && --this.#settingsUnacked === 0 && this.#recvInitial !== this.localWindow) {
        // Our window now applies: streams opened before the ack started with 65535.
        const delta = this.localWindow - this.#recvInitial;
        this.#recvInitial = this.localWindow;
        for (const s of this.streams.values()) {
          s.recvWindow += delta;
          // A smaller window may leave the stream shut with consumed bytes not yet given back.
          if (!s.remoteClosed && updateDue(s.recvConsumed, this.localWindow)) {
            this.out.windowUpdate(s.id, s.recvConsumed);
            s.recvWindow += s.recvConsumed;
            s.recvConsumed = 0;
          }
        }
      }
      return;
    }
    if (length % 6 !== 0) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, `SETTINGS of ${length} bytes`);
    for (let p = at; p < at + length; p += 6) {
      const key = buf.readUInt16BE(p);
      const value = buf.readUInt32BE(p + 2);
      const problem = this.checkSetting(key, value);
      if (problem) return this.connectionError(ErrorCode.PROTOCOL_ERROR, problem);
      switch (key) {
        case Setting.HEADER_TABLE_SIZE:
          this.encoder.setPeerTableSize(value);
          break;
        case Setting.ENABLE_PUSH:
          if (value > 1) return this.connectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH ${value}`);
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.peerMaxStreams = value;
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const s of this.streams.values()) {
            const w = growWindow(s.sendWindow, delta);
            if (w === null) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, `stream ${s.id} window above 2^31-1`);
            s.sendWindow = w;
            if (delta > 0 && s.body) this.#enqueue(s);
          }
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < MIN_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) {
            return this.connectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value}`);
          }
          this.peerMaxFrame = value;
          break;
        default:
          // MAX_HEADER_LIST_SIZE is advisory; unknown settings are ignored (RFC 9113 6.5.2).
          break;
      }
    }
    if (this.#flood('SETTINGS')) return;
    this.out.settingsAck();
    this.onSettings();
  }

  #windowUpdate(id: number, buf: Buffer, at: number, length: number): void {
    if (length !== 4) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, `WINDOW_UPDATE of ${length} bytes`);
    const inc = buf.readUInt32BE(at) & MAX_WINDOW;
    if (id === 0) {
      if (inc === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0 on the connection');
      const w = growWindow(this.#connSend, inc);
      if (w === null) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      this.#connSend = w;
      return;
    }
    const stream = this.streams.get(id);
    if (!stream) {
      if (this.isIdle(id)) return this.connectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
      return; // closed: a late update is normal
    }
    if (inc === 0) return this.streamError(id, ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE of 0 on stream ${id}`);
    const w = growWindow(stream.sendWindow, inc);
    if (w === null) return this.streamError(id, ErrorCode.FLOW_CONTROL_ERROR, `stream ${id} window above 2^31-1`);
    stream.sendWindow = w;
    if (stream.body) this.#enqueue(stream);
  }

  // ---- output of bodies ----

  #enqueue(stream: S): void {
    if (stream.queued) return;
    stream.queued = true;
    this.#sendQueue.push(stream);
  }

  /** Writes DATA frames while windows, the budget and bodies allow; streams take turns frame by frame. */
  #pump(budget: number): void {
    const q = this.#sendQueue;
    if (q.length === 0) return;
    let i = 0;
    while (i < q.length && this.out.len < budget && this.#connSend > 0) {
      const s = q[i];
      const body = s.body;
      if (!body || !this.streams.has(s.id)) {
        s.queued = false;
        i++;
        continue;
      }
      const left = body.length - s.bodyOffset;
      const n = sendable(left, s.sendWindow, this.#connSend, this.peerMaxFrame);
      if (n === 0 && left > 0) {
        // Its window is shut: it waits for a WINDOW_UPDATE (which queues it again).
        s.queued = false;
        i++;
        continue;
      }
      const end = n === left;
      this.out.data(s.id, body, s.bodyOffset, n, end);
      s.bodyOffset += n;
      s.sendWindow -= n;
      this.#connSend -= n;
      if (end) {
        s.body = null;
        this.#pendingBodies--;
        s.queued = false;
        s.localClosed = true;
        i++;
        this.maybeClose(s);
      } else if (q.length - i > 1) {
        // Its turn is over: to the back of the queue.
        q.push(s);
        i++;
      }
    }
    // Drop the served prefix; what remains keeps its order.
    if (i > 0) q.splice(0, i);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.floor(v)));
}
