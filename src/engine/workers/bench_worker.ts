// A bench worker: its own completion port, TLS context and client connections, driving one
// load (handshakes, bulk transfer or ping-pong). Counters and histograms restart when the
// warmup ends; a tick goes to the main thread every second; at the end, the encoded
// histograms (merged, never averaged, in the main thread).
//
// The measured window ends when the run does (duration over, count reached, or stop). What
// was in flight then still completes and is counted (so totals match what the server saw),
// in the last interval, but the drain's time is not part of the window: a stalled handshake
// finishing 400 ms late would otherwise stretch the window and understate the rate.
import { performance } from 'node:perf_hooks';
import { BulkLoad, Direction } from '../apps/bulk_client';
import type { ClientLoadOptions, ConnectionLimit } from '../apps/client_load';
import { HandshakeLoad } from '../apps/handshake_client';
import { PingPongLoad } from '../apps/pingpong_client';
import { Loop } from '../loop';
import { createPort } from '../port';
import { Counters, CounterSnapshot } from '../stats/counters';
import { createHistogram, encodeHistogram } from '../stats/histograms';
import { IntervalSample, IntervalTicker, INTERVAL_MS } from '../stats/intervals';
import { TlsContext, TlsContextOptions } from '../tls/context';
import type { NegotiatedInfo } from '../tls/session';
import { CONTROL_STOP, WorkerInit } from './protocol';
import type { Post } from './worker_main';

export type BenchKind = 'handshake' | 'throughput' | 'pingpong';

export interface BenchJob {
  kind: BenchKind;
  ip: string;
  port: number;
  servername?: string;
  verifyHost?: string;
  tls: Omit<TlsContextOptions, 'role' | 'keylog'>;
  connections: number;
  /** This worker's share of --rate (handshakes/s); 0: closed loop. */
  rate: number;
  /** This worker's share of --count; 0: run for durationMs. */
  count: number;
  durationMs: number;
  warmupMs: number;
  timeoutMs: number;
  resume: 'none' | 'tickets' | 'ids';
  resumeRatio: number;
  close: 'rst' | 'fin';
  direction: Direction;
  size: number;
  pingpongSize: number;
}

export interface BenchWorkerResult {
  worker: number;
  histograms: { handshake: string; connect: string; rtt?: string };
  perConnectionGbps?: number[];
  negotiated?: NegotiatedInfo;
  /** Counts of the measured window (warmup excluded), also sent as ticks. */
  totals: CounterSnapshot;
  /** Set when this worker could not open all its connections (out of descriptors). */
  connectionLimit?: ConnectionLimit;
}

/** How long in-flight handshakes get to finish once the run is over. */
const DRAIN_MS = 3000;

export function runBenchWorker(init: WorkerInit<BenchJob>, post: Post): void {
  const job = init.job;
  const stop = new Int32Array(init.control);
  const loop = new Loop(createPort(init.backend));
  const context = new TlsContext({ ...job.tls, role: 'client' });
  const counters = new Counters();
  const handshakeHist = createHistogram();
  const connectHist = createHistogram();
  const rttHist = createHistogram();
  let negotiated: NegotiatedInfo | undefined;
  const base: ClientLoadOptions = {
    loop,
    addr: loop.port.sockaddr(job.ip, job.port),
    context,
    servername: job.servername,
    verifyHost: job.verifyHost,
    connections: job.connections,
    timeoutMs: job.timeoutMs,
    counters,
    handshakeHist,
    connectHist,
    onNegotiated: (i) => (negotiated = i),
  };
  let stopping = false;
  let measuring = false;
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
          mayStart: (): boolean => !stopping && (job.count === 0 || hs!.started < job.count),
        })
      : undefined;
  const bulk = job.kind === 'throughput' ? new BulkLoad({ ...base, direction: job.direction, size: job.size }) : undefined;
  const pingpong = job.kind === 'pingpong' ? new PingPongLoad({ ...base, size: job.pingpongSize, rttHist }) : undefined;
  post({ cmd: 'READY', worker: init.worker, data: {} });

  let ticker: IntervalTicker | undefined;
  let measured: CounterSnapshot[] = [];
  const tick = (nowMs = Date.now()) => {
    if (!ticker) return;
    const sample: IntervalSample = ticker.tick(nowMs);
    measured.push(sample.counters);
    post({ cmd: 'TICK', worker: init.worker, data: sample });
  };
  const scheduleTicks = () =>
    loop.setTimer(performance.now() + INTERVAL_MS, () => {
      // The last interval is cut when the run stops, never after it.
      if (stopping || performance.now() >= endAt) return;
      tick();
      scheduleTicks();
    });
  const beginMeasuring = () => {
    counters.reset();
    handshakeHist.reset();
    connectHist.reset();
    rttHist.reset();
    bulk?.mark();
    measured = [];
    measuring = true;
    ticker = new IntervalTicker(counters, Date.now());
    scheduleTicks();
  };

  const t0 = performance.now();
  const warmup = job.count > 0 ? 0 : job.warmupMs;
  const endAt = job.count > 0 ? Infinity : t0 + warmup + job.durationMs;
  if (warmup > 0) loop.setTimer(t0 + warmup, beginMeasuring);
  else beginMeasuring();
  hs?.start();
  bulk?.start();
  pingpong?.start();

  const stopRequested = () => Atomics.load(stop, CONTROL_STOP) === 1;
  loop.run(
    () =>
      stopRequested() ||
      performance.now() >= endAt ||
      (hs !== undefined && job.count > 0 && hs.started >= job.count && hs.inFlight === 0) ||
      (!hs && loop.stats.open === 0 && measuring),
    50
  );
  stopping = true;
  const endedAt = Date.now();
  const perConnectionGbps = bulk?.perConnectionGbps();
  // Let what is in flight finish, so every completed handshake is counted (and matches what the server saw).
  const drainUntil = performance.now() + DRAIN_MS;
  if (hs) while (hs.inFlight > 0 && performance.now() < drainUntil) loop.turn(20);
  // Bulk and ping-pong: everything written goes out before close_notify, so the server receives all we counted.
  for (const c of loop.conns) c?.close('notify');
  while (loop.stats.open > 0 && performance.now() < drainUntil) loop.turn(20);
  for (const c of loop.conns) c?.close('rst');
  for (let i = 0; i < 20 && loop.stats.open > 0; i++) loop.turn(10);
  tick(endedAt);

  const totals = new Counters();
  for (const s of measured) {
    totals.handshakes += s.handshakes;
    totals.resumed += s.resumed;
    totals.full += s.full;
    totals.connects += s.connects;
    totals.bytesIn += s.bytesIn;
    totals.bytesOut += s.bytesOut;
    totals.roundTrips += s.roundTrips;
    for (const [k, n] of Object.entries(s.errors)) totals.error(k, n);
  }
  const result: BenchWorkerResult = {
    worker: init.worker,
    histograms: {
      handshake: encodeHistogram(handshakeHist),
      connect: encodeHistogram(connectHist),
      rtt: pingpong ? encodeHistogram(rttHist) : undefined,
    },
    perConnectionGbps,
    negotiated,
    totals: totals.snapshot(),
    connectionLimit: (hs ?? bulk ?? pingpong)?.budget.report(),
  };
  hs?.free();
  context.free();
  loop.destroy();
  post({ cmd: 'RESULT', worker: init.worker, data: result });
}
