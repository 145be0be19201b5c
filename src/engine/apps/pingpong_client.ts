// bench throughput --pingpong SIZE: each connection sends SIZE bytes, waits until SIZE bytes
// come back from an echo server, records the round trip, and goes again.
import { performance } from 'node:perf_hooks';
import { Connection, ConnState } from '../connection';
import type { Histogram } from '../stats/histograms';
import { ClientLoadOptions, ConnectionBudget, connectCounted, micros } from './client_load';
import { sourceChunk } from './source';
import { WriteQueue } from './write_queue';

export interface PingPongOptions extends ClientLoadOptions {
  size: number;
  rttHist: Histogram;
}

export class PingPongLoad {
  #first = { done: false };
  #message: Buffer;
  open = 0;
  readonly budget: ConnectionBudget;

  constructor(readonly o: PingPongOptions) {
    this.budget = new ConnectionBudget(o.connections);
    const chunk = sourceChunk().view;
    this.#message = Buffer.alloc(o.size);
    for (let i = 0; i < o.size; i += chunk.length) this.#message.set(chunk.subarray(0, Math.min(chunk.length, o.size - i)), i);
  }

  start(): void {
    for (let i = 0; i < this.o.connections; i++) this.#launch();
  }

  #launch(): void {
    const o = this.o;
    const q = new WriteQueue();
    let sentAt = 0;
    let received = 0;
    const ping = (c: Connection) => {
      // Once bench closes (close_notify is queued), a late echo must not start a ping that can never go out.
      if (c.state !== ConnState.Open) return;
      sentAt = performance.now();
      received = 0;
      // Count what the session took (now, or later from the queue on drain): what can reach the server.
      o.counters.bytesOut += q.write(c, this.#message);
    };
    const opened = this.budget.open(o, this.open, () => connectCounted(o, this.#first, {
      onHandshake: ping,
      onDrain: (c) => {
        o.counters.bytesOut += q.drain(c);
      },
      onData: (c, _d, _p, len) => {
        o.counters.bytesIn += len;
        received += len;
        if (received >= o.size) {
          o.rttHist.recordValue(micros(sentAt, performance.now()));
          o.counters.roundTrips++;
          ping(c);
        }
      },
      onClose: () => {
        this.open--;
      },
    }));
    if (opened) this.open++; // else out of descriptors: counted, and the run goes on with what it holds
  }
}
