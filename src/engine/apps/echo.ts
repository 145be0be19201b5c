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
    this.o.counters.bytesOut += len;
    this.#queue.write(conn, data, ptr);
  }
  onDrain(conn: Connection): void {
    this.#queue.drain(conn);
  }
}
