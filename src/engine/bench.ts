// A benchmark run, from the main thread: starts the embedded server when there is no target,
// starts the bench workers with their share of the load, merges their 1 s intervals (for
// progress and rates) and, at the end, their histograms (added, never averaged).
import os from 'node:os';
import type { Direction } from './apps/bulk_client';
import type { ServerMode } from './apps/server_app';
import { IocptlsError } from './errors';
import { IntervalMerger } from './interval_merger';
import type { Backend } from './port/types';
import { RunningServer, ServerTotals, startServer } from './server';
import { addCounters, CounterSnapshot, emptyCounters, mergeCounters } from './stats/counters';
import type { Histogram } from './stats/histograms';
import { IntervalSample, IntervalSeries } from './stats/intervals';
import { Accounting, HistogramName } from './stats/recorder';
import type { TlsContextOptions } from './tls/context';
import type { NegotiatedInfo } from './tls/session';
import { WorkerPool } from './workers/pool';
import type { BenchJob, BenchKind, BenchWorkerResult, ClientCost } from './workers/bench_worker';

export interface BenchOptions {
  kind: BenchKind;
  /** Resolved target; undefined: start the embedded server on loopback. */
  target?: { host: string; ip: string; port: number };
  workers: number;
  /** Worker threads of the embedded server. */
  serverWorkers: number;
  backend: Backend;
  openssl?: string;
  connections: number;
  durationSec: number;
  count: number;
  warmupSec: number;
  rate: number;
  timeoutMs: number;
  tls: Omit<TlsContextOptions, 'role' | 'keylog'>;
  servername?: string;
  resume: 'none' | 'tickets' | 'ids';
  resumeRatio: number;
  close: 'rst' | 'fin';
  direction: Direction;
  size: number;
  pingpongSize: number;
  onProgress?: (sample: IntervalSample, elapsedSec: number) => void;
  /** Lets the caller end the run early (a signal): the run still reports what it measured. */
  control?: BenchControl;
}

/** Ends a running bench from outside (Ctrl-C): the workers close their window now and report. */
export class BenchControl {
  interruptedBy: string | undefined;
  #pool: { interrupt(): void } | undefined;

  interrupt(signal: string): void {
    this.interruptedBy ??= signal;
    this.#pool?.interrupt();
  }

  attach(pool: { interrupt(): void }): void {
    this.#pool = pool;
    if (this.interruptedBy) pool.interrupt();
  }
}

/** The client's own cost over the window, all workers together. */
export interface ClientSummary extends Omit<ClientCost, 'cpuUs'> {
  workers: number;
  cpuUs?: { user: number; system: number };
  /** Share of the window the workers' loops were busy (not waiting for completions), 0..1. */
  busy: number;
}

export interface BenchRun {
  start: Date;
  finish: Date;
  target: { host: string; port: number; embedded: boolean };
  /** Counts of the measured window. */
  totals: CounterSnapshot;
  intervals: IntervalSample[];
  durationSec: number;
  /** The window's latency histograms (µs): every interval's added; only those with samples. */
  histograms: Partial<Record<HistogramName, Histogram>>;
  perConnectionGbps?: number[];
  negotiated?: NegotiatedInfo;
  /** The embedded server's own count, when there was one: an independent observer of ours. */
  server?: ServerTotals;
  warmup: { durationSec: number; totals: CounterSnapshot };
  /** What completed in the drain, after the window closed. */
  after: CounterSnapshot;
  accounting: Accounting;
  client: ClientSummary;
  /** The signal that ended the run early, if one did. */
  interrupted?: string;
  /** Every long-lived connection closed before the run's time was up. */
  endedEarly: boolean;
}

/** Splits n into `parts` shares that differ by at most one (the first ones get the remainder). */
export function share(n: number, parts: number, i: number): number {
  return Math.floor(n / parts) + (i < n % parts ? 1 : 0);
}

export function defaultWorkers(embedded: boolean): { client: number; server: number } {
  const cores = os.availableParallelism();
  // With the embedded server on the same machine, split the cores between both sides.
  if (!embedded) return { client: cores, server: 0 };
  const server = Math.max(1, Math.floor(cores / 2));
  return { client: Math.max(1, cores - server), server };
}

function embeddedMode(o: BenchOptions): ServerMode {
  if (o.kind === 'throughput') return o.direction === 'up' ? 'sink' : o.direction === 'down' ? 'source' : 'echo';
  // handshake: the client closes (with RST by default), so the server keeps no TIME-WAIT.
  return 'echo';
}

export async function runBench(o: BenchOptions): Promise<BenchRun> {
  let server: RunningServer | undefined;
  let target = o.target;
  if (!target) {
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      workers: o.serverWorkers,
      backend: o.backend,
      openssl: o.openssl,
      mode: embeddedMode(o),
      bodySize: 16 * 1024,
      tls: { minVersion: o.tls.minVersion, maxVersion: o.tls.maxVersion, ciphers: o.tls.ciphers, ciphersuites: o.tls.ciphersuites, groups: o.tls.groups, alpn: o.tls.alpn },
      certs: [],
      ephemeralKeyType: 'ecdsa-p256',
      maxConnections: 0,
      handshakeTimeoutMs: 10000,
      idleTimeoutMs: 0,
    });
    target = { host: '127.0.0.1', ip: '127.0.0.1', port: server.port };
  }
  const workers = Math.max(1, Math.min(o.workers, o.connections));
  const pool = new WorkerPool<BenchJob, object, IntervalSample, BenchWorkerResult>({ kind: 'bench', backend: o.backend, openssl: o.openssl });
  o.control?.attach(pool);
  const series = new IntervalSeries();
  let elapsed = 0;
  const merger = new IntervalMerger<null>(workers, (s) => {
    elapsed += s.durationMs / 1000;
    o.onProgress?.(s, elapsed);
  });
  pool.on('tick', (_w: number, s: IntervalSample) => {
    series.add(s);
    merger.add(s, null);
  });
  let results: BenchWorkerResult[];
  try {
    const jobs: BenchJob[] = Array.from({ length: workers }, (_, i) => ({
      kind: o.kind,
      ip: target!.ip,
      port: target!.port,
      servername: o.servername,
      verifyHost: o.servername ?? target!.host,
      tls: o.tls,
      connections: share(o.connections, workers, i),
      rate: o.rate / workers,
      count: o.count > 0 ? share(o.count, workers, i) : 0,
      durationMs: o.durationSec * 1000,
      warmupMs: o.warmupSec * 1000,
      timeoutMs: o.timeoutMs,
      resume: o.resume,
      resumeRatio: o.resumeRatio,
      close: o.close,
      direction: o.direction,
      size: o.size,
      pingpongSize: o.pingpongSize,
    }));
    await Promise.all(jobs.map((j) => pool.start(j)));
    await pool.whenAllExited();
    results = await pool.stop();
    if (results.length < workers) throw pool.errors[0] ?? new IocptlsError('a bench worker stopped without a result');
  } finally {
    if (server && !results!) await server.stop().catch(() => undefined);
  }
  const serverTotals = server ? await server.stop() : undefined;
  const intervals = series.merged();
  const histograms: BenchRun['histograms'] = {};
  for (const name of ['handshake', 'connect', 'rtt', 'handshakeUncorrected', 'scheduleLag', 'rttUncorrected'] as const) {
    const h = series.histogram(name);
    if (h.totalCount > 0) histograms[name] = h;
  }
  // Workers open their windows within milliseconds of each other: the run's window spans them all.
  const windows = results.flatMap((r) => (r.window ? [r.window] : []));
  const now = Date.now();
  const start = new Date(windows.length ? Math.min(...windows.map((w) => w.startMs)) : now);
  const finish = new Date(windows.length ? Math.max(...windows.map((w) => w.endMs)) : now);
  return {
    start,
    finish,
    target: { host: target.host, port: target.port, embedded: server !== undefined },
    totals: series.totals(),
    intervals,
    durationSec: intervals.reduce((t, s) => t + s.durationMs, 0) / 1000,
    histograms,
    perConnectionGbps: o.kind === 'throughput' ? results.flatMap((r) => r.perConnectionGbps ?? []) : undefined,
    negotiated: results.find((r) => r.negotiated)?.negotiated,
    server: serverTotals,
    warmup: {
      durationSec: Math.max(...results.map((r) => r.warmup.durationMs)) / 1000,
      totals: mergeCounters(results.map((r) => r.warmup.totals)),
    },
    after: mergeCounters(results.map((r) => r.after)),
    accounting: sumAccounting(results.map((r) => r.accounting)),
    client: summarizeClient(results.map((r) => r.client)),
    interrupted: o.control?.interruptedBy,
    endedEarly: results.some((r) => r.endedEarly),
  };
}

function sumAccounting(list: Accounting[]): Accounting {
  const sum: Accounting = { unit: list[0].unit, started: 0, succeeded: 0, failed: 0, cutOff: 0, inFlightAtEnd: 0, backlogAtEnd: 0 };
  for (const a of list) {
    sum.started += a.started;
    sum.succeeded += a.succeeded;
    sum.failed += a.failed;
    sum.cutOff += a.cutOff;
    sum.inFlightAtEnd += a.inFlightAtEnd;
    sum.backlogAtEnd += a.backlogAtEnd;
  }
  return sum;
}

function summarizeClient(list: ClientCost[]): ClientSummary {
  const s: ClientSummary = { workers: list.length, busyMs: 0, waitMs: 0, dispatched: 0, queuedMs: 0, busy: 0 };
  let cpu: { user: number; system: number } | undefined = { user: 0, system: 0 };
  for (const c of list) {
    s.busyMs += c.busyMs;
    s.waitMs += c.waitMs;
    s.dispatched += c.dispatched;
    s.queuedMs += c.queuedMs;
    if (c.cpuUs && cpu) {
      cpu.user += c.cpuUs.user;
      cpu.system += c.cpuUs.system;
    } else cpu = undefined;
  }
  s.cpuUs = cpu;
  s.busy = s.busyMs + s.waitMs > 0 ? s.busyMs / (s.busyMs + s.waitMs) : 0;
  return s;
}
