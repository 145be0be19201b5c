// bench handshake: connect, handshake, close, again. Closed loop by default (N connections
// back to back); with a rate, open loop: starts are scheduled at fixed intervals and latency
// runs from each handshake's *intended* start, so a stalled server shows in the percentiles
// instead of silently slowing the clients down (coordinated omission, as wrk2 corrects it).
import { performance } from 'node:perf_hooks';
import type { ConnHandler, Connection } from '../connection';
import type { IocptlsError } from '../errors';
import type { SavedSession } from '../tls/saved_session';
import { ClientSessionStore } from '../tls/client_sessions';
import { countCutOff } from '../stats/recorder';
import { ClientLoadOptions, ConnectionBudget, micros, recordHandshake } from './client_load';
import { connectTo } from './client_target';

export interface HandshakeLoadOptions extends ClientLoadOptions {
  /** Handshakes per second for this worker; 0 = closed loop. */
  rate: number;
  /** Resume sessions: none, via tickets, or via session IDs. */
  resume: 'none' | 'tickets' | 'ids';
  /** Fraction of handshakes that try to resume (when a session is at hand). */
  resumeRatio: number;
  close: 'rst' | 'fin';
  /** How long to wait after a TLS 1.3 handshake for the session ticket we need for resuming. */
  ticketWaitMs: number;
  /** Whether another handshake may start (false once a count is reached or the run ends). */
  mayStart: () => boolean;
}

interface Attempt {
  /** When the handshake was meant to start (open loop) or its connect was posted (closed loop). */
  startedAt: number;
  /** Whether the handshake resumed a session (known once it completed). */
  resumed: boolean;
  waitingTicket: boolean;
  handshaken: boolean;
}

export class HandshakeLoad {
  #inFlight = 0;
  #sessions = new ClientSessionStore(64);
  /**
   * Whether the server sends a TLS 1.3 ticket after a full / a resumed handshake: unknown until a
   * ticket arrives (true) or a ticket wait runs out (false). Many servers (Node's among them) send
   * none after a resumed handshake; waiting for one every time would stall a connection per resumption.
   */
  #ticketsAfter: { full?: boolean; resumed?: boolean } = {};
  #first = { done: false };
  /** Intended starts not yet begun because every connection was busy (open loop). */
  #backlog: number[] = [];
  #nextStart = 0;
  #ticking = false;
  #starting = false;
  started = 0;
  /** Connections it may hold: all asked for, unless the process runs out of descriptors. */
  readonly budget: ConnectionBudget;
  /** One handler for all its connections (each one's Attempt is its `data`): no closures per connection. */
  readonly #handler: ConnHandler = {
    onOpen: () => {
      this.o.rec.live.connects++;
    },
    onHandshake: (c) => this.#onHandshake(c, c.data as Attempt),
    onClose: (c, err) => this.#onClose(c, c.data as Attempt, err),
  };

  constructor(readonly o: HandshakeLoadOptions) {
    this.budget = new ConnectionBudget(o.connections);
  }

  get inFlight(): number {
    return this.#inFlight;
  }
  /** Open loop: starts that are due but waiting for a free connection. */
  get backlog(): number {
    return this.#backlog.length;
  }

  start(): void {
    if (this.o.rate > 0) {
      this.#nextStart = performance.now();
      this.#schedule();
    } else {
      for (let i = 0; i < this.o.connections && this.o.mayStart(); i++) if (!this.#launch(performance.now())) break;
    }
  }

  #schedule(): void {
    if (this.#ticking) return;
    this.#ticking = true;
    // Starts are due at exact times: precise, the loop wakes up a little early and polls until then.
    this.o.loop.setTimer(this.#nextStart, () => {
      this.#ticking = false;
      const now = performance.now();
      const interval = 1000 / this.o.rate;
      while (this.#nextStart <= now && this.o.mayStart()) {
        this.#backlog.push(this.#nextStart);
        this.#nextStart += interval;
      }
      this.#drainBacklog();
      if (this.o.mayStart()) this.#schedule();
    }, { precise: true });
  }

  /**
   * The measured window closes: open-loop starts still waiting for a connection are never begun,
   * but how late they already are belongs to the window's schedule lag (a lower bound: they would
   * only have been later), and they are counted, so the rate's shortfall is explained.
   */
  closeWindow(now: number): void {
    const rec = this.o.rec;
    const acc = rec.accounting;
    // Undecided attempts only: a connection that has handshaken and is closing is already a success.
    acc.inFlightAtEnd = acc.started - acc.succeeded - acc.failed - acc.cutOff;
    acc.backlogAtEnd = this.#backlog.length;
    for (const intendedAt of this.#backlog) rec.record('scheduleLag', micros(intendedAt, now));
    this.#backlog.length = 0;
  }

  #drainBacklog(): void {
    // Once the run is over, starts still waiting are not begun: they are the rate's shortfall, and
    // beginning them would stretch the drain (and the measured window) until the backlog is gone.
    if (!this.o.mayStart()) {
      this.#backlog.length = 0;
      return;
    }
    while (this.#backlog.length && this.budget.mayOpen(this.#inFlight)) {
      if (!this.#launch(this.#backlog[0])) return;
      this.#backlog.shift();
    }
  }

  #next(): void {
    if (this.o.rate > 0) this.#drainBacklog();
    // Usually one start per close; two when a load short of descriptors tries one more.
    else while (this.o.mayStart() && this.budget.mayOpen(this.#inFlight) && this.#launch(performance.now()));
  }

  /** Starts one handshake; false if it could not (out of descriptors: counted as an error). */
  #launch(intendedAt: number): boolean {
    if (this.#starting) return false; // a connect that fails synchronously must not recurse
    this.#starting = true;
    try {
      const o = this.o;
      const resume = o.resume !== 'none' && this.#sessions.available && Math.random() < o.resumeRatio ? this.#sessions.take() : undefined;
      const a: Attempt = { startedAt: intendedAt, resumed: false, waitingTicket: false, handshaken: false };
      this.started++;
      o.rec.accounting.started++;
      o.rec.live.started++;
      try {
        const conn = this.budget.open(o, this.#inFlight, () => this.#connect(a, resume));
        if (!conn) return false;
        this.#inFlight++;
        // The lag ends where the uncorrected latency begins, so corrected = lag + uncorrected exactly.
        if (o.rate > 0) o.rec.record('scheduleLag', micros(intendedAt, conn.tStart));
        return true;
      } finally {
        // The SSL took its own reference.
        resume?.release();
      }
    } finally {
      this.#starting = false;
    }
  }

  #connect(a: Attempt, resume: SavedSession | undefined): Connection {
    const o = this.o;
    const conn: Connection = connectTo(o, resume, o.resume !== 'none' ? (sess) => this.#keep(sess, conn, a) : undefined, this.#handler);
    // Read by the handler's callbacks, none of which runs before connect() has returned.
    conn.data = a;
    return conn;
  }

  #onHandshake(c: Connection, a: Attempt): void {
    a.handshaken = true;
    this.o.rec.accounting.succeeded++;
    a.resumed = c.session.resumed();
    if (this.o.rate === 0) a.startedAt = c.tStart;
    recordHandshake(this.o, c, a.startedAt, this.#first);
    // TLS 1.3 tickets come after the handshake and are single-use: wait for this connection's
    // ticket before closing (unless this server is known to send none now), or the pool runs dry
    // and handshakes meant to resume silently become full ones. On loopback the wait is ~½ RTT.
    if (
      this.o.resume !== 'none' &&
      this.#ticketsAfter[a.resumed ? 'resumed' : 'full'] !== false &&
      c.session.isTls13()
    ) {
      a.waitingTicket = true;
      c.setDeadline(performance.now() + this.o.ticketWaitMs, 'ticket wait');
      return;
    }
    c.close(this.o.close);
  }

  #keep(sess: SavedSession, c: Connection, a: Attempt): boolean {
    this.#sessions.add(sess);
    if (a.handshaken) this.#ticketsAfter[a.resumed ? 'resumed' : 'full'] = true;
    if (a.waitingTicket) {
      a.waitingTicket = false;
      // We are inside OpenSSL (SSL_read): the loop closes once it has returned.
      c.closeSoon(this.o.close);
    }
    return true;
  }

  #onClose(c: Connection, a: Attempt, err: IocptlsError | undefined): void {
    this.#inFlight--;
    // A deadline used to wait for a ticket is not an error: it tells that the server sent none.
    const rec = this.o.rec;
    if (err && a.waitingTicket && err.reason === 'timeout') this.#ticketsAfter[a.resumed ? 'resumed' : 'full'] = false;
    else if (err) rec.live.error(err.reason);
    // Accounting is per attempt: an error after the handshake is in the error table, not a second outcome.
    if (!a.handshaken) {
      if (err) rec.accounting.failed++;
      else countCutOff(rec.accounting, c, performance.now());
    }
    this.#next();
  }

  free(): void {
    this.#sessions.free();
  }
}
