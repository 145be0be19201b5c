// A benchmark run, from the main thread: starts the embedded server when there is no target,
// starts the bench workers with their share of the load, merges their 1 s intervals (for
// progress and rates) and, at the end, their histograms (added, never averaged).
import os from 'node:os';
import type { Direction } from './apps/bulk_client';
import type { ConnectionLimit } from './apps/client_load';
import type { ServerMode } from './apps/server_app';
import { IocptlsError } from './errors';
import { IntervalMerger } from './interval_merger';
import type { Backend } from './port/types';
import { RunningServer, ServerTotals, startServer } from './server';
import { CounterSnapshot } from './stats/counters';
import { Histogram, mergeHistograms } from './stats/histograms';
import { IntervalSample, IntervalSeries } from './stats/intervals';
import type { TlsContextOptions } from './tls/context';
import type { NegotiatedInfo } from './tls/session';
import { WorkerPool } from './workers/pool';
import type { BenchJob, BenchKind, BenchWorkerResult } from './workers/bench_worker';

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
}

export interface BenchRun {
  start: Date;
  finish: Date;
  target: { host: string; port: number; embedded: boolean };
  totals: CounterSnapshot;
  intervals: IntervalSample[];
  durationSec: number;
  histograms: { handshake: Histogram; connect: Histogram; rtt?: Histogram };
  perConnectionGbps?: number[];
  negotiated?: NegotiatedInfo;
  /** The embedded server's own count, when there was one: an independent observer of ours. */
  server?: ServerTotals;
  /**
   * Set when the clients could not open every connection asked for (socket() failed: EMFILE,
   * ENFILE...): the run went on with `held` of `wanted`, and each failure is in totals.errors.
   * Worth a notice: the load was smaller than asked.
   */
  connectionLimit?: ConnectionLimit;
}

/** The workers' connection limits as one: what the run asked for, what it held (a worker that met no limit held all of its share). */
function mergeLimits(results: BenchWorkerResult[], connections: number): ConnectionLimit | undefined {
  const limited = results.filter((r) => r.connectionLimit);
  if (limited.length === 0) return undefined;
  const reasons = [...new Set(limited.map((r) => r.connectionLimit!.reason))];
  const short = limited.reduce((a, r) => a + r.connectionLimit!.wanted - r.connectionLimit!.held, 0);
  return { reason: reasons.join(','), wanted: connections, held: connections - short };
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
  const start = new Date();
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
  const finish = new Date();
  const serverTotals = server ? await server.stop() : undefined;
  const intervals = series.merged();
  return {
    start,
    finish,
    target: { host: target.host, port: target.port, embedded: server !== undefined },
    totals: series.totals(),
    intervals,
    durationSec: intervals.reduce((t, s) => t + s.durationMs, 0) / 1000,
    histograms: {
      handshake: mergeHistograms(results.map((r) => r.histograms.handshake)),
      connect: mergeHistograms(results.map((r) => r.histograms.connect)),
      rtt: o.kind === 'pingpong' ? mergeHistograms(results.map((r) => r.histograms.rtt!)) : undefined,
    },
    perConnectionGbps: o.kind === 'throughput' ? results.flatMap((r) => r.perConnectionGbps ?? []) : undefined,
    negotiated: results.find((r) => r.negotiated)?.negotiated,
    server: serverTotals,
    connectionLimit: mergeLimits(results, o.connections),
  };
}
