// bench http: HTTPS requests over -c connections, each a "lane" that keeps one connection at a
// time. Closed loop: every connection keeps its pipeline (HTTP/1.1) or its streams (HTTP/2)
// full, as wrk and h2load do. Open loop (--rate): each lane has its share of the rate as fixed
// intended send times; a request due while the lane cannot take it (pipeline or streams full,
// connection being replaced) waits, and its latency still counts from when it was due (wrk2's
// coordinated-omission correction). With --requests-per-connection N a lane closes its
// connection after N responses and opens a new one (full or resumed handshake per --resume).
//
// Accounting is by request: started (sent) = succeeded (expected status) + failed (other
// status, or lost to a reset, a timeout, a bad response, a stream reset) + cut off (unanswered
// when the run ended). A connection that fails before any request (refused, TLS alert) is one
// error of its own, outside the request accounting.
import { performance } from 'node:perf_hooks';
import type { ConnHandler, Connection } from '../connection';
import { IocptlsError, NetError } from '../errors';
import { ClientSessionStore } from '../tls/client_sessions';
import type { SavedSession } from '../tls/saved_session';
import { ClientLoadOptions, ConnectionBudget, micros, recordHandshake } from './client_load';
import { connectTo } from './client_target';
import { ExchangeSink, H1Exchange, H2ExchangeFactory, HttpExchange, PendingRequest } from './http_exchange';

/** What bench http asks of every connection (the same for the run and for each worker). */
export interface HttpLoadSpec {
  /** '1.1': offer http/1.1 only; '2': h2 only; 'auto': both, h2 first. */
  protocol: '1.1' | '2' | 'auto';
  method: string;
  paths: string[];
  authority: string;
  headers: [string, string][];
  body?: Uint8Array;
  /** HTTP/1.1 requests in flight per connection (1: no pipelining). */
  pipeline: number;
  /** HTTP/2 concurrent streams per connection (h2load's -m). */
  streams: number;
  /** Responses per connection before it is replaced (0: keep it). */
  requestsPerConnection: number;
  /** Status codes that count as success; empty: any 2xx. */
  expectStatus: number[];
}

export interface HttpLoadOptions extends ClientLoadOptions {
  spec: HttpLoadSpec;
  /** Prepared HTTP/1.1 requests, one per path. */
  h1Requests: Buffer[];
  /** Builds the HTTP/2 exchange of a connection that negotiated h2 (absent: h2 is not available). */
  h2?: H2ExchangeFactory;
  /** Requests per second for this worker; 0: closed loop. */
  rate: number;
  resume: 'none' | 'tickets' | 'ids';
  resumeRatio: number;
  /** Whether another request may start (false once a count is reached or the run ends). */
  mayStart: () => boolean;
  /** This worker's share of --requests (0: none): no connection is opened that could not get a request. */
  count?: number;
}

/** One of -c connections, over the connections that replace each other in it. */
interface Lane {
  index: number;
  conn: Connection | undefined;
  ex: HttpExchange | undefined;
  /** Requests sent on the current connection. */
  sent: number;
  /** The current connection has not handshaken yet. */
  connecting: boolean;
  /** No more requests on the current connection (its quota is used, or the server is closing it). */
  retiring: boolean;
  /** Last time the current connection made progress (a request out with none in flight, or bytes in). */
  progressAt: number;
  /** Open loop: intended send times that are due and wait for room. */
  backlog: number[];
  nextAt: number;
  armed: boolean;
}

export class HttpLoad {
  readonly budget: ConnectionBudget;
  #lanes: Lane[] = [];
  #sessions = new ClientSessionStore(256);
  #first = { done: false };
  #path = 0;
  #open = 0;
  #stopping = false;
  /** Connections launched that have not yet sent a request (connecting, handshaking). */
  #connecting = 0;
  /** Requests sent so far (count mode stops at its share). */
  started = 0;
  readonly #isHead: boolean;
  readonly #expect: Set<number> | undefined;
  readonly #interval: number;

  constructor(readonly o: HttpLoadOptions) {
    this.budget = new ConnectionBudget(o.connections);
    this.#isHead = o.spec.method === 'HEAD';
    this.#expect = o.spec.expectStatus.length ? new Set(o.spec.expectStatus) : undefined;
    this.#interval = o.rate > 0 ? (1000 * o.connections) / o.rate : 0;
  }

  /** Requests sent and not yet answered, over all connections. */
  get inFlight(): number {
    let n = 0;
    for (const l of this.#lanes) n += l.ex?.inFlight ?? 0;
    return n;
  }

  /** Connections open (connecting, handshaking or carrying requests). */
  get open(): number {
    return this.#open;
  }

  start(): void {
    const now = performance.now();
    for (let i = 0; i < this.o.connections; i++) {
      const lane: Lane = { index: i, conn: undefined, ex: undefined, sent: 0, connecting: false, retiring: false, progressAt: now, backlog: [], nextAt: 0, armed: false };
      this.#lanes.push(lane);
      if (this.#interval > 0) {
        // Spread the lanes' first requests over one interval, so the rate is smooth from the start.
        lane.nextAt = now + (this.#interval * i) / this.o.connections;
        this.#arm(lane);
      }
      this.#launch(lane);
    }
    this.#sweep();
  }

  /**
   * The measured window closes: requests in flight are noted; open-loop requests due and never
   * sent are counted, and how late they already are goes into the schedule lag (a lower bound).
   */
  closeWindow(now: number): void {
    const acc = this.o.rec.accounting;
    acc.inFlightAtEnd = this.inFlight;
    let backlog = 0;
    for (const l of this.#lanes) {
      backlog += l.backlog.length;
      for (const at of l.backlog) this.o.rec.record('scheduleLag', micros(at, now));
      l.backlog.length = 0;
    }
    acc.backlogAtEnd = backlog;
  }

  /** The bench closes every connection now (the drain is over): what is unanswered is cut off, not failed. */
  stop(): void {
    this.#stopping = true;
  }

  free(): void {
    this.#sessions.free();
  }

  // --- connections
  #launch(lane: Lane): void {
    const o = this.o;
    if (this.#stopping || !o.mayStart() || lane.conn) return;
    // Count mode: no connection that would get no request, when those open or on their way can take what is left.
    if (o.count && this.started + this.#reserved() >= o.count) return;
    const resume = o.resume !== 'none' && this.#sessions.available && Math.random() < o.resumeRatio ? this.#sessions.take() : undefined;
    try {
      const conn = this.budget.open(o, this.#open, () => this.#connect(lane, resume));
      if (!conn) return;
      lane.conn = conn;
      lane.ex = undefined;
      lane.sent = 0;
      lane.retiring = false;
      lane.connecting = true;
      this.#connecting++;
      this.#open++;
    } finally {
      resume?.release();
    }
  }

  #connect(lane: Lane, resume: SavedSession | undefined): Connection {
    const o = this.o;
    const onSession = o.resume !== 'none' ? (s: SavedSession) => this.#sessions.add(s) : undefined;
    return connectTo(o, resume, onSession, this.#handler(lane));
  }

  #handler(lane: Lane): ConnHandler {
    const o = this.o;
    return {
      onOpen: () => {
        o.rec.live.connects++;
      },
      onHandshake: (c) => {
        this.#settled(lane);
        recordHandshake(o, c, c.tStart, this.#first);
        const ex = this.#exchange(c, lane);
        if (!ex) return;
        lane.ex = ex;
        lane.progressAt = o.loop.now;
        this.#fill(lane);
      },
      onData: (_c, data, _p, len) => {
        o.rec.live.bytesIn += len;
        lane.progressAt = o.loop.now;
        lane.ex?.receive(data);
      },
      onDrain: () => lane.ex?.drain(),
      onPeerClose: (c) => {
        const err = lane.ex?.peerClosed();
        if (err) c.close('rst', protocolError(err));
        else c.close('notify');
      },
      onClose: (c, err) => this.#onClose(lane, c, err),
    };
  }

  /** The exchange for the protocol the server chose by ALPN; undefined (and the connection closing) when it is not one we speak. */
  #exchange(c: Connection, lane: Lane): HttpExchange | undefined {
    const spec = this.o.spec;
    const alpn = spec.protocol === '1.1' ? c.session.alpn() ?? 'http/1.1' : c.session.alpn();
    const sink = this.#sink(lane);
    if (alpn === 'h2') {
      if (!this.o.h2) {
        c.close('rst', protocolError('h2 negotiated but not supported by this build'));
        return undefined;
      }
      return this.o.h2(c, sink, spec);
    }
    if (spec.protocol === '2') {
      c.close('rst', protocolError(`no h2: the server chose ${alpn ? `ALPN ${alpn}` : 'no ALPN protocol'}`));
      return undefined;
    }
    return new H1Exchange(c, sink, this.o.h1Requests, this.#isHead, spec.pipeline);
  }

  #sink(lane: Lane): ExchangeSink {
    const o = this.o;
    return {
      onResponseHead: (r, status, headerBytes) => {
        o.rec.live.response(status, headerBytes);
        o.rec.record('ttfb', micros(r.sentAt, o.loop.now));
      },
      onResponseBody: (bytes) => {
        o.rec.live.bodyBytes += bytes;
      },
      onResponseDone: (r) => this.#done(lane, r),
      onRequestFailed: (r, reason) => {
        this.#failed(1, reason);
        this.#afterResponse(lane);
        void r;
      },
      onFatal: (reason) => lane.conn?.close('rst', protocolError(reason)),
      onNoMoreRequests: () => {
        lane.retiring = true;
        this.#afterResponse(lane);
      },
      onSent: (bytes) => {
        o.rec.live.bytesOut += bytes;
      },
      defer: (fn) => o.loop.defer(fn),
    };
  }

  #done(lane: Lane, r: PendingRequest): void {
    const o = this.o;
    const rec = o.rec;
    const now = o.loop.now;
    rec.live.roundTrips++;
    rec.record('request', micros(r.intendedAt, now));
    if (this.#interval > 0) rec.record('requestUncorrected', micros(r.sentAt, now));
    const ok = this.#expect ? this.#expect.has(r.status) : r.status >= 200 && r.status < 300;
    if (ok) rec.accounting.succeeded++;
    else {
      rec.accounting.failed++;
      rec.live.error(`status ${r.status}`);
    }
    this.#afterResponse(lane);
  }

  /** A request is settled: send the next, or retire the connection once it has nothing in flight. */
  #afterResponse(lane: Lane): void {
    const c = lane.conn;
    const ex = lane.ex;
    if (!c || !ex) return;
    const quota = this.o.spec.requestsPerConnection;
    if (quota > 0 && lane.sent >= quota) lane.retiring = true;
    if (lane.retiring) {
      // close_notify and FIN without waiting for the server's reply: the lane's next connection starts now.
      if (ex.inFlight === 0 && c.open) c.close('fin');
      return;
    }
    this.#fill(lane);
  }

  #fill(lane: Lane): void {
    const o = this.o;
    const ex = lane.ex;
    const c = lane.conn;
    if (!ex || !c) return;
    const quota = o.spec.requestsPerConnection;
    while (!lane.retiring && ex.accepting && o.mayStart()) {
      if (quota > 0 && lane.sent >= quota) {
        lane.retiring = true;
        break;
      }
      let intended: number;
      const now = o.loop.now;
      if (this.#interval > 0) {
        if (lane.backlog.length === 0) break;
        intended = lane.backlog.shift()!;
        o.rec.record('scheduleLag', micros(intended, performance.now()));
      } else intended = now;
      const r = new PendingRequest();
      r.intendedAt = intended;
      r.sentAt = this.#interval > 0 ? performance.now() : now;
      if (ex.inFlight === 0) lane.progressAt = now;
      lane.sent++;
      this.started++;
      o.rec.accounting.started++;
      o.rec.live.started++;
      const path = this.#path;
      this.#path = path + 1 === o.spec.paths.length ? 0 : path + 1;
      ex.send(r, path);
      if (!c.open) break;
    }
    ex.flush();
  }

  #failed(n: number, reason: string): void {
    const rec = this.o.rec;
    rec.accounting.failed += n;
    rec.live.error(reason, n);
  }

  /** Requests the connections open or on their way will still send (count mode). */
  #reserved(): number {
    const quota = this.o.spec.requestsPerConnection;
    if (quota === 0) return this.#connecting;
    let n = 0;
    for (const l of this.#lanes) if (l.conn && !l.retiring) n += Math.max(0, quota - l.sent);
    return n;
  }

  #settled(lane: Lane): void {
    if (!lane.connecting) return;
    lane.connecting = false;
    this.#connecting--;
  }

  #onClose(lane: Lane, c: Connection, err: IocptlsError | undefined): void {
    this.#open--;
    this.#settled(lane);
    const lost = lane.ex?.takeLost() ?? [];
    lane.conn = undefined;
    lane.ex = undefined;
    const rec = this.o.rec;
    if (lost.length > 0) {
      if (err) this.#failed(lost.length, err.reason);
      else if (this.#stopping || !this.o.mayStart()) rec.accounting.cutOff += lost.length;
      // The server closed cleanly with requests unanswered (after a Connection: close, with more pipelined).
      else this.#failed(lost.length, 'closed with requests unanswered');
    } else if (err) rec.live.error(err.reason);
    void c;
    this.#launch(lane);
  }

  // --- open loop
  #arm(lane: Lane): void {
    if (lane.armed || !this.o.mayStart()) return;
    lane.armed = true;
    this.o.loop.setTimer(
      lane.nextAt,
      () => {
        lane.armed = false;
        const now = performance.now();
        if (!this.o.mayStart()) return;
        while (lane.nextAt <= now) {
          lane.backlog.push(lane.nextAt);
          lane.nextAt += this.#interval;
        }
        this.#fill(lane);
        this.#arm(lane);
      },
      { precise: true }
    );
  }

  // --- response timeouts: a connection with requests in flight and nothing from the server for --timeout fails them
  #sweep(): void {
    const o = this.o;
    const every = Math.max(50, Math.min(1000, o.timeoutMs / 4));
    o.loop.setTimer(performance.now() + every, () => {
      if (this.#stopping) return;
      const now = performance.now();
      for (const l of this.#lanes) {
        if (l.conn && l.ex && l.ex.inFlight > 0 && now - l.progressAt > o.timeoutMs) {
          l.conn.close('rst', new NetError(`no response for ${o.timeoutMs} ms`, 'ETIMEDOUT', 'timeout'));
        }
      }
      if (o.mayStart() || this.inFlight > 0) this.#sweep();
    });
  }
}

/** An error that ends a connection because of what the server sent; its reason is what the error table counts. */
export function protocolError(reason: string): NetError {
  return new NetError(reason, 'EPROTO', reason);
}
