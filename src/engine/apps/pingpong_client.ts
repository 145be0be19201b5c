// bench throughput --pingpong SIZE: each connection sends SIZE bytes, waits until SIZE bytes
// come back from an echo server, records the round trip, and goes again — as fast as it can
// (closed loop), or with --rate at fixed intended times (open loop: each connection gets its
// share of the rate; a ping due while the previous one is still out goes as soon as it is back,
// and its round trip counts from the intended time, as wrk2 corrects coordinated omission).
//
// bench connections is the same load shaped for capacity: connections open at a ramp rate
// (connection i is due at i / ramp seconds), are held, and each sends a message every
// `intervalMs` (open loop, from its intended send time) or nothing at all (size 0).
import { performance } from 'node:perf_hooks';
import { Connection, ConnState } from '../connection';
import { ClientLoadOptions, ConnectionBudget, connectCounted, micros } from './client_load';
import { sourceChunk } from './source';
import { WriteQueue } from './write_queue';

export interface PingPongOptions extends ClientLoadOptions {
  /** Bytes per message; 0: no messages (connections are only held). */
  size: number;
  /** Round trips per second for this worker, shared by its connections; 0: closed loop. */
  rate: number;
  /** Each connection sends every this many ms (open loop), instead of a share of `rate`. */
  intervalMs?: number;
  /** Connections opened per second (connection i is due at i / ramp s); 0 or absent: all at once. */
  ramp?: number;
  /** Whether another ping (or connection) may start (false once the run ends). */
  mayStart: () => boolean;
  /** Every connection has been tried (established or failed): the ramp is over. */
  onRampDone?: (at: number) => void;
}

export class PingPongLoad {
  #first = { done: false };
  #message: Buffer;
  open = 0;
  readonly budget: ConnectionBudget;
  /** Pings sent and not yet answered. */
  outstanding = 0;
  /** Connections handshaken and still open; the most at once. */
  held = 0;
  peakHeld = 0;
  /** When the first connection was started and when the last one was established or had failed (performance.now() ms). */
  firstAt = 0;
  rampDoneAt = 0;
  #launched = 0;
  #settled = 0;

  constructor(readonly o: PingPongOptions) {
    this.budget = new ConnectionBudget(o.connections);
    const chunk = sourceChunk().view;
    this.#message = Buffer.alloc(o.size);
    for (let i = 0; i < o.size; i += chunk.length) this.#message.set(chunk.subarray(0, Math.min(chunk.length, o.size - i)), i);
  }

  start(): void {
    this.firstAt = performance.now();
    const ramp = this.o.ramp ?? 0;
    if (ramp <= 0) {
      for (let i = 0; i < this.o.connections; i++) {
        this.#launched = i + 1;
        this.#launch(i);
      }
      this.#settle(0);
      return;
    }
    // Open loop: each connection at its due time; a loop that fell behind starts what is due at once.
    const t0 = this.firstAt;
    const due = (i: number) => t0 + (i * 1000) / ramp;
    const launchDue = () => {
      const now = performance.now();
      while (this.#launched < this.o.connections && due(this.#launched) <= now && this.o.mayStart()) this.#launch(this.#launched++);
      if (this.#launched < this.o.connections && this.o.mayStart()) this.o.loop.setTimer(due(this.#launched), launchDue);
      else this.#settle(0);
    };
    launchDue();
  }

  /** A connection was established or failed (or launching stopped): the ramp ends when all are accounted for. */
  #settle(n: number): void {
    this.#settled += n;
    const all = this.#launched === this.o.connections || !this.o.mayStart();
    if (this.rampDoneAt === 0 && all && this.#settled >= this.#launched) {
      this.rampDoneAt = performance.now();
      this.o.onRampDone?.(this.rampDoneAt);
    }
  }

  #launch(i: number): void {
    const o = this.o;
    const q = new WriteQueue();
    const interval = o.size === 0 ? 0 : o.intervalMs ? o.intervalMs : o.rate > 0 ? (1000 * o.connections) / o.rate : 0;
    let sentAt = 0;
    let intendedAt = 0;
    let inFlight = false;
    /** Open loop: the next intended send time; due while a ping is out means it goes when the echo is back. */
    let nextAt = 0;
    let received = 0;
    let handshaken = false;
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
    conn = this.budget.open(o, this.open, () =>
      connectCounted(o, this.#first, {
        onHandshake: (c) => {
          handshaken = true;
          if (++this.held > this.peakHeld) this.peakHeld = this.held;
          this.#settle(1);
          if (o.size === 0) return; // held, silent
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
          if (handshaken) this.held--;
          else this.#settle(1);
        },
      })
    );
    if (conn) this.open++; // else out of descriptors: counted, and the run goes on with what it holds
    else this.#settle(1);
  }
}
