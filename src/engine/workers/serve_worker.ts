// A serve worker: its own completion port, listener (SO_REUSEPORT on Linux, so the kernel
// spreads connections across workers), TLS context and connections. Ticks once a second.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { DeadlineQueue } from '../apps/deadline_queue';
import { serverAppFactory } from '../apps/server_modes';
import { SharedConnectionLimit } from '../connection_limit';
import type { ServerMode } from '../apps/server_app';
import { Loop } from '../loop';
import { createPort } from '../port';
import type { CompletionPort } from '../port/types';
import { addCounters, Counters, CounterSnapshot, emptyCounters } from '../stats/counters';
import { IntervalSample, IntervalTicker, INTERVAL_MS } from '../stats/intervals';
import { TlsContext, TlsContextOptions } from '../tls/context';
import { CONTROL_STOP, WorkerInit } from './protocol';
import type { Post } from './worker_main';

export interface ServeJob {
  host: string;
  port: number;
  reusePort: boolean;
  backlog: number;
  acceptDepth: number;
  mode: ServerMode;
  bodySize: number;
  tls: Omit<TlsContextOptions, 'role' | 'keylog'>;
  /** A key log file the main thread opened (worker threads share the process's descriptors). */
  keylogFd?: number;
  maxConnections: number;
  /** With maxConnections: the counter shared by every worker (SharedConnectionLimit.buffer()). */
  connectionCount?: SharedArrayBuffer;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  /** http: ms a client gets to send a complete request head (0: no limit). */
  headerTimeoutMs: number;
  /** How long a graceful stop waits for connections to close before resetting them. */
  drainMs: number;
  /**
   * Workers start in parallel; with port 0 only the first knows the port once it has bound. It
   * publishes it in this cell (Int32Array[1]: 0 not yet, > 0 the port, -1 it failed); workers with
   * joinPort wait on the cell, after their own setup, instead of on the first worker's whole startup.
   */
  portCell?: SharedArrayBuffer;
  joinPort?: boolean;
}

const PORT_WAIT_MS = 30_000;

/** Binds the worker's listener: the first worker publishes its port, the others join it. */
function bindListener(job: ServeJob, port: CompletionPort): { fd: number; port: number } {
  const cell = job.portCell ? new Int32Array(job.portCell) : undefined;
  if (job.joinPort && cell) {
    if (Atomics.wait(cell, 0, 0, PORT_WAIT_MS) === 'timed-out') throw new Error('the first worker did not bind in time');
    const p = Atomics.load(cell, 0);
    if (p < 0) throw new Error('the first worker failed to bind');
    return port.openListener(job.host, p, job.backlog, job.reusePort);
  }
  try {
    const l = port.openListener(job.host, job.port, job.backlog, job.reusePort);
    if (cell) Atomics.store(cell, 0, l.port);
    return l;
  } catch (e) {
    if (cell) Atomics.store(cell, 0, -1);
    throw e;
  } finally {
    if (cell) Atomics.notify(cell, 0);
  }
}

/** Accept-side counts, cumulative (results) or of one interval (ticks). */
export interface AcceptCounts {
  accepted: number;
  /** Turned away by --max-connections. */
  rejected: number;
  /** Failed accepts by errno name (EMFILE, ENFILE, ...). */
  acceptErrors: Record<string, number>;
}

export interface ServeTick extends AcceptCounts {
  sample: IntervalSample;
  open: number;
}

export interface ServeWorkerResult extends AcceptCounts {
  worker: number;
  totals: CounterSnapshot;
  /** Times accepting paused (backed off) because the process ran out of descriptors or memory. */
  acceptPauses: number;
  /** What is still allocated after the stop (all must be zero), and whether the listening socket is still open. */
  leftover: { connections: number; recvBuffers: number; pendingOps: number; listening: boolean };
}

export function runServeWorker(init: WorkerInit<ServeJob>, post: Post): void {
  const job = init.job;
  const stop = new Int32Array(init.control);
  const loop = new Loop(createPort(init.backend));
  const keylogFd = job.keylogFd;
  const context = new TlsContext({
    ...job.tls,
    role: 'server',
    // One write per line on an O_APPEND descriptor: lines from several workers never interleave.
    keylog: keylogFd !== undefined ? (line) => fs.writeSync(keylogFd, line + '\n') : undefined,
  });
  const listener = bindListener(job, loop.port);
  const counters = new Counters();
  const totals = emptyCounters();
  const deadlines =
    job.mode === 'http' && job.headerTimeoutMs > 0
      ? new DeadlineQueue(job.headerTimeoutMs, { now: () => performance.now(), setTimer: (at, fn) => loop.setTimer(at, fn) })
      : undefined;
  const limiter = job.connectionCount && job.maxConnections > 0 ? new SharedConnectionLimit(job.connectionCount, job.maxConnections) : undefined;
  const index = loop.listen(listener.fd, context, serverAppFactory(job.mode, { counters, bodySize: job.bodySize, deadlines }), {
    depth: job.acceptDepth,
    maxConnections: job.maxConnections,
    limiter,
    handshakeTimeoutMs: job.handshakeTimeoutMs,
    idleTimeoutMs: job.idleTimeoutMs,
  });
  post({ cmd: 'READY', worker: init.worker, data: { port: listener.port } });

  const ticker = new IntervalTicker(counters, Date.now());
  let last: AcceptCounts = { accepted: 0, rejected: 0, acceptErrors: {} };
  const tick = () => {
    const sample = ticker.tick(Date.now());
    addCounters(totals, sample.counters);
    const now = loop.listenerStats(index);
    const acceptErrors: Record<string, number> = {};
    for (const [k, n] of Object.entries(now.acceptErrors)) if (n > (last.acceptErrors[k] ?? 0)) acceptErrors[k] = n - (last.acceptErrors[k] ?? 0);
    const data: ServeTick = { sample, open: loop.stats.open, accepted: now.accepted - last.accepted, rejected: now.rejected - last.rejected, acceptErrors };
    last = now;
    post({ cmd: 'TICK', worker: init.worker, data });
  };
  const schedule = () =>
    loop.setTimer(performance.now() + INTERVAL_MS, () => {
      tick();
      schedule();
    });
  schedule();

  loop.run(() => Atomics.load(stop, CONTROL_STOP) !== 0);

  // Graceful stop: no new connections; close_notify to everyone; reset whoever lingers.
  loop.closeListeners();
  for (const c of loop.conns) c?.close('notify');
  const until = performance.now() + job.drainMs;
  while (loop.stats.open > 0 && performance.now() < until) loop.turn(20);
  for (const c of loop.conns) c?.close('rst');
  for (let i = 0; i < 50 && loop.stats.open > 0; i++) loop.turn(10);
  // Let the listener's cancelled accepts (and the last closes) complete: no fd, nothing pending.
  for (let i = 0; i < 100 && loop.pendingOps > 0; i++) loop.turn(10);
  tick();
  const ls = loop.listenerStats(index);
  const result: ServeWorkerResult = {
    worker: init.worker,
    totals,
    accepted: ls.accepted,
    rejected: ls.rejected,
    acceptErrors: ls.acceptErrors,
    acceptPauses: ls.acceptPauses,
    leftover: { connections: loop.stats.open, recvBuffers: loop.recvBuffersInUse, pendingOps: loop.pendingOps, listening: ls.listening },
  };
  context.free();
  loop.destroy();
  post({ cmd: 'RESULT', worker: init.worker, data: result });
}
