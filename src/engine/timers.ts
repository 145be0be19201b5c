// The loop's timers: a binary min-heap on (time, insertion order), O(log n) to add, cancel or
// move a timer and O(1) to see the next one. Connections keep one timer object per deadline
// (handshake, idle, close grace, ticket wait) and move it, so re-arming allocates nothing: at
// 100k connections that replaces a scan of every connection every 50 ms.

export interface Timer {
  /** Monotonic ms (performance.now()) at which it fires. */
  at: number;
  fn: () => void;
  /**
   * Precise timers are worth a little CPU: the loop wakes up shortly before `at` and polls the
   * port without blocking until then, instead of trusting the kernel to wake it up on time.
   */
  precise: boolean;
  /** Position in the heap; -1 when not armed. */
  index: number;
  /** Insertion order: timers due at the same time fire in the order they were set. */
  seq: number;
}

export function newTimer(fn: () => void, precise = false): Timer {
  return { at: 0, fn, precise, index: -1, seq: 0 };
}

export class TimerHeap {
  #heap: Timer[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  /** The next timer to fire, or undefined. */
  peek(): Timer | undefined {
    return this.#heap[0];
  }

  /** Arms `t` at `at`, or moves it there if it is armed already. */
  set(t: Timer, at: number): void {
    t.at = at;
    t.seq = this.#seq++;
    if (t.index < 0) {
      t.index = this.#heap.length;
      this.#heap.push(t);
      this.#up(t.index);
    } else {
      // A later time for an armed timer (the common case: a deadline pushed back) sifts down.
      this.#down(t.index);
      this.#up(t.index);
    }
  }

  /** Disarms `t` (no-op if it is not armed). */
  delete(t: Timer): void {
    const i = t.index;
    if (i < 0) return;
    t.index = -1;
    const last = this.#heap.pop()!;
    if (i === this.#heap.length) return;
    this.#heap[i] = last;
    last.index = i;
    this.#down(i);
    this.#up(i);
  }

  /** Removes and returns the next timer if it is due at `now`. */
  popDue(now: number): Timer | undefined {
    const t = this.#heap[0];
    if (!t || t.at > now) return undefined;
    this.delete(t);
    return t;
  }

  #less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #up(i: number): void {
    const h = this.#heap;
    const t = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(t, h[p])) break;
      h[i] = h[p];
      h[i].index = i;
      i = p;
    }
    h[i] = t;
    t.index = i;
  }

  #down(i: number): void {
    const h = this.#heap;
    const n = h.length;
    const t = h[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.#less(h[c + 1], h[c])) c++;
      if (!this.#less(h[c], t)) break;
      h[i] = h[c];
      h[i].index = i;
      i = c;
    }
    h[i] = t;
    t.index = i;
  }
}
