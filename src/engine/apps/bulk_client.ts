// bench throughput: long-lived connections that send (up), receive (down) or both, counting
// application bytes per connection so unfairness between connections shows.
import { performance } from 'node:perf_hooks';
import type { Connection } from '../connection';
import { ClientLoadOptions, ConnectionBudget, connectCounted } from './client_load';
import { sourceChunk, SOURCE_CHUNK } from './source';

export type Direction = 'up' | 'down' | 'both';

export interface BulkLoadOptions extends ClientLoadOptions {
  direction: Direction;
  /** Bytes per write (up/both). */
  size: number;
}

interface Flow {
  bytes: number;
  /** Bytes and time at the start of the measured window. */
  markBytes: number;
  markAt: number;
}

export class BulkLoad {
  #first = { done: false };
  readonly flows: Flow[] = [];
  open = 0;
  readonly budget: ConnectionBudget;

  constructor(readonly o: BulkLoadOptions) {
    this.budget = new ConnectionBudget(o.connections);
  }

  start(): void {
    for (let i = 0; i < this.o.connections; i++) this.#launch();
  }

  #launch(): void {
    const o = this.o;
    const flow: Flow = { bytes: 0, markBytes: 0, markAt: performance.now() };
    const size = Math.min(o.size, SOURCE_CHUNK);
    const fill = (c: Connection) => {
      const { ptr } = sourceChunk();
      for (;;) {
        const n = c.write(ptr, size);
        o.rec.live.bytesOut += n;
        flow.bytes += n;
        if (n < size || !c.open) return;
      }
    };
    const opened = this.budget.open(o, this.open, () => connectCounted(o, this.#first, {
      onHandshake: (c) => {
        if (o.direction !== 'down') fill(c);
      },
      onDrain: o.direction !== 'down' ? fill : undefined,
      onData: (_c, _d, _p, len) => {
        o.rec.live.bytesIn += len;
        flow.bytes += len;
      },
      onClose: () => {
        this.open--;
      },
    }));
    if (!opened) return; // out of descriptors: counted, and the run goes on with what it holds
    this.flows.push(flow);
    this.open++;
  }

  /** Starts the measured window (after warmup). */
  mark(): void {
    const now = performance.now();
    for (const f of this.flows) {
      f.markBytes = f.bytes;
      f.markAt = now;
    }
  }

  /** Each connection's Gbit/s over the measured window; call when it closes, at `endAt` (performance.now() ms). */
  perConnectionGbps(endAt: number): number[] {
    return this.flows.map((f) => ((f.bytes - f.markBytes) * 8) / ((endAt - f.markAt) / 1000) / 1e9);
  }
}
