// A benchmark run, from the main thread: starts the embedded server when there is no target,
// starts the bench workers with their share of the load, merges their 1 s intervals (for
// progress and rates) and, at the end, their histograms (added, never averaged). With --rounds,
// does that once per round and adds the rounds up the same way.
import os from 'node:os';
import type { ConnectionLimit } from './apps/client_load';
import type { ServerMode } from './apps/server_app';
import { IocptlsError } from './errors';
import { IntervalMerger } from './interval_merger';
import type { Backend } from './port/types';
import { RunningServer, ServerTotals, startServer } from './server';
import { addCounters, CounterSnapshot, emptyCounters, mergeCounters } from './stats/counters';
import { Histogram, mergeHistograms } from './stats/histograms';
import type { IntervalSample } from './stats/intervals';
import { IntervalSeries } from './stats/interval_series';
import { Accounting, HISTOGRAM_NAMES, HistogramName, sumAccounting } from './stats/recorder';
import type { NegotiatedInfo } from './tls/session';
import { residentBytes } from '../../native/memory';
import { WorkerPool } from './workers/pool';
import type { BenchConnectionOptions, BenchJob, BenchWorkerResult, ClientCost } from './workers/bench_worker';

export interface BenchOptions extends BenchConnectionOptions {
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
  /** Wall-clock instant (epoch ms) at which every worker begins, warmup included (--start-at); the first round only. */
  startAtMs?: number;
  /**
   * Shards that meet before they start (--rendezvous): called once the first round's workers are
   * set up and waiting, resolves the instant (epoch ms) they all begin at; a rejection (a shard
   * missing at the deadline) stops the workers before anything is measured and fails the run.
   */
  startGate?: () => Promise<number>;
  /** Measured rounds (each a complete run: warmup, window, drain), 1 for a plain run. */
  rounds?: number;
  /** Pause between rounds, seconds. */
  roundPauseSec?: number;
  /** connections: connections opened per second over all workers (0: all at once). */
  rampPerSec?: number;
  onProgress?: (sample: IntervalSample, elapsedSec: number) => void;
  /** A round (0-based) is about to start; only called with rounds > 1. */
  onRound?: (round: number) => void;
  /** http without a target: the embedded server's response body size, bytes. */
  embeddedBodySize?: number;
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
    this.wakeAll();
  }

  attach(pool: { interrupt(): void }): void {
    this.#pool = pool;
    if (this.interruptedBy) pool.interrupt();
  }

  #wakers = new Set<() => void>();

  /** Waits ms (a pause between rounds); resolves false at once if the run is interrupted meanwhile. */
  pause(ms: number): Promise<boolean> {
    if (this.interruptedBy) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve(ok);
      };
      const wake = () => done(false);
      const timer = setTimeout(() => done(true), ms);
      this.#wakers.add(wake);
    });
  }

  /** Resolves when the run is interrupted (never, if it is not). */
  whenInterrupted(): Promise<void> {
    if (this.interruptedBy) return Promise.resolve();
    return new Promise((resolve) => this.#wakers.add(() => resolve()));
  }

  /** Called by interrupt(): ends a pause in progress. */
  protected wakeAll(): void {
    for (const w of [...this.#wakers]) w();
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
  /**
   * Set when the clients could not open every connection asked for (socket() failed: EMFILE,
   * ENFILE...): the run went on with `held` of `wanted`, and each failure is in totals.errors.
   * Worth a notice: the load was smaller than asked.
   */
  connectionLimit?: ConnectionLimit;
  /** With rounds > 1: each round's own figures (the fields above are their sums). */
  rounds?: BenchRound[];
  /** With --start-at: the instant asked for, when the first worker began, and how far apart the workers began (ms). */
  startAt?: StartRecord;
  /** bench connections: how many were reached, how long the ramp took, what the process held per connection. */
  connections?: ConnectionsSummary;
  /** The client loops' sends over the run: how many, their bytes, how many were vectored. */
  sends: { count: number; bytes: number; vectored: number };
}

export interface ConnectionsSummary {
  wanted: number;
  /** Most connections established and open at once (all workers: the largest count at a 1 s tick, or the workers' peaks added if higher). */
  reached: number;
  /** Open when the window closed. */
  heldAtEnd: number;
  /** From the first connect to the last connection established or failed, ms; absent if the ramp did not end (interrupted). */
  rampMs?: number;
  /** The process's resident memory before any connection, and at its most while they were held; the difference per connection reached. */
  memory: { baselineRssBytes: number; peakRssBytes: number; perConnectionBytes: number; scope: 'client' | 'client and embedded server'; nativeAtEndBytes: number; cHeapAtEndBytes?: number };
}

export interface StartRecord {
  intendedMs: number;
  /** undefined when the run was stopped before the instant came. */
  actualMs?: number;
  workerSpreadMs?: number;
}

/** One round of a --rounds run, as the document's `rounds` keeps it. */
export interface BenchRound {
  index: number;
  start: Date;
  finish: Date;
  durationSec: number;
  totals: CounterSnapshot;
  intervals: IntervalSample[];
  histograms: Partial<Record<HistogramName, Histogram>>;
  /** The round was cut short by a signal. */
  interrupted: boolean;
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
  if (o.kind === 'http') return 'http';
  if (o.kind === 'throughput') return o.direction === 'up' ? 'sink' : o.direction === 'down' ? 'source' : 'echo';
  // handshake: the client closes (with RST by default), so the server keeps no TIME-WAIT.
  return 'echo';
}

/** What the embedded server offers a bench http client by ALPN: the protocols its http mode speaks. */
const EMBEDDED_HTTP_ALPN = ['h2', 'http/1.1', 'http/1.0'];

/** The embedded server a run without a target benchmarks: loopback, port 0, the run's TLS limits, an ephemeral ECDSA P-256 certificate. */
export function startEmbeddedServer(o: BenchOptions): Promise<RunningServer> {
  return startServer({
    host: '127.0.0.1',
    port: 0,
    workers: o.serverWorkers,
    backend: o.backend,
    openssl: o.openssl,
    mode: embeddedMode(o),
    bodySize: o.kind === 'http' ? (o.embeddedBodySize ?? 1024) : 16 * 1024,
    tls: { minVersion: o.tls.minVersion, maxVersion: o.tls.maxVersion, ciphers: o.tls.ciphers, ciphersuites: o.tls.ciphersuites, groups: o.tls.groups, alpn: o.kind === 'http' ? EMBEDDED_HTTP_ALPN : o.tls.alpn },
    certs: [],
    ephemeralKeyType: 'ecdsa-p256',
    maxConnections: 0,
    handshakeTimeoutMs: 10000,
    idleTimeoutMs: 0,
  });
}

/**
 * A benchmark run: one round, or with `rounds` > 1 several rounds separated by pauses, each a
 * complete run of its own (new workers and connections, warmup, window, drain) against the
 * same target — the embedded server is started once and serves every round. Rounds are
 * separate replicas on purpose: a sample per round then carries what differs from one run to
 * the next (connection placement, JIT, the machine's load a few seconds later), which is what
 * `compare`'s statistics need to know about; windows of one long run would share all of it.
 */
export async function runBench(o: BenchOptions): Promise<BenchRun> {
  let server: RunningServer | undefined;
  let target = o.target;
  if (!target) {
    server = await startEmbeddedServer(o);
    target = { host: '127.0.0.1', ip: '127.0.0.1', port: server.port };
  }
  if (o.http && !o.http.authority) o.http = { ...o.http, authority: `${target.host}:${target.port}` };
  const rounds = Math.max(1, o.rounds ?? 1);
  const runs: RoundRun[] = [];
  let finished = false;
  try {
    for (let r = 0; r < rounds; r++) {
      if (r > 0 && o.control && !(await o.control.pause((o.roundPauseSec ?? 1) * 1000))) break;
      if (r > 0 && !o.control) await new Promise((res) => setTimeout(res, (o.roundPauseSec ?? 1) * 1000));
      if (rounds > 1) o.onRound?.(r);
      // Shards start together: the first round waits for --start-at; the others follow their pauses.
      const run = await runRound(r === 0 ? o : { ...o, startAtMs: undefined, startGate: undefined }, target);
      // A round interrupted before its window opened measured nothing: it is not a round.
      if (run.intervals.length > 0 || runs.length === 0) runs.push(run);
      if (o.control?.interruptedBy) break;
    }
    finished = true;
  } finally {
    if (server && !finished) await server.stop().catch(() => undefined);
  }
  const serverTotals = server ? await server.stop() : undefined;
  return combineRounds(runs, { embedded: server !== undefined, host: target.host, port: target.port }, serverTotals, o, rounds > 1);
}

/**
 * One run made of single-round runs that were measured apart (`bench ab` runs each side's rounds
 * between the other side's): the same sums as a --rounds run, each part kept as a round.
 */
export function combineRuns(parts: BenchRun[], o: BenchOptions, server?: ServerTotals): BenchRun {
  if (parts.length === 0) throw new RangeError('combineRuns needs at least one run');
  const runs: RoundRun[] = parts.map((p) => ({ ...p, interrupted: p.interrupted !== undefined }));
  const run = combineRounds(runs, parts[0].target, server, o, true);
  run.interrupted = parts.find((p) => p.interrupted)?.interrupted;
  return run;
}

/** What one round measured (its workers' results merged): a run's figures, without what only the whole run has; interrupted or not. */
interface RoundRun extends Omit<BenchRun, 'target' | 'server' | 'interrupted' | 'rounds'> {
  interrupted: boolean;
}

/** One round: starts the bench workers with their share of the load, and merges what they report. */
async function runRound(o: BenchOptions, target: { host: string; ip: string; port: number }): Promise<RoundRun> {
  const workers = Math.max(1, Math.min(o.workers, o.connections));
  const pool = new WorkerPool<BenchJob, object, IntervalSample, BenchWorkerResult>({ kind: 'bench', backend: o.backend, openssl: o.openssl });
  o.control?.attach(pool);
  const series = new IntervalSeries();
  let elapsed = 0;
  // bench connections: the process's memory, sampled at each merged second, against its level before any connection.
  let peakRss = 0;
  let peakOpen = 0;
  const merger = new IntervalMerger<null>(workers, (s) => {
    elapsed += s.durationMs / 1000;
    if (o.kind === 'connections') {
      peakRss = Math.max(peakRss, residentBytes());
      peakOpen = Math.max(peakOpen, s.open ?? 0);
    }
    o.onProgress?.(s, elapsed);
  });
  pool.on('tick', (_w: number, s: IntervalSample) => {
    series.add(s);
    merger.add(s, null);
  });
  const goCell = o.kind === 'connections' ? new SharedArrayBuffer(4) : undefined;
  const startCell = o.startGate ? new SharedArrayBuffer(16) : undefined;
  let startAtMs = o.startAtMs;
  const jobs: BenchJob[] = Array.from({ length: workers }, (_, i) => ({
    kind: o.kind,
    ip: target.ip,
    port: target.port,
    servername: o.servername,
    verifyHost: o.servername ?? target.host,
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
    sources: o.sources,
    startAtMs: o.startAtMs,
    rampPerSec: o.rampPerSec ? o.rampPerSec / workers : 0,
    messageSize: o.messageSize,
    intervalMs: o.intervalMs,
    goCell,
    startCell,
    http: o.http,
  }));
  await Promise.all(jobs.map((j) => pool.start(j)));
  if (o.startGate && startCell) {
    try {
      startAtMs = await gateOrInterrupt(o.startGate, o.control);
    } catch (e) {
      // Nothing was measured: the workers are told to stop waiting, and the run fails with the gate's reason.
      pool.interrupt();
      await pool.whenAllExited();
      await pool.stop().catch(() => undefined);
      throw e;
    }
    if (startAtMs !== undefined) {
      new Float64Array(startCell, 8, 1)[0] = startAtMs;
      Atomics.store(new Int32Array(startCell, 0, 1), 0, 1);
      Atomics.notify(new Int32Array(startCell, 0, 1), 0);
    }
  }
  // Every worker is up and nothing is connected yet: the baseline, then go.
  const baselineRss = residentBytes();
  if (goCell) {
    Atomics.store(new Int32Array(goCell), 0, 1);
    Atomics.notify(new Int32Array(goCell), 0);
  }
  await pool.whenAllExited();
  const results = await pool.stop();
  if (results.length < workers) throw pool.errors[0] ?? new IocptlsError('a bench worker stopped without a result');
  const intervals = series.merged();
  const histograms: RoundRun['histograms'] = {};
  for (const name of HISTOGRAM_NAMES) {
    const h = series.histogram(name);
    if (h.totalCount > 0) histograms[name] = h;
  }
  // Workers open their windows within milliseconds of each other: the round's window spans them all.
  const windows = results.flatMap((r) => (r.window ? [r.window] : []));
  const now = Date.now();
  return {
    start: new Date(windows.length ? Math.min(...windows.map((w) => w.startMs)) : now),
    finish: new Date(windows.length ? Math.max(...windows.map((w) => w.endMs)) : now),
    totals: series.totals(),
    intervals,
    durationSec: intervals.reduce((t, s) => t + s.durationMs, 0) / 1000,
    histograms,
    perConnectionGbps: o.kind === 'throughput' ? results.flatMap((r) => r.perConnectionGbps ?? []) : undefined,
    negotiated: results.find((r) => r.negotiated)?.negotiated,
    warmup: {
      durationSec: Math.max(...results.map((r) => r.warmup.durationMs)) / 1000,
      totals: mergeCounters(results.map((r) => r.warmup.totals)),
    },
    after: mergeCounters(results.map((r) => r.after)),
    accounting: sumAccounting(results.map((r) => r.accounting)),
    client: summarizeClient(results.map((r) => r.client)),
    interrupted: o.control?.interruptedBy !== undefined,
    endedEarly: results.some((r) => r.endedEarly),
    startAt: startAtMs !== undefined ? startRecord(startAtMs, results) : undefined,
    connectionLimit: mergeLimits(results, o.connections),
    connections: o.kind === 'connections' ? connectionsSummary(o, results, peakOpen, baselineRss, peakRss) : undefined,
    sends: {
      count: results.reduce((a, r) => a + r.sends.count, 0),
      bytes: results.reduce((a, r) => a + r.sends.bytes, 0),
      vectored: results.reduce((a, r) => a + r.sends.vectored, 0),
    },
  };
}

/** The gate's instant, or undefined when the run is interrupted (a signal) first: the workers then stop waiting on their own. */
function gateOrInterrupt(gate: () => Promise<number>, control: BenchControl | undefined): Promise<number | undefined> {
  const g = gate();
  if (!control) return g;
  return Promise.race([g, control.whenInterrupted().then(() => undefined)]);
}

function connectionsSummary(o: BenchOptions, results: BenchWorkerResult[], peakOpen: number, baselineRss: number, peakRss: number): ConnectionsSummary {
  // Process-wide: every worker read the same heap; the last to close its window saw it fullest.
  const heaps = results.flatMap((r) => (r.connections?.cHeapAtEnd !== undefined ? [r.connections.cHeapAtEnd] : []));
  const cHeapAtEnd = heaps.length ? Math.max(...heaps) : undefined;
  const c = results.flatMap((r) => (r.connections ? [r.connections] : []));
  // Held at once, as the 1 s ticks saw it (every worker holds during -d); without a tick, the workers' own peaks.
  const reached = peakOpen > 0 ? peakOpen : c.reduce((a, x) => a + x.reached, 0);
  const first = Math.min(...c.map((x) => x.firstMs));
  const done = c.every((x) => x.rampDoneMs !== undefined) ? Math.max(...c.map((x) => x.rampDoneMs!)) : undefined;
  const peak = Math.max(peakRss, baselineRss);
  return {
    wanted: o.connections,
    reached,
    heldAtEnd: c.reduce((a, x) => a + x.heldAtEnd, 0),
    rampMs: done !== undefined ? Math.round((done - first) * 1000) / 1000 : undefined,
    memory: {
      baselineRssBytes: baselineRss,
      peakRssBytes: peak,
      perConnectionBytes: reached > 0 ? Math.round((peak - baselineRss) / reached) : 0,
      scope: o.target ? 'client' : 'client and embedded server',
      nativeAtEndBytes: c.reduce((a, x) => a + x.nativeAtEnd, 0),
      cHeapAtEndBytes: cHeapAtEnd,
    },
  };
}

function startRecord(intendedMs: number, results: BenchWorkerResult[]): StartRecord {
  const began = results.flatMap((r) => (r.startedAtMs !== undefined ? [r.startedAtMs] : []));
  if (began.length === 0) return { intendedMs };
  const first = Math.min(...began);
  return { intendedMs, actualMs: first, workerSpreadMs: Math.max(...began) - first };
}

/**
 * The run from its rounds: counts added, histograms added (never averaged), intervals one after
 * the other (renumbered, each tagged with its round), time summed — so every rate is over the
 * measured time of all rounds, the pauses and warmups left out.
 */
function combineRounds(
  runs: RoundRun[],
  target: BenchRun['target'],
  server: ServerTotals | undefined,
  o: BenchOptions,
  keepRounds: boolean
): BenchRun {
  const intervals: IntervalSample[] = [];
  runs.forEach((r, round) => {
    for (const s of r.intervals) intervals.push(keepRounds ? { ...s, index: intervals.length, round } : s);
  });
  const histograms: BenchRun['histograms'] = {};
  for (const name of HISTOGRAM_NAMES) {
    const parts = runs.flatMap((r) => (r.histograms[name] ? [r.histograms[name]!] : []));
    if (parts.length > 0) histograms[name] = parts.length === 1 ? parts[0] : mergeHistograms(parts);
  }
  const perConnection = runs.flatMap((r) => r.perConnectionGbps ?? []);
  return {
    start: runs[0].start,
    finish: runs[runs.length - 1].finish,
    target,
    totals: mergeCounters(runs.map((r) => r.totals)),
    intervals,
    durationSec: runs.reduce((t, r) => t + r.durationSec, 0),
    histograms,
    perConnectionGbps: o.kind === 'throughput' ? perConnection : undefined,
    negotiated: runs.find((r) => r.negotiated)?.negotiated,
    server,
    warmup: {
      durationSec: runs.reduce((t, r) => t + r.warmup.durationSec, 0),
      totals: mergeCounters(runs.map((r) => r.warmup.totals)),
    },
    after: mergeCounters(runs.map((r) => r.after)),
    accounting: sumAccounting(runs.map((r) => r.accounting)),
    client: addClientSummaries(runs.map((r) => r.client)),
    interrupted: o.control?.interruptedBy,
    endedEarly: runs.some((r) => r.endedEarly),
    startAt: runs[0].startAt,
    // The tightest round: the load was at most that much.
    connectionLimit: runs.map((r) => r.connectionLimit).filter((l) => l !== undefined).sort((x, y) => x!.held - y!.held)[0],
    // Capacity is the least any round reached; sends add up.
    connections: runs.map((r) => r.connections).filter((x) => x !== undefined).sort((x, y) => x!.reached - y!.reached)[0],
    sends: {
      count: runs.reduce((a, r) => a + r.sends.count, 0),
      bytes: runs.reduce((a, r) => a + r.sends.bytes, 0),
      vectored: runs.reduce((a, r) => a + r.sends.vectored, 0),
    },
    rounds: keepRounds
      ? runs.map((r, index) => ({
          index,
          start: r.start,
          finish: r.finish,
          durationSec: r.durationSec,
          totals: r.totals,
          intervals: intervals.filter((s) => s.round === index),
          histograms: r.histograms,
          interrupted: r.interrupted,
        }))
      : undefined,
  };
}

function addClientSummaries(list: ClientSummary[]): ClientSummary {
  return list.length === 1 ? list[0] : summarizeClient(list, Math.max(...list.map((c) => c.workers)));
}

/** The workers' (or the rounds') loop costs added up; CPU only when every one of them could tell. */
function summarizeClient(list: readonly ClientCost[], workers = list.length): ClientSummary {
  const s: ClientSummary = { workers, busyMs: 0, waitMs: 0, dispatched: 0, queuedMs: 0, busy: 0 };
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
