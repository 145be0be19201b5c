// Native buffers at stable addresses, carved out of page slabs (one arena per completion port,
// so per loop and per thread). Buffers are reused last-in first-out from the lowest slab, so a
// quiet loop keeps touching the same few pages and the upper slabs empty out; trim() then hands
// whole free slabs back to the system and drops the pages of free buffers it keeps, so memory
// taken by a wave of connections returns when they leave. A buffer handed to the kernel stays
// out of the arena until that operation's completion is reaped.
import { nativeView } from '../../native/libc';
import { PAGE_SIZE, nativeAlloc, pageAlloc, pageDiscard, pageFree } from '../../native/memory';

export interface ArenaStats {
  bufferSize: number;
  /** Buffers handed out now. */
  inUse: number;
  /** Buffers the slabs hold (in use or free). */
  allocated: number;
  /** Most buffers in use at once since the last trim. */
  highWater: number;
  /** Bytes of slabs held (address space; only touched pages are resident). */
  slabBytes: number;
}

export class BufferArena {
  readonly perSlab: number;
  readonly slabBytes: number;
  /** Slab base addresses; undefined where a slab was given back. */
  #base: (bigint | undefined)[] = [];
  /** Per slab: free buffer indices (a stack: the last given back is taken first). */
  #free: number[][] = [];
  /** Lowest slab that may have a free buffer. */
  #hint = 0;
  #inUse = 0;
  #allocated = 0;
  #peak = 0;

  /**
   * @param bufferSize bytes per buffer, a multiple of the page size when `discard` is to work
   * @param perSlab buffers per slab (the unit of memory taken from and given back to the system)
   */
  constructor(
    readonly bufferSize: number,
    perSlab = 16
  ) {
    this.perSlab = perSlab;
    this.slabBytes = Math.ceil((bufferSize * perSlab) / PAGE_SIZE) * PAGE_SIZE;
  }

  /** A free buffer's id (allocating a slab when every one is taken). */
  take(): number {
    const slabs = this.#free;
    let s = this.#hint;
    while (s < slabs.length && (this.#base[s] === undefined || slabs[s].length === 0)) s++;
    if (s === slabs.length || this.#base[s] === undefined) s = this.#grow();
    this.#hint = s;
    const i = slabs[s].pop()!;
    if (++this.#inUse > this.#peak) this.#peak = this.#inUse;
    return s * this.perSlab + i;
  }

  give(id: number): void {
    const s = (id / this.perSlab) | 0;
    this.#free[s].push(id - s * this.perSlab);
    this.#inUse--;
    if (s < this.#hint) this.#hint = s;
  }

  address(id: number): bigint {
    const s = (id / this.perSlab) | 0;
    return this.#base[s]! + BigInt((id - s * this.perSlab) * this.bufferSize);
  }

  get inUse(): number {
    return this.#inUse;
  }

  stats(): ArenaStats {
    return {
      bufferSize: this.bufferSize,
      inUse: this.#inUse,
      allocated: this.#allocated,
      highWater: this.#peak,
      slabBytes: this.#base.filter((b) => b !== undefined).length * this.slabBytes,
    };
  }

  /** Buffers in use now: what the kernel or the caller still holds. */
  get inUseBytes(): number {
    return this.#inUse * this.bufferSize;
  }

  #grow(): number {
    let s = this.#base.indexOf(undefined);
    if (s < 0) s = this.#base.length;
    this.#base[s] = pageAlloc(this.slabBytes);
    // Reversed, so that pop() hands out the lowest address first.
    this.#free[s] = Array.from({ length: this.perSlab }, (_, i) => this.perSlab - 1 - i);
    this.#allocated += this.perSlab;
    return s;
  }

  /**
   * Hands back what load no longer needs: every slab wholly free above what the last period's
   * high-water mark needs goes back to the system, and with `discard` the pages of the free
   * buffers kept are dropped too (they are the arena's alone: no operation holds them). The
   * high-water mark restarts from what is in use now. Returns bytes given back (slabs freed).
   */
  trim(discard = false): number {
    const need = Math.ceil(this.#peak / this.perSlab);
    let kept = 0;
    let freed = 0;
    for (let s = 0; s < this.#base.length; s++) {
      const base = this.#base[s];
      if (base === undefined) continue;
      const free = this.#free[s];
      if (free.length === this.perSlab && kept >= need) {
        pageFree(base, this.slabBytes);
        this.#base[s] = undefined;
        this.#free[s] = [];
        this.#allocated -= this.perSlab;
        freed += this.slabBytes;
        continue;
      }
      kept++;
      if (discard && this.bufferSize % PAGE_SIZE === 0) for (const i of free) pageDiscard(base + BigInt(i * this.bufferSize), this.bufferSize);
    }
    while (this.#base.length && this.#base[this.#base.length - 1] === undefined) {
      this.#base.pop();
      this.#free.pop();
    }
    this.#hint = 0;
    this.#peak = this.#inUse;
    return freed;
  }

  /**
   * Frees every slab whose buffers are all back. A slab with a buffer still out may be the target
   * of an operation the kernel has not completed: it is leaked, never freed under the kernel's
   * feet. Returns how many buffers were still out (leaked with their slabs).
   */
  destroy(): number {
    let leaked = 0;
    for (let s = 0; s < this.#base.length; s++) {
      const base = this.#base[s];
      if (base === undefined) continue;
      const out = this.perSlab - this.#free[s].length;
      if (out === 0) pageFree(base, this.slabBytes);
      leaked += out;
    }
    this.#base = [];
    this.#free = [];
    this.#allocated = 0;
    this.#inUse = 0;
    return leaked;
  }
}

/** One native buffer plus a Uint8Array over it (the loop's plaintext scratch). */
export function nativeScratch(size: number): { ptr: bigint; view: Uint8Array } {
  const ptr = nativeAlloc(size);
  return { ptr, view: nativeView(ptr, size) };
}
