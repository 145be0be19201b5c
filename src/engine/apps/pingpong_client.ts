// bench throughput --pingpong SIZE: each connection sends SIZE bytes, waits until SIZE bytes
// come back from an echo server, records the round trip, and goes again — as fast as it can
// (closed loop), or with --rate at fixed intended times (open loop: each connection gets its
// share of the rate; a ping due while the previous one is still out goes as soon as it is back,
// and its round trip counts from the intended time, as wrk2 corrects coordinated omission).
import { performance } from 'node:perf_hooks';
import { Connection, ConnState } from '../connection';
import { ClientLoadOptions, ConnectionBudget, connectCounted, micros } from './client_load';
import { sourceChunk } from './source';
import { WriteQueue } from './write_queue';

export interface PingPongOptions extends ClientLoadOptions {
  size: number;
  /** Round trips per second for this worker, shared by its connections; 0: closed loop. */
  rate: number;
  /** Whether another ping may start (false once the run ends). */
  mayStart: () => boolean;
}

export class PingPongLoad {
  #first = { done: false };
  #message: Buffer;
  open = 0;
  readonly budget: ConnectionBudget;
  /** Pings sent and not yet answered. */
  outstanding = 0;

  constructor(readonly o: PingPongOptions) {
    this.budget = new ConnectionBudget(o.connections);
    const chunk = sourceChunk().view;
    this.#message = Buffer.alloc(o.size);
    for (let i = 0; i < o.size; i += chunk.length) this.#message.set(chunk.subarray(0, Math.min(chunk.length, o.size - i)), i);
  }

  start(): void {
    for (let i = 0; i < this.o.connections; i++) this.#launch(i);
  }

  #launch(i: number): void {
    const o = this.o;
    const q = new WriteQueue();
    const interval = o.rate > 0 ? (1000 * o.connections) / o.rate : 0;
    let sentAt = 0;
    let intendedAt = 0;
    let inFlight = false;
    /** Open loop: the next intended send time; due while a ping is out means it goes when the echo is back. */
    let nextAt = 0;
    let received = 0;
    let conn: Connection | undefined;
    const ping = (c: Connection, intended: number) => {
      // Once bench closes (close_notify is queued), a late echo must not start a ping that can never go out.
      if (c.state !== ConnState.Open || !o.mayStart()) return;
      sentAt = performance.now();
      intendedAt = intended;
      inFlight = true;
      this.outstanding++;
      o.rec.live.started++;
      received = 0;
      if (interval > 0) o.rec.record('scheduleLag', micros(intended, sentAt));
      // Count what the session took (now, or later from the queue on drain): what can reach the server.
      o.rec.live.bytesOut += q.write(c, this.#message);
    };
    let armed = false;
    const schedule = () => {
      if (armed || !o.mayStart()) return;
      armed = true;
      o.loop.setTimer(nextAt, () => {
        armed = false;
        if (!conn || !conn.open || inFlight) return; // an echo still out: its arrival sends the due ping
        ping(conn, nextAt);
        nextAt += interval;
        schedule();
      });
    };
    conn = this.budget.open(o, this.open, () => connectCounted(o, this.#first, {
      onHandshake: (c) => {
        if (interval === 0) return ping(c, performance.now());
        // Spread the connections' first pings over one interval, so the rate is smooth from the start.
        nextAt = performance.now() + (interval * i) / o.connections;
        schedule();
      },
      onDrain: (c) => {
        o.rec.live.bytesOut += q.drain(c);
      },
      onData: (c, _d, _p, len) => {
        o.rec.live.bytesIn += len;
        received += len;
        if (received < o.size || !inFlight) return;
        const now = performance.now();
        inFlight = false;
        this.outstanding--;
        o.rec.record('rtt', micros(intendedAt, now));
        if (interval > 0) o.rec.record('rttUncorrected', micros(sentAt, now));
        o.rec.live.roundTrips++;
        if (interval === 0) return ping(c, now);
        if (nextAt <= now) {
          // Late: the next ping was due while this one was out.
          ping(c, nextAt);
          nextAt += interval;
        }
        schedule();
      },
      onClose: () => {
        this.open--;
        if (inFlight) this.outstanding--;
        inFlight = false;
      },
    }));
    if (conn) this.open++; // else out of descriptors: counted, and the run goes on with what it holds
  }
}
