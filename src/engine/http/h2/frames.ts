// HTTP/2 frames (RFC 9113 section 4 and 6): the 9-byte frame header, the type, flag, setting and
// error-code numbers, and writers that put whole frames into an OutputBuffer. Parsing is a
// header read at an offset (no object per frame): the sessions dispatch on the type byte.

/** The client connection preface (RFC 9113 3.4), before the client's SETTINGS. */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER = 9;

export const enum FrameType {
  DATA = 0x0,
  HEADERS = 0x1,
  PRIORITY = 0x2,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
}

export const enum Flag {
  END_STREAM = 0x1,
  ACK = 0x1,
  END_HEADERS = 0x4,
  PADDED = 0x8,
  PRIORITY = 0x20,
}

export const enum Setting {
  HEADER_TABLE_SIZE = 0x1,
  ENABLE_PUSH = 0x2,
  MAX_CONCURRENT_STREAMS = 0x3,
  INITIAL_WINDOW_SIZE = 0x4,
  MAX_FRAME_SIZE = 0x5,
  MAX_HEADER_LIST_SIZE = 0x6,
}

/** Error codes (RFC 9113 section 7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

const ERROR_NAMES = Object.fromEntries(Object.entries(ErrorCode).map(([k, v]) => [v, k])) as Record<number, string>;
/** `PROTOCOL_ERROR`, or `0x1f` for a code RFC 9113 does not name. */
export function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `0x${code.toString(16)}`;
}

export const DEFAULT_WINDOW = 65_535;
export const MAX_WINDOW = 0x7fff_ffff;
export const MIN_MAX_FRAME_SIZE = 16_384;
export const MAX_MAX_FRAME_SIZE = 0xff_ffff;

const EMPTY = Buffer.alloc(0);

/**
 * A growable byte buffer that frames are written into; take() hands out what is written as one
 * Buffer (a view of this buffer, never touched again) and starts a new one on the next write.
 * So a connection allocates no Buffer per frame, copies nothing on the way out, and an idle one
 * holds no output buffer at all.
 */
export class OutputBuffer {
  buf: Buffer = EMPTY;
  len = 0;
  /** Size of the next buffer: the last output's, so a stream of large outputs grows once. */
  #hint = 1024;

  /** Makes room for n more bytes; returns the offset to write them at. */
  reserve(n: number): number {
    const need = this.len + n;
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2, this.#hint));
      if (this.len) this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    const at = this.len;
    this.len = need;
    return at;
  }

  /** Everything written since the last take, as one Buffer of its own, or null. */
  take(): Buffer | null {
    if (this.len === 0) return null;
    const out = this.buf.subarray(0, this.len);
    // Small outputs start small (pooled allocations); a burst of large ones starts at their size.
    this.#hint = Math.min(Math.max(1024, this.len), 256 * 1024);
    this.buf = EMPTY;
    this.len = 0;
    return out;
  }

  /** Writes a frame header; the payload (length bytes) follows at the returned offset. */
  frame(length: number, type: number, flags: number, streamId: number): number {
    const at = this.reserve(FRAME_HEADER + length);
    const b = this.buf;
    b[at] = length >>> 16;
    b[at + 1] = (length >>> 8) & 0xff;
    b[at + 2] = length & 0xff;
    b[at + 3] = type;
    b[at + 4] = flags;
    b.writeUInt32BE(streamId & MAX_WINDOW, at + 5);
    return at + FRAME_HEADER;
  }

  bytes(data: Uint8Array): void {
    const at = this.reserve(data.length);
    this.buf.set(data, at);
  }

  settings(entries: ReadonlyArray<readonly [number, number]>): void {
    let at = this.frame(entries.length * 6, FrameType.SETTINGS, 0, 0);
    for (const [id, value] of entries) {
      this.buf.writeUInt16BE(id, at);
      this.buf.writeUInt32BE(value >>> 0, at + 2);
      at += 6;
    }
  }

  settingsAck(): void {
    this.frame(0, FrameType.SETTINGS, Flag.ACK, 0);
  }

  ping(flags: number, payload: Buffer, offset: number): void {
    const at = this.frame(8, FrameType.PING, flags, 0);
    payload.copy(this.buf, at, offset, offset + 8);
  }

  windowUpdate(streamId: number, increment: number): void {
    const at = this.frame(4, FrameType.WINDOW_UPDATE, 0, streamId);
    this.buf.writeUInt32BE(increment, at);
  }

  rstStream(streamId: number, code: number): void {
    const at = this.frame(4, FrameType.RST_STREAM, 0, streamId);
    this.buf.writeUInt32BE(code >>> 0, at);
  }

  goaway(lastStreamId: number, code: number): void {
    const at = this.frame(8, FrameType.GOAWAY, 0, 0);
    this.buf.writeUInt32BE(lastStreamId, at);
    this.buf.writeUInt32BE(code >>> 0, at + 4);
  }

  /** A header block as HEADERS plus CONTINUATION frames of at most maxFrame payload bytes each. */
  headers(streamId: number, block: Buffer, endStream: boolean, maxFrame: number): void {
    let off = 0;
    let type: number = FrameType.HEADERS;
    do {
      const n = Math.min(maxFrame, block.length - off);
      const last = off + n === block.length;
      let flags = last ? Flag.END_HEADERS : 0;
      if (type === FrameType.HEADERS && endStream) flags |= Flag.END_STREAM;
      const at = this.frame(n, type, flags, streamId);
      block.copy(this.buf, at, off, off + n);
      off += n;
      type = FrameType.CONTINUATION;
    } while (off < block.length);
  }

  data(streamId: number, body: Buffer, offset: number, n: number, endStream: boolean): void {
    const at = this.frame(n, FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId);
    body.copy(this.buf, at, offset, offset + n);
  }
}
