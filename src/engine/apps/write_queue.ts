// Backpressure for apps that write more than the session's outgoing buffer takes at once: keep
// the rest, pause reading, and continue on drain. What is kept is a copy when the caller's bytes
// are short-lived (the loop's plaintext scratch, for echo), or the caller's own buffer when it is
// immutable and long-lived (http's prepared responses): then a queued response costs a reference,
// not its size.
import type { Connection } from '../connection';

export class WriteQueue {
  #pending: Uint8Array[] = [];

  get empty(): boolean {
    return this.#pending.length === 0;
  }

  /**
   * Writes what fits now; queues the rest and pauses the connection's reads. Returns bytes taken
   * now. `shared`: `data` never changes and outlives the connection, so it is queued by reference.
   */
  write(conn: Connection, data: Uint8Array, ptr?: bigint, shared = false): number {
    if (this.#pending.length) {
      this.#pending.push(shared ? data : Buffer.from(data));
      return 0;
    }
    const n = conn.write(ptr ?? data, data.length);
    if (n < data.length && conn.open) {
      this.#pending.push(shared ? data.subarray(n) : Buffer.from(data.subarray(n)));
      conn.pause();
    }
    return n;
  }

  /**
   * Call from onDrain: continues writing; once everything is out, resumes reads (unless `resume`
   * is false: the caller resumes itself). Returns bytes taken.
   */
  drain(conn: Connection, resume = true): number {
    let total = 0;
    while (this.#pending.length && conn.open) {
      const b = this.#pending[0];
      const n = conn.write(b, b.length);
      total += n;
      if (n < b.length) {
        this.#pending[0] = b.subarray(n);
        return total;
      }
      this.#pending.shift();
    }
    if (resume && this.#pending.length === 0 && conn.paused) conn.resume();
    return total;
  }
}
