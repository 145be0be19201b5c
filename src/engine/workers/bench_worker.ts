// A bench worker: its own completion port, TLS context and client connections, driving one
// load (handshakes, bulk transfer or ping-pong) through three phases (see stats/recorder.ts):
// warmup, the measured window (cut into 1 s intervals, each shipped to the main thread with its
// own histograms), and after it a drain where what was in flight may still finish — counted
// apart, so totals reconcile with what the server saw, but outside the window's time, rates and
// histograms. One clock: performance.now(), turned into epoch ms with performance.timeOrigin.
import { performance } from 'node:perf_hooks';
import { heapStats } from '../../../native/memory';
import { threadCpu, ThreadCpu } from '../../../native/thread_cpu';
import { BulkLoad, Direction } from '../apps/bulk_client';
import type { ClientLoadOptions, ConnectionLimit } from '../apps/client_load';
import { HandshakeLoad } from '../apps/handshake_client';
import { HttpLoad, HttpLoadSpec } from '../apps/http_client';
import { h2Exchange } from '../apps/http_h2_exchange';
import { buildH1Requests } from '../http/h1/request';
import { PingPongLoad } from '../apps/pingpong_client';
import { Loop } from '../loop';
import { createPort } from '../port';
import type { CounterSnapshot } from '../stats/counters';
import { IntervalSample, INTERVAL_MS } from '../stats/intervals';
import { Accounting, Recorder } from '../stats/recorder';
import { TlsContext, TlsContextOptions } from '../tls/context';
import type { NegotiatedInfo } from '../tls/session';
import { roundRobin } from '../apps/client_target';
import { waitUntilEpoch } from '../start_at';
import { CONTROL_STOP, STOP_INTERRUPT, WorkerInit } from './protocol';
import type { Post } from './worker_main';

export type BenchKind = 'handshake' | 'throughput' | 'pingpong' | 'connections' | 'http';

/** What every client connection of a bench does: the same for the whole run (BenchOptions) and for one worker (BenchJob). */
export interface BenchConnectionOptions {
  kind: BenchKind;
  servername?: string;
  tls: Omit<TlsContextOptions, 'role' | 'keylog'>;
  timeoutMs: number;
  resume: 'none' | 'tickets' | 'ids';
  resumeRatio: number;
  close: 'rst' | 'fin';
  direction: Direction;
  size: number;
  pingpongSize: number;
  /** Local addresses to connect from, in turn (--bind); the kernel's choice when absent. */
  sources?: string[];
  /** Wall-clock instant (epoch ms) to begin at, warmup included (--start-at); at once when absent. */
  startAtMs?: number;
  /** connections: bytes each connection sends per message (0: none) and how often, ms. */
  messageSize?: number;
  intervalMs?: number;
  /** http: what each request is and how connections carry them. */
  http?: HttpLoadSpec;
}

/** One worker's share of a bench. */
export interface BenchJob extends BenchConnectionOptions {
  ip: string;
  port: number;
  verifyHost?: string;
  connections: number;
  /** This worker's share of --rate (handshakes/s or round trips/s); 0: closed loop. */
  rate: number;
  /** This worker's share of --count; 0: run for durationMs. */
  count: number;
  durationMs: number;
  warmupMs: number;
  /** connections: this worker's share of --ramp (connections per second; 0: all at once). */
  rampPerSec?: number;
  /** Begin only once the main thread sets this cell (Int32Array[1] to 1): it measures the process before any connection. */
  goCell?: SharedArrayBuffer;
  /**
   * A start instant the main thread learns only once every worker is ready (a rendezvous of
   * shards): Int32 at byte 0 becomes 1 when the Float64 at byte 8 holds the epoch ms to begin at.
   * Waiting for it, then for the instant, is the same as for --start-at.
   */
  startCell?: SharedArrayBuffer;
}

/** bench connections: what one worker's connections did. */
export interface ConnectionsResult {
  wanted: number;
  /** Most connections established and open at once, and how many were open when the window closed. */
  reached: number;
  heldAtEnd: number;
  /** This loop's native buffers in use when the window closed (receive buffers, BIO pairs, scratch). */
  nativeAtEnd: number;
  /** The process's C heap in use then (mallinfo2: all threads, OpenSSL's allocations included), where glibc tells. */
  cHeapAtEnd?: number;
  /** Epoch ms: the first connect, and when the last connection was established or had failed (absent if the ramp never ended). */
  firstMs: number;
  rampDoneMs?: number;
}

/** What the worker's own thread cost over the measured window: the client's side of the bill. */
export interface ClientCost {
  /** Thread CPU time over the window, µs (undefined where the platform cannot tell). */
  cpuUs?: { user: number; system: number };
  /** Loop time outside the port's wait / inside it, ms. */
  busyMs: number;
  waitMs: number;
  /** Completions dispatched in the window, and the time they spent queued behind others of their batch, ms. */
  dispatched: number;
  queuedMs: number;
}

export interface BenchWorkerResult {
  worker: number;
  perConnectionGbps?: number[];
  negotiated?: NegotiatedInfo;
  /** Epoch ms; undefined when the run ended before the warmup did. */
  window?: { startMs: number; endMs: number };
  warmup: { durationMs: number; totals: CounterSnapshot };
  /** What completed after the window closed, during the drain. */
  after: CounterSnapshot;
  accounting: Accounting;
  client: ClientCost;
  /** The load ended by itself before its time (every long-lived connection closed). */
  endedEarly: boolean;
  /** With a start time: when this worker actually began (wall clock, epoch ms). */
  startedAtMs?: number;
  /** Set when this worker could not open all its connections (out of descriptors). */
  connectionLimit?: ConnectionLimit;
  connections?: ConnectionsResult;
  /** The loop's sends over the run: how many, and their bytes (bulk loads: bytes per send). */
  sends: { count: number; bytes: number; vectored: number };
}

/** How long in-flight work gets to finish once the window closed; shorter when interrupted. */
const DRAIN_MS = 3000;
const INTERRUPTED_DRAIN_MS = 1000;

export function runBenchWorker(init: WorkerInit<BenchJob>, post: Post): void {
  const job = init.job;
  const stop = new Int32Array(init.control);
  // bench connections measures the client's memory per connection: what idle connections freed goes back to the system.
  // Connections that never send (no --message-size) give their buffers back at the next upkeep
  // after their handshake and tickets, not a second later: during a ramp, a second of handshakes
  // holding ~50 kB each is most of the peak otherwise. Talking connections keep the default, so
  // a message every second does not pair and unpair each time.
  const holdOnly = job.kind === 'connections' && !job.messageSize;
  const loop = new Loop(createPort(init.backend), { trimHeap: job.kind === 'connections', releaseIdleMs: holdOnly ? 0 : undefined });
  // --resume ids: refuse tickets (SSL_OP_NO_TICKET), so a server can only resume by session ID,
  // which exists up to TLS 1.2 (TLS 1.3 resumes with tickets only). --resume tickets: OpenSSL's
  // client default, tickets on.
  const context = new TlsContext({ ...job.tls, role: 'client', ...(job.resume === 'ids' ? { tickets: false, maxVersion: '1.2' as const } : {}) });
  const rec = new Recorder(job.kind === 'handshake' ? 'handshake' : job.kind === 'http' ? 'request' : 'connection');
  let negotiated: NegotiatedInfo | undefined;
  const base: ClientLoadOptions = {
    loop,
    addr: loop.port.sockaddr(job.ip, job.port),
    context,
    servername: job.servername,
    verifyHost: job.verifyHost,
    connections: job.connections,
    timeoutMs: job.timeoutMs,
    rec,
    onNegotiated: (i) => (negotiated = i),
    // Worker i begins at the i-th address, so that the addresses share the load also with -c < workers × addresses.
    source: roundRobin((job.sources ?? []).map((ip) => loop.port.sockaddr(ip, 0)), init.worker),
  };
  const warmup = job.count > 0 ? 0 : job.warmupMs;
  // Set once the run begins (after the wait for --start-at); nothing starts before that.
  let t0 = 0;
  let endAt = Infinity;
  const open = () => rec.phase !== 'after' && performance.now() < endAt;
  const hs: HandshakeLoad | undefined =
    job.kind === 'handshake'
      ? new HandshakeLoad({
          ...base,
          rate: job.rate,
          resume: job.resume,
          resumeRatio: job.resumeRatio,
          close: job.close,
          ticketWaitMs: 1000,
          // Count mode counts from the first handshake (no warmup), so the total is exact.
          mayStart: (): boolean => open() && (job.count === 0 || hs!.started < job.count),
        })
      : undefined;
  const http: HttpLoad | undefined =
    job.kind === 'http' && job.http
      ? new HttpLoad({
          ...base,
          spec: job.http,
          h1Requests: buildH1Requests(job.http),
          h2: h2Exchange,
          rate: job.rate,
          resume: job.resume,
          resumeRatio: job.resumeRatio,
          mayStart: (): boolean => open() && (job.count === 0 || http!.started < job.count),
          count: job.count,
        })
      : undefined;
  const bulk = job.kind === 'throughput' ? new BulkLoad({ ...base, direction: job.direction, size: job.size }) : undefined;
  const pingpong = job.kind === 'pingpong' ? new PingPongLoad({ ...base, size: job.pingpongSize, rate: job.rate, mayStart: open }) : undefined;
  // connections: the window is the ramp plus -d seconds of holding once every connection was tried.
  const conns =
    job.kind === 'connections'
      ? new PingPongLoad({
          ...base,
          size: job.messageSize ?? 0,
          rate: 0,
          intervalMs: job.intervalMs,
          ramp: job.rampPerSec,
          mayStart: open,
          onRampDone: (at) => (endAt = Math.min(endAt, at + job.durationMs)),
        })
      : undefined;
  post({ cmd: 'READY', worker: init.worker, data: {} });
  // The main thread may measure the process before anything is connected: wait for its go.
  if (job.goCell) {
    const go = new Int32Array(job.goCell);
    while (Atomics.load(go, 0) === 0 && Atomics.load(stop, CONTROL_STOP) === 0) Atomics.wait(go, 0, 0, 50);
  }

  // Everything is set up: wait for the agreed instant, sleeping on the stop flag (a stop ends the wait, and the run).
  let startedAtMs: number | undefined;
  let startAtMs = job.startAtMs;
  if (job.startCell) {
    const flag = new Int32Array(job.startCell, 0, 1);
    while (Atomics.load(flag, 0) === 0 && Atomics.load(stop, CONTROL_STOP) === 0) Atomics.wait(flag, 0, 0, 50);
    startAtMs = Atomics.load(flag, 0) === 1 ? new Float64Array(job.startCell, 8, 1)[0] : undefined;
  }
  const gated = job.startAtMs !== undefined || job.startCell !== undefined;
  if (startAtMs !== undefined) {
    const started = waitUntilEpoch(startAtMs, (ms) => Atomics.wait(stop, CONTROL_STOP, 0, ms), () => Atomics.load(stop, CONTROL_STOP) !== 0);
    startedAtMs = started?.epochMs;
  }
  t0 = performance.now();
  if (job.count === 0 && !conns) endAt = t0 + warmup + job.durationMs;

  const epoch = (t: number) => performance.timeOrigin + t;
  let index = 0;
  let windowStart: number | undefined;
  let intervalStart = 0;
  let cpu0: ThreadCpu | undefined;
  const loop0 = { busyMs: 0, waitMs: 0, dispatched: 0, queuedMs: 0 };
  const tick = (at: number) => {
    const { counters, histograms } = rec.cut();
    const sample: IntervalSample = { index: index++, startMs: epoch(intervalStart), endMs: epoch(at), durationMs: at - intervalStart, counters, histograms };
    if (conns) sample.open = conns.held;
    intervalStart = at;
    post({ cmd: 'TICK', worker: init.worker, data: sample });
  };
  const scheduleTick = () =>
    loop.setTimer(intervalStart + INTERVAL_MS, () => {
      // The last interval is cut when the window closes, never after it.
      const now = performance.now();
      if (rec.phase !== 'window' || now >= endAt) return;
      tick(now);
      scheduleTick();
    });
  const openWindow = () => {
    windowStart = intervalStart = performance.now();
    rec.phase = 'window';
    bulk?.mark();
    cpu0 = threadCpu();
    Object.assign(loop0, { busyMs: loop.stats.busyMs, waitMs: loop.stats.waitMs, dispatched: loop.stats.dispatched, queuedMs: loop.stats.queuedMs });
    scheduleTick();
  };

  const stopRequested = () => Atomics.load(stop, CONTROL_STOP) !== 0;
  const longLived = bulk ?? pingpong ?? conns;
  // Stopped while waiting for --start-at: nothing began, nothing to measure.
  if (!gated || startedAtMs !== undefined) {
    if (warmup > 0) loop.setTimer(t0 + warmup, openWindow);
    else openWindow();
    hs?.start();
    http?.start();
    bulk?.start();
    pingpong?.start();
    conns?.start();
    loop.run(
      () =>
        stopRequested() ||
        performance.now() >= endAt ||
        (hs !== undefined && job.count > 0 && hs.started >= job.count && hs.inFlight === 0) ||
        (http !== undefined && job.count > 0 && http.started >= job.count && http.inFlight === 0) ||
        (longLived !== undefined && longLived.open === 0 && rec.measuring),
      50
    );
  }

  // The window closes now: what is in flight is noted, the last interval cut, the client's cost read.
  const windowEnd = performance.now();
  const heldAtEnd = conns?.held ?? 0;
  const nativeAtEnd = conns ? loop.memory().inUseBytes : 0;
  const cHeapAtEnd = conns ? heapStats()?.inUse : undefined;
  const endedEarly = longLived !== undefined && longLived.open === 0 && windowEnd < endAt && !stopRequested();
  let client: ClientCost = { busyMs: 0, waitMs: 0, dispatched: 0, queuedMs: 0 };
  let perConnectionGbps: number[] | undefined;
  if (windowStart !== undefined) {
    hs?.closeWindow(windowEnd);
    http?.closeWindow(windowEnd);
    if (pingpong) rec.accounting.inFlightAtEnd = pingpong.outstanding;
    if (conns) rec.accounting.inFlightAtEnd = conns.outstanding;
    if (bulk) rec.accounting.inFlightAtEnd = bulk.open;
    perConnectionGbps = bulk?.perConnectionGbps(windowEnd);
    const cpu1 = threadCpu();
    client = {
      cpuUs: cpu0 && cpu1 ? { user: cpu1.userUs - cpu0.userUs, system: cpu1.systemUs - cpu0.systemUs } : undefined,
      busyMs: loop.stats.busyMs - loop0.busyMs,
      waitMs: loop.stats.waitMs - loop0.waitMs,
      dispatched: loop.stats.dispatched - loop0.dispatched,
      queuedMs: loop.stats.queuedMs - loop0.queuedMs,
    };
    tick(windowEnd);
  }
  rec.phase = 'after';

  // The drain: in-flight handshakes may finish (and are counted apart); long-lived connections
  // close with close_notify once what they wrote is out, so the server receives all we counted.
  const drainUntil = performance.now() + (Atomics.load(stop, CONTROL_STOP) === STOP_INTERRUPT ? INTERRUPTED_DRAIN_MS : DRAIN_MS);
  if (hs) while (hs.inFlight > 0 && performance.now() < drainUntil) loop.turn(20);
  // Requests in flight get their responses (counted apart), so the server's log and ours agree.
  if (http) while (http.inFlight > 0 && performance.now() < drainUntil) loop.turn(20);
  http?.stop();
  for (const c of loop.conns) c?.close('notify');
  while (loop.stats.open > 0 && performance.now() < drainUntil) loop.turn(20);
  // Whatever is left is cut off: closed by us, neither success nor failure.
  for (const c of loop.conns) c?.close('rst');
  for (let i = 0; i < 20 && loop.stats.open > 0; i++) loop.turn(10);

  const result: BenchWorkerResult = {
    worker: init.worker,
    perConnectionGbps,
    negotiated,
    window: windowStart !== undefined ? { startMs: epoch(windowStart), endMs: epoch(windowEnd) } : undefined,
    warmup: { durationMs: (windowStart ?? windowEnd) - t0, totals: rec.warmup.snapshot() },
    after: rec.after.snapshot(),
    accounting: rec.accounting,
    client,
    endedEarly,
    startedAtMs,
    connectionLimit: (hs ?? http ?? bulk ?? pingpong ?? conns)?.budget.report(),
    connections: conns && {
      wanted: job.connections,
      reached: conns.peakHeld,
      heldAtEnd,
      nativeAtEnd,
      cHeapAtEnd,
      firstMs: epoch(conns.firstAt),
      rampDoneMs: conns.rampDoneAt ? epoch(conns.rampDoneAt) : undefined,
    },
    sends: { count: loop.stats.sends, bytes: loop.stats.sentBytes, vectored: loop.stats.vectoredSends },
  };
  hs?.free();
  http?.free();
  context.free();
  loop.destroy();
  post({ cmd: 'RESULT', worker: init.worker, data: result });
}
