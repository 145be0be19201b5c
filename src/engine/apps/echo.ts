// echo: sends back what it receives.
import type { Connection } from '../connection';
import { ServerApp, ServerAppOptions } from './server_app';
import { WriteQueue } from './write_queue';

export class EchoApp extends ServerApp {
  #queue = new WriteQueue();
  constructor(o: ServerAppOptions) {
    super(o);
  }
  override onData(conn: Connection, data: Uint8Array, ptr: bigint, len: number): void {
    this.o.counters.bytesIn += len;
    // bytesOut counts what the session took (now or on drain), not what was merely queued.
    this.o.counters.bytesOut += this.#queue.write(conn, data, ptr);
  }
  /** Something received is still waiting to be echoed (the session could not take it all yet). */
  protected override exchangeInFlight(): boolean {
    return !this.#queue.empty;
  }
  onDrain(conn: Connection): void {
    // Not `bytesOut += drain()`: drain resumes reads, so onData runs (and counts) inside the call.
    const n = this.#queue.drain(conn);
    this.o.counters.bytesOut += n;
  }
}
