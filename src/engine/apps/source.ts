// source: streams data as fast as the client takes it. Writes come from one native buffer,
// so the only per-write work is the encryption itself.
import { nativeScratch } from '../buffer_pool';
import type { Connection } from '../connection';
import { ServerApp, ServerAppOptions } from './server_app';

/** TLS records carry at most 16 KiB of plaintext; larger writes are split by OpenSSL anyway. */
export const SOURCE_CHUNK = 16 * 1024;
let chunk: { ptr: bigint; view: Uint8Array } | undefined;

export function sourceChunk(): { ptr: bigint; view: Uint8Array } {
  if (!chunk) {
    chunk = nativeScratch(SOURCE_CHUNK);
    chunk.view.fill(0x61);
  }
  return chunk;
}

export class SourceApp extends ServerApp {
  constructor(o: ServerAppOptions) {
    super(o);
  }
  override onHandshake(conn: Connection): void {
    super.onHandshake(conn);
    this.#fill(conn);
  }
  onDrain(conn: Connection): void {
    this.#fill(conn);
  }
  #fill(conn: Connection): void {
    const { ptr } = sourceChunk();
    const size = Math.min(this.o.bodySize || SOURCE_CHUNK, SOURCE_CHUNK);
    // Fill the outgoing buffer until it is full; onDrain brings us back when the kernel took it.
    for (;;) {
      const n = conn.write(ptr, size);
      this.o.counters.bytesOut += n;
      if (n < size || !conn.open) return;
    }
  }
}
