// Timeouts of one fixed length for many connections (the HTTP request-header timeout): every
// deadline is "armed at + the same timeout", so deadlines expire in the order they were armed and
// a FIFO list is already sorted. Arm (append), disarm (unlink) and expiry are O(1) each, with no
// garbage left behind by re-arming, and one loop timer stands for the whole queue.

export interface TimerHost {
  /** Monotonic milliseconds (performance.now()). */
  now(): number;
  /** Calls fn once at (or soon after) `at`. */
  setTimer(at: number, fn: () => void): void;
}

export class Deadline {
  at = 0;
  prev: Deadline | undefined = undefined;
  next: Deadline | undefined = undefined;
  armed = false;
  constructor(readonly fire: () => void) {}
}

export class DeadlineQueue {
  #head: Deadline | undefined;
  #tail: Deadline | undefined;
  /** When the pending loop timer fires (0: none pending). */
  #timerAt = 0;
  #size = 0;

  constructor(
    readonly timeoutMs: number,
    private readonly host: TimerHost
  ) {}

  get size(): number {
    return this.#size;
  }

  /** Starts d's timeout now, unless it is already running (a running deadline is not pushed back). */
  arm(d: Deadline): void {
    if (d.armed || this.timeoutMs <= 0) return;
    d.armed = true;
    d.at = this.host.now() + this.timeoutMs;
    d.prev = this.#tail;
    d.next = undefined;
    if (this.#tail) this.#tail.next = d;
    else this.#head = d;
    this.#tail = d;
    this.#size++;
    if (this.#timerAt === 0) this.#schedule(d.at);
  }

  disarm(d: Deadline): void {
    if (!d.armed) return;
    d.armed = false;
    if (d.prev) d.prev.next = d.next;
    else this.#head = d.next;
    if (d.next) d.next.prev = d.prev;
    else this.#tail = d.prev;
    d.prev = d.next = undefined;
    this.#size--;
  }

  #schedule(at: number): void {
    this.#timerAt = at;
    this.host.setTimer(at, () => this.#expire());
  }

  #expire(): void {
    this.#timerAt = 0;
    const now = this.host.now();
    while (this.#head && this.#head.at <= now) {
      const d = this.#head;
      this.disarm(d);
      d.fire();
    }
    if (this.#head) this.#schedule(this.#head.at);
  }
}
