// Reading and writing raw HTTP/2 frames in tests, to play a peer that does what our sessions
// never would (bad sizes, floods, windows that never open) and to look at what a session sent.
import assert from 'node:assert/strict';
import { FRAME_HEADER } from '../../src/engine/http/h2/frames';

export interface RawFrame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** Splits a byte string into frames; throws when it is not whole frames (a session's output always is). */
export function parseFrames(buf: Buffer, skipPreface = false): RawFrame[] {
  let p = skipPreface ? 24 : 0;
  const frames: RawFrame[] = [];
  while (p < buf.length) {
    assert.ok(buf.length - p >= FRAME_HEADER, `a partial frame header at ${p} of ${buf.length}`);
    const len = buf.readUIntBE(p, 3);
    assert.ok(buf.length - p - FRAME_HEADER >= len, `a partial frame at ${p}`);
    frames.push({ type: buf[p + 3], flags: buf[p + 4], id: buf.readUInt32BE(p + 5) & 0x7fffffff, payload: buf.subarray(p + 9, p + 9 + len) });
    p += FRAME_HEADER + len;
  }
  return frames;
}

export function frame(type: number, flags: number, id: number, payload: Buffer | number[] = []): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const h = Buffer.alloc(FRAME_HEADER);
  h.writeUIntBE(body.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, body]);
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function settingsPayload(entries: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(entries.length * 6);
  entries.forEach(([k, v], i) => {
    b.writeUInt16BE(k, i * 6);
    b.writeUInt32BE(v >>> 0, i * 6 + 2);
  });
  return b;
}

/** The GOAWAY frames in a byte string: [last stream id, code]. */
export function goaways(buf: Buffer | null, skipPreface = false): Array<[number, number]> {
  if (!buf) return [];
  return parseFrames(buf, skipPreface)
    .filter((f) => f.type === 7)
    .map((f) => [f.payload.readUInt32BE(0) & 0x7fffffff, f.payload.readUInt32BE(4)]);
}

export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}
