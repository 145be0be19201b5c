// One connection limit for a whole server: a counter in shared memory that every worker's loop
// takes a place from on accept and gives it back on close, so `-w 2 --max-connections 100`
// admits 100 connections in all, not 100 per worker.
import type { ConnectionLimiter } from './loop';

export class SharedConnectionLimit implements ConnectionLimiter {
  readonly #count: Int32Array;

  /** `buffer` comes from SharedConnectionLimit.buffer(), made once in the main thread and given to every worker. */
  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly max: number
  ) {
    this.#count = new Int32Array(buffer);
  }

  static buffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(4);
  }

  tryAcquire(): boolean {
    // Add first, then check: two workers racing for the last place cannot both get it.
    if (Atomics.add(this.#count, 0, 1) < this.max) return true;
    Atomics.sub(this.#count, 0, 1);
    return false;
  }

  release(): void {
    Atomics.sub(this.#count, 0, 1);
  }

  /** Connections admitted and not yet closed, over every worker. */
  get open(): number {
    return Atomics.load(this.#count, 0);
  }
}
