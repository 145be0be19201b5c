// Backpressure for apps that write more than the session's outgoing buffer takes at once:
// keep the rest (copied, since callers' views are short-lived), pause reading, and continue
// on drain.
import type { Connection } from '../connection';

export class WriteQueue {
  #pending: Buffer[] = [];

  get empty(): boolean {
    return this.#pending.length === 0;
  }

  /** Writes what fits now; queues the rest (a copy) and pauses the connection's reads. Returns bytes taken now. */
  write(conn: Connection, data: Uint8Array, ptr?: bigint): number {
    if (this.#pending.length) {
      this.#pending.push(Buffer.from(data));
      return 0;
    }
    const n = conn.write(ptr ?? data, data.length);
    if (n < data.length && conn.open) {
      this.#pending.push(Buffer.from(data.subarray(n)));
      conn.pause();
    }
    return n;
  }

  /** Call from onDrain: continues writing; resumes reads once everything is out. Returns bytes taken. */
  drain(conn: Connection): number {
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
    if (conn.paused) conn.resume();
    return total;
  }
}
