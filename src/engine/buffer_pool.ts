// Fixed-size native buffers at stable addresses, reused through a free list. A buffer handed to
// the kernel for a receive stays out of the pool until that receive's completion is reaped.
import koffi from 'koffi';
import { nativeView } from '../../native/libc';

export class BufferPool {
  #free: bigint[] = [];
  #all: bigint[] = [];

  constructor(readonly size: number) {}

  take(): bigint {
    const b = this.#free.pop();
    if (b !== undefined) return b;
    // koffi's allocator: the same on Linux and Windows.
    const p = koffi.alloc('uint8_t', this.size) as bigint;
    if (!p) throw new Error('out of memory');
    this.#all.push(p);
    return p;
  }

  give(p: bigint): void {
    this.#free.push(p);
  }

  get inUse(): number {
    return this.#all.length - this.#free.length;
  }

  /**
   * Frees the buffers that are back in the pool. One still handed out may be the target of a
   * receive the kernel has not completed: it is leaked, never freed under the kernel's feet.
   * Returns how many were leaked.
   */
  destroy(): number {
    const free = new Set(this.#free);
    let leaked = 0;
    for (const p of this.#all) {
      if (free.has(p)) koffi.free(p);
      else leaked++;
    }
    this.#all = [];
    this.#free = [];
    return leaked;
  }
}

/** One native buffer plus a Uint8Array over it (the loop's plaintext scratch). */
export function nativeScratch(size: number): { ptr: bigint; view: Uint8Array } {
  const ptr = koffi.alloc('uint8_t', size) as bigint;
  return { ptr, view: nativeView(ptr, size) };
}
