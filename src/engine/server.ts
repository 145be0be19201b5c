// The server, from the main thread: starts serve workers (the completion-port thread pool),
// merges their per-second samples, stops them gracefully and adds up their totals. Used by
// `iocptls serve` and by `iocptls bench` with no target (the embedded server).
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { ServerMode } from './apps/server_app';
import { ConfigError, IocptlsError } from './errors';
import { DEFAULT_HEADER_TIMEOUT_MS } from './apps/http';
import { SharedConnectionLimit } from './connection_limit';
import { IntervalMerger } from './interval_merger';
import { selfSigned, type KeyType } from './pki';
import type { Backend } from './port/types';
import { CounterSnapshot, mergeCounters } from './stats/counters';
import type { IntervalSample } from './stats/intervals';
import type { KeyPair, TlsContextOptions } from './tls/context';
import { TlsContext } from './tls/context';
import { SessionStoreStats, SharedSessionStore } from './tls/session_store';
import { WorkerPool } from './workers/pool';
import { heapStats, residentBytes } from '../../native/memory';
import type { AcceptCounts, ServeJob, ServeTick, ServeWorkerResult, WorkerMemory } from './workers/serve_worker';

export interface ServerOptions {
  host: string;
  port: number;
  workers: number;
  backend: Backend;
  openssl?: string;
  mode: ServerMode;
  bodySize: number;
  tls: Omit<TlsContextOptions, 'role' | 'keylog' | 'certs'>;
  /** Certificate/key files; none: an ephemeral self-signed certificate of ephemeralKeyType. */
  certs: KeyPair[];
  ephemeralKeyType: KeyType;
  /** An open key log file (the caller opens and closes it; every worker appends to it). */
  keylogFd?: number;
  /** For the whole server, over all workers (0: no limit). */
  maxConnections: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  /** http: ms a client gets to send a complete request head (0: no limit; default 60 s). */
  headerTimeoutMs?: number;
}

export interface ServerTotals extends AcceptCounts {
  totals: CounterSnapshot;
  /** Times a worker paused accepting because the process ran out of descriptors or memory. */
  acceptPauses: number;
  perWorker: { worker: number; accepted: number; handshakes: number }[];
  /** Left after the stop, all workers: all 0 (listeners: listening sockets still open). */
  leftover: { connections: number; recvBuffers: number; pendingOps: number; listeners: number };
  /** The session cache all workers share (absent with --no-session-cache). */
  sessionCache?: SessionStoreStats;
  memory: ServerMemoryTotals;
}

/** Native memory over the server's life: ours (all workers' books), and the process's as the system sees it. */
export interface ServerMemoryTotals {
  /** Most native memory of ours in use at one tick (all workers), and at the end (before the workers freed it). */
  peakInUseBytes: number;
  /** Receive buffers (and their bytes) the workers could not free when they stopped: an operation still held them. 0 normally. */
  leakedBuffers: number;
  leakedBytes: number;
  /** Resident set size of the process: its most at a tick, and after the workers stopped. */
  peakRssBytes: number;
  endRssBytes: number;
  /** The C heap's bytes in use after the stop (glibc), where known. */
  endHeapInUseBytes?: number;
}

/** Memory as a merged tick sees it: every worker's books added, and the process's RSS and C heap at that moment. */
export interface ServerTickMemory extends WorkerMemory {
  rssBytes: number;
  heapInUseBytes?: number;
}

/** What a merged tick adds to the interval sample: open connections and the accept side, over all workers. */
export interface ServerTickInfo extends AcceptCounts {
  open: number;
  memory: ServerTickMemory;
}

/** Adds accept-error counts by reason into `into`. */
export function addReasons(into: Record<string, number>, more: Record<string, number>): Record<string, number> {
  for (const [k, n] of Object.entries(more)) into[k] = (into[k] ?? 0) + n;
  return into;
}

export interface EphemeralCertificate {
  fingerprint256: string;
  subject: string;
  sans: string[];
  keyType: KeyType;
}

export class RunningServer extends EventEmitter {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly workers: number,
    readonly ephemeral: EphemeralCertificate | undefined,
    private readonly pool: WorkerPool<ServeJob, { port: number }, ServeTick, ServeWorkerResult>,
    private readonly sessionStore: SharedSessionStore | undefined
  ) {
    super();
  }

  /** Most native memory in use at a tick, and the process's most RSS at one (updated by the tick merger). */
  peakInUseBytes = 0;
  peakRssBytes = 0;

  async stop(): Promise<ServerTotals> {
    const results = await this.pool.stop();
    const rss = residentBytes();
    return {
      totals: mergeCounters(results.map((r) => r.totals)),
      accepted: results.reduce((a, r) => a + r.accepted, 0),
      rejected: results.reduce((a, r) => a + r.rejected, 0),
      acceptErrors: results.reduce((a, r) => addReasons(a, r.acceptErrors), {} as Record<string, number>),
      acceptPauses: results.reduce((a, r) => a + r.acceptPauses, 0),
      perWorker: results.map((r) => ({ worker: r.worker, accepted: r.accepted, handshakes: r.totals.handshakes })),
      leftover: {
        connections: results.reduce((a, r) => a + r.leftover.connections, 0),
        recvBuffers: results.reduce((a, r) => a + r.leftover.recvBuffers, 0),
        pendingOps: results.reduce((a, r) => a + r.leftover.pendingOps, 0),
        listeners: results.filter((r) => r.leftover.listening).length,
      },
      sessionCache: this.sessionStore?.stats(),
      memory: {
        // The merged ticks' peak is at one moment; a worker's own peak bounds it from below when no tick was merged.
        peakInUseBytes: Math.max(this.peakInUseBytes, ...results.map((r) => r.memory.peakInUseBytes)),
        leakedBuffers: results.reduce((a, r) => a + r.memory.leakedBuffers, 0),
        leakedBytes: results.reduce((a, r) => a + r.memory.leakedBytes, 0),
        peakRssBytes: Math.max(this.peakRssBytes, rss),
        endRssBytes: rss,
        endHeapInUseBytes: heapStats()?.inUse,
      },
    };
  }
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  let certs = o.certs;
  let ephemeral: EphemeralCertificate | undefined;
  if (certs.length === 0) {
    const c = selfSigned({ sans: ['localhost', '127.0.0.1', '::1'], days: 7, keyType: o.ephemeralKeyType });
    certs = [{ cert: c.certPem, key: c.keyPem, inline: true }];
    ephemeral = { fingerprint256: c.fingerprint256, subject: c.subject, sans: c.sans, keyType: o.ephemeralKeyType };
  }
  // Names are resolved by the caller: the workers' listeners take an address.
  if (!net.isIP(o.host)) throw new ConfigError(`cannot bind '${o.host}': not an IP address (resolve the name first)`);
  // Validate the configuration here, once, so a bad flag is one error and not one per worker.
  new TlsContext({ ...o.tls, role: 'server', certs }).free();
  // One session cache for all workers (the ticket keys below are shared for the same reason):
  // a session ID issued by one worker resumes on whichever worker the next connection lands on.
  const sessionStore = o.tls.sessionCache !== false ? new SharedSessionStore(SharedSessionStore.buffer()) : undefined;

  const job: ServeJob = {
    host: o.host,
    port: o.port,
    // Windows has no SO_REUSEPORT load balancing; there a single worker owns the listener.
    reusePort: process.platform === 'linux',
    backlog: 4096,
    acceptDepth: 64,
    mode: o.mode,
    bodySize: o.bodySize,
    // Workers have a context each: without shared keys a ticket from one would not resume on another.
    tls: { ...o.tls, certs, ticketKeys: crypto.randomBytes(80), sharedSessionCache: sessionStore?.buffer },
    keylogFd: o.keylogFd,
    maxConnections: o.maxConnections,
    // One count for the whole server: -w 2 --max-connections 100 admits 100, not 2 × 100.
    connectionCount: o.maxConnections > 0 ? SharedConnectionLimit.buffer() : undefined,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    idleTimeoutMs: o.idleTimeoutMs,
    headerTimeoutMs: o.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS,
    drainMs: 2000,
  };
  const workers = process.platform === 'linux' ? o.workers : 1;
  if (job.reusePort && o.port !== 0) await assertPortFree(o.host, o.port);
  const pool = new WorkerPool<ServeJob, { port: number }, ServeTick, ServeWorkerResult>({
    kind: 'serve',
    backend: o.backend,
    openssl: o.openssl,
  });
  try {
    // All workers start at once (thread start, module loading and TLS setup take tens of ms
    // each, so one after the other grows with the core count). With port 0 the first one binds
    // and the others join the port it publishes in portCell.
    const portCell = o.port === 0 && workers > 1 ? new SharedArrayBuffer(4) : undefined;
    const ready = await Promise.allSettled(Array.from({ length: workers }, (_, i) => pool.start({ ...job, portCell, joinPort: i > 0 })));
    // The first worker's failure is the cause (e.g. EADDRINUSE); the others only saw it fail.
    const failed = ready.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) throw (ready[0].status === 'rejected' ? ready[0] : failed).reason;
    const port = (ready[0] as PromiseFulfilledResult<{ port: number }>).value.port;
    const server = new RunningServer(o.host, port, workers, ephemeral, pool, sessionStore);
    const merger = new IntervalMerger<ServeTick>(workers, (sample: IntervalSample, ticks: ServeTick[]) => {
      const memory: ServerTickMemory = { inUseBytes: 0, pairBytes: 0, sessions: 0, paired: 0, recvBytes: 0, recvSlabBytes: 0, rssBytes: residentBytes(), heapInUseBytes: heapStats()?.inUse };
      const info: ServerTickInfo = { open: 0, accepted: 0, rejected: 0, acceptErrors: {}, memory };
      for (const t of ticks) {
        info.open += t.open;
        info.accepted += t.accepted;
        info.rejected += t.rejected;
        addReasons(info.acceptErrors, t.acceptErrors);
        for (const k of ['inUseBytes', 'pairBytes', 'sessions', 'paired', 'recvBytes', 'recvSlabBytes'] as const) memory[k] += t.memory[k];
      }
      server.peakInUseBytes = Math.max(server.peakInUseBytes, memory.inUseBytes);
      server.peakRssBytes = Math.max(server.peakRssBytes, memory.rssBytes);
      server.emit('tick', sample, info);
    });
    pool.on('tick', (_w: number, t: ServeTick) => merger.add(t.sample, t));
    return server;
  } catch (e) {
    await pool.terminate();
    throw e;
  }
}

/**
 * SO_REUSEPORT lets any socket of the same user join a port's group: a second `serve` on a port
 * already served by another would start silently and take half its connections. A plain bind
 * (no SO_REUSEPORT) fails on such a port, so try one first and turn the surprise into an error.
 */
function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => {
      const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      reject(new IocptlsError(e.code === 'EADDRINUSE' ? `bind ${where}: EADDRINUSE (Address already in use)` : `bind ${where}: ${e.message}`));
    });
    probe.listen({ host, port, exclusive: true, ipv6Only: host.includes(':') }, () => probe.close(() => resolve()));
  });
}
