// A TLS session cache in shared memory, for all the workers of one server: each worker has its
// own SSL_CTX, and OpenSSL's built-in cache lives in it, so a TLS 1.2 session ID (or a TLS 1.3
// stateful ticket) issued by one worker would only resume on that worker. OpenSSL's external
// cache callbacks (context.ts) store serialized sessions (i2d_SSL_SESSION) here instead, and any
// worker finds them. The idea is nginx's `ssl_session_cache shared:`, over a SharedArrayBuffer.
//
// Bounded in both ways that matter: a set-associative index (a session ID hashes to one set of
// WAYS entries, so a lookup reads at most WAYS entries, whatever IDs clients send) and a ring of
// bytes holding the records, written in order. An entry is valid while its record has not been
// overwritten by the ring wrapping (its position is within RING bytes of the head) and its
// expiry has not passed; a full set evicts its oldest entry. A futex-style lock (Atomics)
// serializes the few microseconds each operation takes; only worker threads take it (the main
// thread never waits: Atomics.wait is not allowed there), and they only read the statistics.
//
// Pure TypeScript, no OpenSSL: bytes in, bytes out.

export interface SessionStoreSize {
  /** Index sets; each holds WAYS entries. */
  sets: number;
  /** Bytes of the record ring. */
  ringBytes: number;
}

/** 4096 × 4 = 16,384 sessions, 8 MiB of records (a TLS 1.2 session is ~150 bytes, more with a client certificate). */
export const DEFAULT_STORE_SIZE: SessionStoreSize = { sets: 4096, ringBytes: 8 * 1024 * 1024 };
const WAYS = 4;
/** Largest session ID (SSL_MAX_SSL_SESSION_ID_LENGTH is 32). */
const MAX_ID = 32;

// Header: Int32 slots, then one Float64 (the ring head, an absolute byte count).
const LOCK = 0;
const SETS = 1;
const RING = 2;
const STAT_STORED = 3;
const STAT_HITS = 4;
const STAT_MISSES = 5;
const STAT_EVICTED = 6;
const STAT_TOO_LARGE = 7;
const STAT_REMOVED = 8;
const HEADER_INTS = 16;
const HEAD_F64 = HEADER_INTS / 2; // Float64 index of the head, right after the Int32 slots
const HEADER_BYTES = HEADER_INTS * 4 + 8;

// Index entry: Int32 [hash, length] and Float64 [position, expiry (ms since the epoch)].
const E_I32 = 2;
const E_F64 = 2;

export interface SessionStoreStats {
  /** Sessions stored (new sessions the workers handed over). */
  stored: number;
  /** Lookups that found a session. */
  hits: number;
  /** Lookups that found none (unknown, expired or overwritten). */
  misses: number;
  /** Valid sessions pushed out by newer ones (the cache was full for their set). */
  evicted: number;
  /** Sessions too large to store (not cached: the client gets a full handshake next time). */
  tooLarge: number;
  /** Sessions OpenSSL asked to remove (timed out, or the connection failed). */
  removed: number;
}

export class SharedSessionStore {
  readonly #i32: Int32Array;
  readonly #head: Float64Array;
  readonly #ei32: Int32Array;
  readonly #ef64: Float64Array;
  readonly #ring: Uint8Array;
  readonly #sets: number;
  readonly #ringBytes: number;

  /** The shared memory for a store of `size`; made once (main thread) and given to every worker. */
  static buffer(size: SessionStoreSize = DEFAULT_STORE_SIZE): SharedArrayBuffer {
    const entries = size.sets * WAYS;
    const b = new SharedArrayBuffer(HEADER_BYTES + entries * 8 * E_F64 + entries * 4 * E_I32 + size.ringBytes);
    const h = new Int32Array(b, 0, HEADER_INTS);
    h[SETS] = size.sets;
    h[RING] = size.ringBytes;
    return b;
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    const h = new Int32Array(buffer, 0, HEADER_INTS);
    this.#i32 = h;
    this.#sets = h[SETS];
    this.#ringBytes = h[RING];
    const entries = this.#sets * WAYS;
    this.#head = new Float64Array(buffer, HEAD_F64 * 8, 1);
    let off = HEADER_BYTES;
    this.#ef64 = new Float64Array(buffer, off, entries * E_F64);
    off += entries * 8 * E_F64;
    this.#ei32 = new Int32Array(buffer, off, entries * E_I32);
    off += entries * 4 * E_I32;
    this.#ring = new Uint8Array(buffer, off, this.#ringBytes);
  }

  /** Largest record (ID + serialized session) the ring takes: bigger ones are not cached. */
  get maxRecord(): number {
    return Math.min(64 * 1024, this.#ringBytes >>> 4);
  }

  /** Counts a session that was not offered to put() because it is larger than maxRecord. */
  countTooLarge(): void {
    Atomics.add(this.#i32, STAT_TOO_LARGE, 1);
  }

  /** Stores (or replaces) the session `der` under `id` until `expiresAt` (ms since the epoch). False when it is too large. */
  put(id: Uint8Array, der: Uint8Array, expiresAt: number, now = Date.now()): boolean {
    if (id.length === 0 || id.length > MAX_ID) return false;
    const len = 1 + id.length + der.length;
    if (len > this.maxRecord) {
      Atomics.add(this.#i32, STAT_TOO_LARGE, 1);
      return false;
    }
    const h = hashId(id);
    this.#lock();
    try {
      const base = ((h >>> 0) % this.#sets) * WAYS;
      // The same ID again replaces it; else a free or dead way; else the oldest.
      let way = -1;
      let oldest = -1;
      for (let w = 0; w < WAYS; w++) {
        const e = base + w;
        if (!this.#alive(e, now)) {
          if (way < 0) way = e;
          continue;
        }
        if (this.#ei32[e * E_I32] === h && this.#idAt(e, id)) {
          way = e;
          break;
        }
        if (oldest < 0 || this.#ef64[e * E_F64] < this.#ef64[oldest * E_F64]) oldest = e;
      }
      if (way < 0) {
        way = oldest;
        Atomics.add(this.#i32, STAT_EVICTED, 1);
      }
      // A record never straddles the end of the ring: skip to its start instead.
      let head = this.#head[0];
      let at = head % this.#ringBytes;
      if (at + len > this.#ringBytes) {
        head += this.#ringBytes - at;
        at = 0;
      }
      const r = this.#ring;
      r[at] = id.length;
      r.set(id, at + 1);
      r.set(der, at + 1 + id.length);
      this.#ei32[way * E_I32] = h;
      this.#ei32[way * E_I32 + 1] = len;
      this.#ef64[way * E_F64] = head;
      this.#ef64[way * E_F64 + 1] = expiresAt;
      this.#head[0] = head + len;
      Atomics.add(this.#i32, STAT_STORED, 1);
      return true;
    } finally {
      this.#unlock();
    }
  }

  /** The serialized session stored under `id` (a copy), or undefined. */
  get(id: Uint8Array, now = Date.now()): Uint8Array | undefined {
    const e = id.length > 0 && id.length <= MAX_ID ? this.#find(id, now, false) : undefined;
    Atomics.add(this.#i32, e ? STAT_HITS : STAT_MISSES, 1);
    return e;
  }

  /** Forgets the session stored under `id` (OpenSSL's remove callback). */
  delete(id: Uint8Array): boolean {
    if (id.length === 0 || id.length > MAX_ID) return false;
    const found = this.#find(id, Date.now(), true) !== undefined;
    if (found) Atomics.add(this.#i32, STAT_REMOVED, 1);
    return found;
  }

  stats(): SessionStoreStats {
    const h = this.#i32;
    return {
      stored: Atomics.load(h, STAT_STORED),
      hits: Atomics.load(h, STAT_HITS),
      misses: Atomics.load(h, STAT_MISSES),
      evicted: Atomics.load(h, STAT_EVICTED),
      tooLarge: Atomics.load(h, STAT_TOO_LARGE),
      removed: Atomics.load(h, STAT_REMOVED),
    };
  }

  #find(id: Uint8Array, now: number, remove: boolean): Uint8Array | undefined {
    const h = hashId(id);
    this.#lock();
    try {
      const base = ((h >>> 0) % this.#sets) * WAYS;
      for (let w = 0; w < WAYS; w++) {
        const e = base + w;
        if (this.#ei32[e * E_I32] !== h || !this.#alive(e, now) || !this.#idAt(e, id)) continue;
        if (remove) {
          this.#ei32[e * E_I32 + 1] = 0;
          return new Uint8Array(0);
        }
        const at = this.#ef64[e * E_F64] % this.#ringBytes;
        return this.#ring.slice(at + 1 + id.length, at + this.#ei32[e * E_I32 + 1]);
      }
      return undefined;
    } finally {
      this.#unlock();
    }
  }

  /** Whether entry e holds a record still in the ring and not expired. */
  #alive(e: number, now: number): boolean {
    return (
      this.#ei32[e * E_I32 + 1] > 0 && this.#ef64[e * E_F64] >= this.#head[0] - this.#ringBytes && this.#ef64[e * E_F64 + 1] > now
    );
  }

  #idAt(e: number, id: Uint8Array): boolean {
    const at = this.#ef64[e * E_F64] % this.#ringBytes;
    const r = this.#ring;
    if (r[at] !== id.length) return false;
    for (let i = 0; i < id.length; i++) if (r[at + 1 + i] !== id[i]) return false;
    return true;
  }

  // Drepper's mutex ("Futexes are tricky", mutex2): 0 free, 1 locked, 2 locked with waiters.
  #lock(): void {
    const h = this.#i32;
    let c = Atomics.compareExchange(h, LOCK, 0, 1);
    if (c === 0) return;
    do {
      if (c === 2 || Atomics.compareExchange(h, LOCK, 1, 2) !== 0) Atomics.wait(h, LOCK, 2, 10);
    } while ((c = Atomics.compareExchange(h, LOCK, 0, 2)) !== 0);
  }

  #unlock(): void {
    const h = this.#i32;
    if (Atomics.sub(h, LOCK, 1) !== 1) {
      Atomics.store(h, LOCK, 0);
      Atomics.notify(h, LOCK, 1);
    }
  }
}

/** FNV-1a, 32 bits, as an Int32 (how the index stores it). Session IDs are random, but clients choose the IDs they send. */
function hashId(id: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id[i];
    h = Math.imul(h, 0x01000193);
  }
  // FNV's low bits (which pick the set) mix poorly: finish with murmur3's fmix32.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
