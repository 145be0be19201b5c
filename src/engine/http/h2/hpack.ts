// HPACK (RFC 7541): header block decoder and encoder with their dynamic tables. Written here
// rather than taken from npm: hpack.js (the package the lists offer) is a readable-stream Duplex
// per direction with nextTick callbacks and an object per header, unmaintained since 2016; a
// sans-I/O session needs a synchronous decode into a sink and cached encodings.
import { huffmanDecode, huffmanEncode, huffmanLength } from './huffman';
import { STATIC_COUNT, STATIC_FIELD, STATIC_NAME, STATIC_TABLE } from './static_table';

/** An entry's size: name + value + 32 (RFC 7541 4.1). */
const ENTRY_OVERHEAD = 32;

/** The dynamic table: a ring of entries, newest at index 62 (STATIC_COUNT + 1). */
export class DynamicTable {
  // A ring whose capacity is a power of two (slot = (head + i) & mask): a server that adds an entry
  // to every response (nginx) evicts one each time, so this runs several times per response.
  #names: string[] = [];
  #values: string[] = [];
  /** Each entry's size, kept so that evicting reads no strings. */
  #sizes: number[] = [];
  #mask = -1;
  /** Slot of the newest entry; entries go newest to oldest at head, head+1, ... (mod capacity). */
  #head = 0;
  count = 0;
  size = 0;
  /** Changes whenever an entry is added or evicted (an encoding that referenced the table is stale). */
  generation = 0;

  constructor(public maxSize: number) {}

  name(i: number): string {
    return this.#names[(this.#head + i) & this.#mask];
  }
  value(i: number): string {
    return this.#values[(this.#head + i) & this.#mask];
  }

  setMaxSize(n: number): void {
    this.maxSize = n;
    this.#evict(0);
  }

  add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    this.generation++;
    if (size > this.maxSize) {
      // Larger than the table: the table is emptied, nothing is added (RFC 7541 4.4).
      this.count = 0;
      this.size = 0;
      return;
    }
    this.#evict(size);
    if (this.count === this.#names.length) this.#grow();
    const head = (this.#head = (this.#head - 1) & this.#mask);
    this.#names[head] = name;
    this.#values[head] = value;
    this.#sizes[head] = size;
    this.count++;
    this.size += size;
  }

  /** Index (0 = newest) of an entry equal to name and value, with nameOnly the first with that name, or -1. */
  find(name: string, value: string): { exact: number; nameOnly: number } {
    let nameOnly = -1;
    for (let i = 0; i < this.count; i++) {
      if (this.name(i) !== name) continue;
      if (this.value(i) === value) return { exact: i, nameOnly: i };
      if (nameOnly < 0) nameOnly = i;
    }
    return { exact: -1, nameOnly };
  }

  #evict(room: number): void {
    while (this.count > 0 && this.size + room > this.maxSize) {
      this.size -= this.#sizes[(this.#head + this.count - 1) & this.#mask];
      this.count--;
      this.generation++;
    }
  }

  #grow(): void {
    const names: string[] = [];
    const values: string[] = [];
    const sizes: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const slot = (this.#head + i) & this.#mask;
      names.push(this.#names[slot]);
      values.push(this.#values[slot]);
      sizes.push(this.#sizes[slot]);
    }
    const next = Math.max(16, this.#names.length * 2);
    names.length = next;
    values.length = next;
    sizes.length = next;
    this.#names = names;
    this.#values = values;
    this.#sizes = sizes;
    this.#mask = next - 1;
    this.#head = 0;
  }
}

/** Receives the fields of a block as they decode. */
export interface HeaderSink {
  header(name: string, value: string): void;
}

/** Why a block failed to decode (a COMPRESSION_ERROR), or null. */
export type DecodeError = string | null;

/** Header blocks longer than this are never kept for replay. */
const MAX_REPLAY_BLOCK = 1024;

/**
 * The last header block decoded, kept so that the same bytes again are replayed rather than
 * decoded: its bytes, its fields, and which of them it added to the dynamic table. A block is
 * kept only when what it decodes to depends on its bytes alone: no index into the dynamic table
 * and no table size update. Adding to the table is still done on replay, in the same order, so
 * the table ends exactly as a decode would leave it. A server answers a bench with the same head
 * again and again (nginx: the same literals with incremental indexing each time, their Huffman
 * strings decoded into new strings each time): replaying costs a comparison of its bytes.
 */
class ReplayBlock {
  bytes = Buffer.allocUnsafe(MAX_REPLAY_BLOCK);
  /** -1: nothing kept. */
  len = -1;
  names: string[] = [];
  values: string[] = [];
  added: boolean[] = [];
  count = 0;
  listSize = 0;

  matches(src: Buffer, start: number, end: number): boolean {
    const len = end - start;
    if (len !== this.len) return false;
    const b = this.bytes;
    for (let i = 0; i < len; i++) if (b[i] !== src[start + i]) return false;
    return true;
  }
}

export class HpackDecoder {
  readonly table: DynamicTable;
  /** The largest table size the encoder may ask for: our SETTINGS_HEADER_TABLE_SIZE. */
  maxTableSize: number;
  /** Sum of name + value + 32 over the last block's fields (compare with MAX_HEADER_LIST_SIZE). */
  listSize = 0;
  #p = 0;
  readonly #last = new ReplayBlock();

  constructor(maxTableSize = 4096) {
    this.maxTableSize = maxTableSize;
    this.table = new DynamicTable(maxTableSize);
  }

  /** Decodes one complete header block, src[start..end), into sink. */
  decode(src: Buffer, start: number, end: number, sink: HeaderSink): DecodeError {
    const last = this.#last;
    if (last.matches(src, start, end)) return this.#replay(sink);
    last.len = -1;
    last.count = 0;
    // Whether the block decodes the same whatever the table holds (see ReplayBlock).
    let replayable = end - start <= MAX_REPLAY_BLOCK;
    this.#p = start;
    this.listSize = 0;
    let fieldsSeen = false;
    const t = this.table;
    while (this.#p < end) {
      const b = src[this.#p];
      let name: string;
      let value: string;
      if (b & 0x80) {
        // Indexed field.
        const i = this.#int(src, end, 7);
        if (i < 0) return 'bad integer';
        if (i === 0) return 'index 0';
        if (i <= STATIC_COUNT) {
          name = STATIC_TABLE[i][0];
          value = STATIC_TABLE[i][1];
        } else if (i - STATIC_COUNT - 1 < t.count) {
          replayable = false;
          name = t.name(i - STATIC_COUNT - 1);
          value = t.value(i - STATIC_COUNT - 1);
        } else return `index ${i} beyond the table`;
        if (replayable) this.#note(name, value, false);
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update: only before the first field (RFC 7541 4.2).
        replayable = false;
        if (fieldsSeen) return 'table size update after a field';
        const size = this.#int(src, end, 5);
        if (size < 0) return 'bad integer';
        if (size > this.maxTableSize) return `table size ${size} above the ${this.maxTableSize} allowed`;
        t.setMaxSize(size);
        continue;
      } else {
        // Literal: with incremental indexing (01), without (0000) or never indexed (0001).
        const indexing = (b & 0xc0) === 0x40;
        const i = this.#int(src, end, indexing ? 6 : 4);
        if (i < 0) return 'bad integer';
        if (i === 0) {
          const n = this.#string(src, end);
          if (n === null) return 'bad name string';
          name = n;
        } else if (i <= STATIC_COUNT) name = STATIC_TABLE[i][0];
        else if (i - STATIC_COUNT - 1 < t.count) {
          replayable = false;
          name = t.name(i - STATIC_COUNT - 1);
        } else return `name index ${i} beyond the table`;
        const v = this.#string(src, end);
        if (v === null) return 'bad value string';
        value = v;
        if (indexing) t.add(name, value);
        if (replayable) this.#note(name, value, indexing);
      }
      fieldsSeen = true;
      this.listSize += name.length + value.length + ENTRY_OVERHEAD;
      sink.header(name, value);
    }
    if (replayable) {
      src.copy(last.bytes, 0, start, end);
      last.len = end - start;
      last.listSize = this.listSize;
    }
    return null;
  }

  #note(name: string, value: string, added: boolean): void {
    const last = this.#last;
    const k = last.count++;
    last.names[k] = name;
    last.values[k] = value;
    last.added[k] = added;
  }

  /** The last block again: the same fields to the sink, the same additions to the table. */
  #replay(sink: HeaderSink): DecodeError {
    const last = this.#last;
    const t = this.table;
    const { names, values, added } = last;
    for (let k = 0; k < last.count; k++) {
      if (added[k]) t.add(names[k], values[k]);
      sink.header(names[k], values[k]);
    }
    this.listSize = last.listSize;
    return null;
  }

  /** An integer with an n-bit prefix at #p; -1 when truncated or beyond 2^28. */
  #int(src: Buffer, end: number, n: number): number {
    const mask = (1 << n) - 1;
    let v = src[this.#p++] & mask;
    if (v < mask) return v;
    let shift = 0;
    for (;;) {
      if (this.#p >= end || shift > 21) return -1;
      const b = src[this.#p++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return v;
    }
  }

  #string(src: Buffer, end: number): string | null {
    if (this.#p >= end) return null;
    const huffman = (src[this.#p] & 0x80) !== 0;
    const len = this.#int(src, end, 7);
    if (len < 0 || len > end - this.#p) return null;
    const start = this.#p;
    this.#p += len;
    if (huffman) return huffmanDecode(src, start, start + len);
    return src.toString('latin1', start, start + len);
  }
}

/** Fields that are not worth a table entry: values that change on every message, or secrets. */
const NOT_INDEXED = new Set(['date', 'etag', 'if-modified-since', 'last-modified', 'set-cookie', 'authorization', 'cookie']);

/** Where blocks are encoded (encode() is synchronous and returns a copy: one scratch serves every encoder). */
let scratch = Buffer.allocUnsafe(4096);

export class HpackEncoder {
  readonly table: DynamicTable;
  /** A size update to emit at the start of the next block (the peer lowered its table size). */
  #pendingSize = -1;
  #len = 0;

  /** maxTableSize: our own cap on the table we keep for the peer's decoder (4096 is the default the peer allows). */
  constructor(readonly maxTableSize = 4096) {
    this.table = new DynamicTable(Math.min(maxTableSize, 4096));
  }

  /** The peer's SETTINGS_HEADER_TABLE_SIZE: the table we use is at most that. */
  setPeerTableSize(n: number): void {
    const size = Math.min(n, this.maxTableSize);
    if (size === this.table.maxSize) return;
    this.table.setMaxSize(size);
    this.#pendingSize = size;
  }

  /** Encodes a header list into a new Buffer. */
  encode(fields: ReadonlyArray<readonly [string, string]>): Buffer {
    this.#len = 0;
    if (this.#pendingSize >= 0) {
      this.#int(0x20, 5, this.#pendingSize);
      this.table.generation++;
      this.#pendingSize = -1;
    }
    for (const [name, value] of fields) this.#field(name, value);
    return Buffer.from(scratch.subarray(0, this.#len));
  }

  #field(name: string, value: string): void {
    const staticExact = STATIC_FIELD.get(`${name}\0${value}`);
    if (staticExact !== undefined) return this.#int(0x80, 7, staticExact);
    const t = this.table;
    const found = t.find(name, value);
    if (found.exact >= 0) return this.#int(0x80, 7, found.exact + STATIC_COUNT + 1);
    let nameIndex = STATIC_NAME.get(name) ?? 0;
    if (nameIndex === 0 && found.nameOnly >= 0) nameIndex = found.nameOnly + STATIC_COUNT + 1;
    const index = !NOT_INDEXED.has(name) && name.length + value.length + ENTRY_OVERHEAD <= t.maxSize / 2;
    if (index) this.#int(0x40, 6, nameIndex);
    else this.#int(0x00, 4, nameIndex);
    if (nameIndex === 0) this.#string(name);
    this.#string(value);
    if (index) t.add(name, value);
  }

  #reserve(n: number): void {
    if (this.#len + n <= scratch.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#len + n, scratch.length * 2));
    scratch.copy(next, 0, 0, this.#len);
    scratch = next;
  }

  #int(bits: number, n: number, v: number): void {
    this.#reserve(6);
    const mask = (1 << n) - 1;
    if (v < mask) {
      scratch[this.#len++] = bits | v;
      return;
    }
    scratch[this.#len++] = bits | mask;
    v -= mask;
    while (v >= 128) {
      scratch[this.#len++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    scratch[this.#len++] = v;
  }

  #string(s: string): void {
    const h = huffmanLength(s);
    if (h < s.length) {
      this.#int(0x80, 7, h);
      this.#reserve(h);
      this.#len = huffmanEncode(s, scratch, this.#len);
    } else {
      this.#int(0x00, 7, s.length);
      this.#reserve(s.length);
      this.#len += scratch.write(s, this.#len, 'latin1');
    }
  }
}
