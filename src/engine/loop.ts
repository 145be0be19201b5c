// The completion loop: wait for a batch of completions, hand each to its connection's session,
// post what follows (sends, the next receive, accepts). Policy lives in the apps (handlers).
//
// Memory goes only where bytes are: a receive in flight holds no buffer (the port picks one when
// data arrives, and it goes back as soon as its bytes are in the session's BIO pair); a
// connection quiet for a second gives its pair's buffers back; once a second the loop hands back
// receive buffers and (with trimHeap) the C heap's free pages when load has dropped.
//
// Writes made while a batch of completions is dispatched are sent once the batch is done (one
// send per connection per turn, as large as what is pending); a completed send refills a blocked
// writer first and then posts everything pending at once, in two runs (one vectored send) when
// the pair's ring buffer wraps.
import { performance } from 'node:perf_hooks';
import { heapStats, HeapStats, heapTrim, nativeFree } from '../../native/memory';
import { nativeScratch } from './buffer_pool';
import { CloseHow, ConnHandler, Connection, ConnState } from './connection';
import { IocptlsError, NetError, TlsError } from './errors';
import { CompletionPort, E, NO_BUFFER, PortError, PortMemory, SockAddr, errorMessage, errorName } from './port/types';
import { newTimer, Timer, TimerHeap } from './timers';
import { TlsContext } from './tls/context';
import { BIO_PAIR_SIZE, pairMemory, ReadResult, SessionOptions, TlsSession } from './tls/session';

/** The address type connect() takes, for apps (which speak to the loop, never to a port). */
export type { SockAddr };

// A token is (index << OP_BITS) | op: the index is a connection slot, or an accept's own id, so
// every operation that may need cancelling has a token no other operation in flight shares.
const enum Op {
  Accept = 0,
  Connect = 1,
  Recv = 2,
  Send = 3,
  /** Fire-and-forget: counted, never cancelled. */
  Close = 4,
  Cancel = 5,
}
const OP_BITS = 3;
const OP_MASK = 7;

const PLAINTEXT_SIZE = 64 * 1024;
/**
 * Most a receive straight into a streaming connection's pair asks for: what a loopback socket
 * holds comes in one completion, and what it writes is still in the core's cache (1 MiB L2
 * here) when OpenSSL reads it. Client CPU per MiB downloaded, Node 24, 5 interleaved runs: 458 µs
 * through receive buffers, 419 µs with 64 KiB straight into the pair, 377 µs with 256 KiB.
 */
const DIRECT_RECV_MAX = 256 * 1024;
const BATCH = 1024;
/** Below this share of its pair's size in pending ciphertext, a blocked writer is told to write more (onDrain). */
export const LOW_WATER_SHARE = 0.5;
/** A send carries at most this share of a bulk-sized pair, so the writer can refill the rest meanwhile. */
const SEND_SHARE = 0.5;
/** How often the loop looks after its memory (idle pairs, receive buffers, the heap). */
const MAINTENANCE_MS = 1000;
/** A connection this long without traffic gives back its BIO pair's buffers. */
export const RELEASE_IDLE_MS = 1000;
/** Pair bytes held below the period's peak beyond which the loop trims (its buffers, and the heap with trimHeap). */
const TRIM_AFTER_RELEASED_BYTES = 4 * 1024 * 1024;
/** How long accepts pause after the process ran out of descriptors or memory (unless a connection closes first). */
export const ACCEPT_BACKOFF_MS = 100;
/** How long a closing connection waits for its close_notify to go out / the peer's to come back. */
const CLOSE_GRACE_MS = 1000;
/** Precise timers wake this early at most (the learned margin is clamped to it), then poll. */
const MAX_PRECISE_MARGIN_MS = 0.5;

/** Accept errors that belong to one connection (it was reset or failed before we took it): accept again at once. */
const PER_CONNECTION_ACCEPT_ERRORS = new Set<number>([
  E.ECONNABORTED,
  E.ECONNRESET,
  E.EPROTO,
  E.EPERM,
  E.EINTR,
  E.EAGAIN,
  E.ENETDOWN,
  E.ENETUNREACH,
  E.EHOSTUNREACH,
  E.EHOSTDOWN,
  E.ENONET,
  E.ENOPROTOOPT,
  E.EOPNOTSUPP,
  E.ETIMEDOUT,
]);
/** socket()/accept() failures that free descriptors (or memory) cure, not retrying. */
const OUT_OF_RESOURCES = new Set<number>([E.EMFILE, E.ENFILE, E.ENOBUFS, E.ENOMEM]);

interface Listener {
  fd: number;
  /** The listening socket is still open (closed once the last accept completed after closeListeners). */
  fdOpen: boolean;
  context: TlsContext;
  handler: (conn: Connection) => ConnHandler;
  /** Accepting (until closeListeners). */
  open: boolean;
  /** Accepts kept in flight. */
  depth: number;
  /** Ids of the accepts in flight. */
  accepts: Set<number>;
  /** Out of descriptors: no accept is reposted until a connection closes or `backoff` fires. */
  paused: boolean;
  backoff: Timer;
  maxConnections: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  /** Shared admission (e.g. one limit over every worker); maxConnections applies when absent. */
  limiter?: ConnectionLimiter;
  /** Accepted sockets turned away because of maxConnections or the limiter. */
  rejected: number;
  /** Failed accepts by errno name ('EMFILE', 'ECONNABORTED', ...). */
  acceptErrors: Record<string, number>;
  acceptErrorsTotal: number;
  /** Times accepting paused for lack of descriptors or memory. */
  pauses: number;
  count: number;
}

export interface ListenerStats {
  accepted: number;
  rejected: number;
  /** Failed accepts by errno name, e.g. { EMFILE: 12 }. */
  acceptErrors: Record<string, number>;
  acceptErrorsTotal: number;
  /** Times accepting paused (backed off) because the process was out of descriptors or memory. */
  acceptPauses: number;
  acceptsInFlight: number;
  /** Whether the listening socket is still open. */
  listening: boolean;
}

export interface ListenOptions {
  /** Accepts kept in flight (the AcceptEx pattern). */
  depth?: number;
  maxConnections?: number;
  /** Shared admission (e.g. one limit over every worker); maxConnections applies when absent. */
  limiter?: ConnectionLimiter;
  handshakeTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/** Admission of accepted connections, possibly shared with other loops (threads): acquire on accept, release on close. */
export interface ConnectionLimiter {
  tryAcquire(): boolean;
  release(): void;
}

export interface ConnectOptions extends SessionOptions {
  context: TlsContext;
  handler: ConnHandler;
  /** Connect + handshake timeout, ms (0: none). */
  timeoutMs?: number;
  origin?: number;
  /** Local address to connect from (--bind); the kernel's choice when absent. */
  source?: SockAddr;
}

export interface TimerOptions {
  /**
   * Fire on time rather than when the kernel gets round to waking us: the loop wakes up a small
   * margin early (learned from how late its wake-ups are, at most 0.5 ms) and polls the port
   * without blocking until `at`. For open-loop starts; everything else should not pay for it.
   */
  precise?: boolean;
}

export interface LoopStats {
  open: number;
  accepted: number;
  connected: number;
  closed: number;
  /** Sends completed, the bytes they moved, and how many of them were vectored (two runs of a wrapped pair). */
  sends: number;
  sentBytes: number;
  vectoredSends: number;
  /** Receives completed with data, and their bytes. */
  recvs: number;
  recvBytes: number;
  /** Of those, receives straight into a streaming connection's pair (no receive buffer, no copy). */
  directRecvs: number;
  /** Times a quiet connection gave back its pair's buffers; times the loop trimmed its memory because load dropped. */
  pairsReleased: number;
  trims: number;
  /** Milliseconds spent outside the port's wait (dispatching, crypto, timers): the loop's own cost. */
  busyMs: number;
  /** Milliseconds spent blocked in the port's wait. */
  waitMs: number;
  /** Completions dispatched, and how long in all (ms) they waited behind earlier ones of their batch. */
  dispatched: number;
  queuedMs: number;
}

export interface DestroyReport {
  /** Operations still owned by the kernel when the loop gave up waiting for them (0 normally). */
  pendingOps: number;
  /** Receive buffers not freed because an operation still held them (leaked rather than corrupted). */
  leakedBuffers: number;
  /** Their bytes. */
  leakedBytes: number;
}

export interface LoopOptions {
  /** Call the C heap's trim (glibc malloc_trim) when load dropped, so freed OpenSSL memory goes back to the system. */
  trimHeap?: boolean;
  /** ms without traffic after which a connection's pair buffers are given back (default RELEASE_IDLE_MS). */
  releaseIdleMs?: number;
}

/** Native memory of one loop, by what holds it. */
export interface LoopMemory {
  /** What the loop's books hold now: receive buffers out of the port's arena (in operations, or io_uring's ring), BIO pair buffers, the plaintext scratch. */
  inUseBytes: number;
  recv: PortMemory;
  /** This thread's sessions and their pair buffers (one loop per thread in workers). */
  pairs: { sessions: number; paired: number; bytes: number };
  scratchBytes: number;
  /** The process's C heap (all threads), where the platform tells. */
  heap?: HeapStats;
}

export class Loop {
  readonly tokens = new Uint32Array(BATCH);
  readonly results = new Int32Array(BATCH);
  readonly conns: (Connection | undefined)[] = [];
  #freeSlots: number[] = [];
  #listeners: Listener[] = [];
  /** Accept id -> listener index (-1: free). */
  #acceptOwner: number[] = [];
  #freeAcceptIds: number[] = [];
  #pausedListeners = 0;
  #plain = nativeScratch(PLAINTEXT_SIZE);
  #plainViewLen = 0;
  #plainViewLast: Uint8Array = new Uint8Array(0);
  readonly buffers = new Uint32Array(BATCH);
  /** Connections written to (or driven) during this turn: flushed once the batch is dispatched. */
  #touched: Connection[] = [];
  /** Work apps put off until this turn's completions are dispatched (see defer). */
  #deferred: (() => void)[] = [];
  /** Open connections holding pair buffers: candidates for release once quiet. */
  #quiet: Connection[] = [];
  #nextMaintenance = performance.now() + MAINTENANCE_MS;
  /** Most connections open since the last trim, and pair bytes released by then. */
  #peakOpen = 0;
  /** Connections open at the last upkeep: more now means a ramp is under way. */
  #openAtUpkeep = 0;
  /** The most pair bytes held after an upkeep's releases since the last trim. */
  #pairBytesPeak = 0;
  #timers = new TimerHeap();
  #stopped = false;
  #destroyed = false;
  /** Operations posted and not completed yet: what the kernel still owns. */
  #pending = 0;
  #closesInFlight = 0;
  // Precise timers: how late blocking waits end, smoothed (mean and mean deviation, as TCP's RTO).
  #lateMean = 0.05;
  #lateDev = 0.025;
  readonly stats: LoopStats = {
    open: 0,
    accepted: 0,
    connected: 0,
    closed: 0,
    sends: 0,
    sentBytes: 0,
    vectoredSends: 0,
    recvs: 0,
    recvBytes: 0,
    directRecvs: 0,
    pairsReleased: 0,
    trims: 0,
    busyMs: 0,
    waitMs: 0,
    dispatched: 0,
    queuedMs: 0,
  };
  /**
   * The time (performance.now() ms) at which the current batch of completions was known: stamped
   * once, right after the wait returned. Everything in the batch happened by then; stamping each
   * completion as it is dispatched would charge it for the crypto of those dispatched before it.
   */
  now = performance.now();
  #waitEnd = performance.now();
  /** How long the completion being dispatched waited behind earlier ones of its batch (ms). */
  #queued = 0;
  readonly ops = {
    write: (c: Connection, src: bigint | Uint8Array, len: number) => this.#write(c, src, len),
    close: (c: Connection, how: CloseHow, err?: IocptlsError) => this.#close(c, how, err),
    resume: (c: Connection) => this.#resume(c),
    setDeadline: (c: Connection, at: number, reason: string) => this.#setDeadline(c, at, reason),
  };

  constructor(
    readonly port: CompletionPort,
    readonly options: LoopOptions = {}
  ) {}

  get backend() {
    return this.port.backend;
  }

  /**
   * Receive buffers out of the port's arena beyond what its provided ring holds: held by an
   * operation or by us (all must be back once every connection closed).
   */
  get recvBuffersInUse(): number {
    const m = this.port.memory();
    return m.recvBuffers.inUse - (m.ring?.buffers ?? 0);
  }

  memory(): LoopMemory {
    const recv = this.port.memory();
    const pairs = { sessions: pairMemory.sessions, paired: pairMemory.paired, bytes: pairMemory.bytes };
    const scratchBytes = PLAINTEXT_SIZE;
    return {
      inUseBytes: recv.recvBuffers.inUse * recv.recvBuffers.bufferSize + pairs.bytes + scratchBytes,
      recv,
      pairs,
      scratchBytes,
      heap: heapStats(),
    };
  }

  /** Operations posted whose completion has not been reaped yet (0 once everything closed). */
  get pendingOps(): number {
    return this.#pending;
  }

  /** How early precise timers wake up, ms (learned; at most 0.5). */
  get timerMarginMs(): number {
    return Math.min(MAX_PRECISE_MARGIN_MS, this.#lateMean + 3 * this.#lateDev);
  }

  // --- timers (monotonic ms)
  /** Runs fn at `at` (performance.now() ms); returns a handle for cancelTimer. O(log n). */
  setTimer(at: number, fn: () => void, opts: TimerOptions = {}): Timer {
    const t = newTimer(fn, opts.precise === true);
    this.#timers.set(t, at);
    return t;
  }

  /**
   * Runs fn once, after this turn's completions are dispatched and its due timers run, just
   * before the turn's sends are posted (called outside a turn: at the start of the next one,
   * before it waits). For apps that gather what several completions asked for and write it in
   * one go: HTTP/2 requests refilled by several responses become one TLS record, not one each.
   */
  defer(fn: () => void): void {
    this.#deferred.push(fn);
  }

  /** Cancels a timer that has not fired (no-op otherwise). */
  cancelTimer(t: Timer): void {
    this.#timers.delete(t);
  }

  /** Timers armed (loop timers and connection deadlines). */
  get timerCount(): number {
    return this.#timers.size;
  }

  stop(): void {
    this.#stopped = true;
  }
  get stopped(): boolean {
    return this.#stopped;
  }

  // --- servers
  listen(fd: number, context: TlsContext, handler: (conn: Connection) => ConnHandler, opts: ListenOptions = {}): number {
    const index = this.#listeners.length;
    const l: Listener = {
      fd,
      fdOpen: true,
      context,
      handler,
      open: true,
      depth: Math.max(1, opts.depth ?? 32),
      accepts: new Set(),
      paused: false,
      backoff: newTimer(() => this.#resumeAccepts(index)),
      maxConnections: opts.maxConnections ?? 0,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 0,
      idleTimeoutMs: opts.idleTimeoutMs ?? 0,
      limiter: opts.limiter,
      rejected: 0,
      acceptErrors: {},
      acceptErrorsTotal: 0,
      pauses: 0,
      count: 0,
    };
    this.#listeners.push(l);
    // Accepts are posted ahead of time (the AcceptEx pattern): a new client never waits for us to ask.
    this.#fillAccepts(l, index);
    return index;
  }

  /**
   * Stops accepting on every listener: each accept in flight is cancelled by its own token, and
   * the listening socket is closed once the last of them completed (at once if none is left).
   */
  closeListeners(): void {
    for (const l of this.#listeners) {
      if (!l.open) continue;
      l.open = false;
      this.#unpause(l);
      for (const id of l.accepts) this.#cancel((id << OP_BITS) | Op.Accept);
      this.#maybeCloseListener(l);
    }
  }

  listenerStats(i: number): ListenerStats {
    const l = this.#listeners[i];
    return {
      accepted: l.count,
      rejected: l.rejected,
      acceptErrors: { ...l.acceptErrors },
      acceptErrorsTotal: l.acceptErrorsTotal,
      acceptPauses: l.pauses,
      acceptsInFlight: l.accepts.size,
      listening: l.fdOpen,
    };
  }

  #fillAccepts(l: Listener, index: number): void {
    while (l.open && !l.paused && l.accepts.size < l.depth) this.#postAccept(l, index);
  }

  #postAccept(l: Listener, index: number): void {
    const id = this.#freeAcceptIds.length ? this.#freeAcceptIds.pop()! : this.#acceptOwner.length;
    this.#acceptOwner[id] = index;
    l.accepts.add(id);
    this.#pending++;
    this.port.prepAccept(l.fd, (id << OP_BITS) | Op.Accept);
  }

  #onAccept(id: number, res: number): void {
    const index = this.#acceptOwner[id];
    this.#acceptOwner[id] = -1;
    this.#freeAcceptIds.push(id);
    const l = this.#listeners[index];
    l.accepts.delete(id);
    if (!l.open) {
      if (res >= 0) this.port.closeNow(res);
      return this.#maybeCloseListener(l);
    }
    if (res < 0) return this.#acceptFailed(l, index, res);
    this.#fillAccepts(l, index);
    if (l.limiter ? !l.limiter.tryAcquire() : l.maxConnections > 0 && this.stats.open >= l.maxConnections) {
      l.rejected++;
      this.port.setLingerZero(res);
      this.port.closeNow(res);
      return;
    }
    l.count++;
    this.stats.accepted++;
    this.port.setNoDelay(res);
    const c = this.#newConn('server', index, undefined as unknown as ConnHandler);
    c.fd = res;
    c.tStart = c.tConnected = c.lastActivity = this.now;
    c.session = new TlsSession(l.context);
    c.state = ConnState.Handshaking;
    if (l.handshakeTimeoutMs > 0) c.setDeadline(c.tStart + l.handshakeTimeoutMs, 'handshake timeout');
    c.idleTimeout = l.idleTimeoutMs;
    c.handler = l.handler(c);
    c.handler.onOpen?.(c);
    if (c.open) this.#postRecv(c);
  }

  #acceptFailed(l: Listener, index: number, res: number): void {
    const why = errorName(res);
    l.acceptErrors[why] = (l.acceptErrors[why] ?? 0) + 1;
    l.acceptErrorsTotal++;
    if (PER_CONNECTION_ACCEPT_ERRORS.has(res)) return this.#fillAccepts(l, index);
    // Out of descriptors or memory (or a listener gone bad): an accept posted now fails again at
    // once, and the loop would spin on it. Wait for a connection to close or a short timer.
    if (l.paused) return;
    l.paused = true;
    l.pauses++;
    this.#pausedListeners++;
    this.#timers.set(l.backoff, this.now + ACCEPT_BACKOFF_MS);
  }

  #unpause(l: Listener): void {
    if (!l.paused) return;
    l.paused = false;
    this.#pausedListeners--;
    this.#timers.delete(l.backoff);
  }

  /** One accept to try the water; its success refills the rest. */
  #resumeAccepts(index: number): void {
    const l = this.#listeners[index];
    if (!l.paused) return;
    this.#unpause(l);
    if (l.open && l.accepts.size === 0) this.#postAccept(l, index);
  }

  #maybeCloseListener(l: Listener): void {
    if (l.open || !l.fdOpen || l.accepts.size > 0) return;
    l.fdOpen = false;
    this.port.closeNow(l.fd);
  }

  // --- clients
  /** Starts a connection. Throws a NetError (reason 'emfile', 'enfile'...) when no socket can be had. */
  connect(addr: SockAddr, opts: ConnectOptions): Connection {
    const c = this.#newConn('client', opts.origin ?? 0, opts.handler);
    c.tStart = performance.now();
    try {
      c.fd = this.#openSocket(addr.family, opts.source);
    } catch (e) {
      this.#freeConn(c);
      throw e;
    }
    c.session = new TlsSession(opts.context, opts);
    if (opts.timeoutMs) c.setDeadline(c.tStart + opts.timeoutMs, 'connect timeout');
    c.connectInFlight = true;
    this.#pending++;
    this.port.prepConnect(c.fd, addr, (c.slot << OP_BITS) | Op.Connect);
    return c;
  }

  #openSocket(family: 4 | 6, source?: SockAddr): number {
    try {
      return this.port.openSocket(family, source);
    } catch (e) {
      let err = e;
      // Descriptors this loop is closing are only free once their close was submitted.
      if (e instanceof PortError && OUT_OF_RESOURCES.has(e.errno) && this.#closesInFlight > 0) {
        this.port.submitAndWait(0, 0);
        try {
          return this.port.openSocket(family, source);
        } catch (e2) {
          err = e2;
        }
      }
      if (!(err instanceof PortError)) throw err;
      throw new NetError(`socket: ${errorMessage(err.errno)}`, errorName(err.errno), errorName(err.errno).toLowerCase());
    }
  }

  #onConnect(c: Connection, res: number): void {
    c.connectInFlight = false;
    if (c.state >= ConnState.TearingDown) return this.#maybeFinish(c);
    if (res < 0) {
      // A reset can already be the connect's own result (epoll reads SO_ERROR after the peer's RST): same reason as on recv/send.
      const reason =
        res === E.ECONNREFUSED ? 'refused' : res === E.ETIMEDOUT ? 'timeout' : res === E.ECONNRESET ? 'reset' : errorName(res).toLowerCase();
      return this.#close(c, 'rst', new NetError(`connect: ${errorMessage(res)}`, errorName(res), reason));
    }
    // The connect completed by the time the wait returned; dispatching earlier completions is ours.
    c.tConnected = c.lastActivity = this.now;
    if (c.deadline) c.deadlineReason = 'handshake timeout';
    this.stats.connected++;
    c.state = ConnState.Handshaking;
    c.handler.onOpen?.(c);
    if (!c.open) return;
    this.#drive(c);
    if (c.open) this.#postRecv(c);
  }

  // --- connections
  #newConn(role: 'client' | 'server', origin: number, handler: ConnHandler): Connection {
    const slot = this.#freeSlots.length ? this.#freeSlots.pop()! : this.conns.length;
    const c = new Connection(slot, role, handler, this.ops, origin);
    this.conns[slot] = c;
    this.stats.open++;
    return c;
  }

  #freeConn(c: Connection): void {
    if (c.role === 'server' && c.fd >= 0) this.#listeners[c.origin]?.limiter?.release();
    this.conns[c.slot] = undefined;
    this.#freeSlots.push(c.slot);
    this.stats.open--;
    this.stats.closed++;
    // A descriptor is free again: listeners waiting for one try now rather than at their timer.
    if (this.#pausedListeners > 0) {
      for (let i = 0; i < this.#listeners.length; i++) if (this.#listeners[i].paused) this.#resumeAccepts(i);
    }
  }

  #setDeadline(c: Connection, at: number, reason: string): void {
    c.deadline = at;
    c.deadlineReason = reason;
    if (!at) {
      if (c.deadlineTimer) this.#timers.delete(c.deadlineTimer);
      return;
    }
    c.deadlineTimer ??= newTimer(() => this.#onDeadline(c));
    this.#timers.set(c.deadlineTimer, at);
  }

  #onDeadline(c: Connection): void {
    if (c.state >= ConnState.TearingDown) return;
    if (c.state === ConnState.Closing) return this.#teardown(c, 'fin');
    const ms = Math.round(performance.now() - c.tStart);
    this.#close(c, 'rst', new NetError(`${c.deadlineReason} after ${ms} ms`, 'ETIMEDOUT', 'timeout'));
  }

  /** Idle connections are found by a timer each, pushed back lazily: activity itself costs nothing. */
  #armIdle(c: Connection): void {
    if (!c.idleTimeout) return;
    c.idleTimer ??= newTimer(() => this.#onIdle(c));
    this.#timers.set(c.idleTimer, c.lastActivity + c.idleTimeout);
  }

  #onIdle(c: Connection): void {
    if (c.state !== ConnState.Open) return;
    if (performance.now() - c.lastActivity >= c.idleTimeout) this.#close(c, 'notify');
    else this.#armIdle(c);
  }

  /**
   * Posts a receive that holds no buffer while it waits; at most what the session's pair can
   * take. A streaming connection (its pair grown for bulk) receives straight into its pair
   * instead: one copy fewer per byte, and the same cache-warm bytes every time. That pins the
   * pair while it waits, so a quiet one is cancelled at maintenance (see #maintain).
   */
  #postRecv(c: Connection): void {
    if (c.recvInFlight || c.paused || c.state >= ConnState.TearingDown) return;
    if (!c.recvQuiet && c.session.pairSize >= BIO_PAIR_SIZE && c.state === ConnState.Open) {
      const n = c.session.lendTlsSpace(DIRECT_RECV_MAX);
      if (n > 0) {
        c.recvInFlight = true;
        c.recvDirect = true;
        c.recvAsked = n;
        this.#pending++;
        this.port.prepRecv(c.fd, c.session.lentPtr, n, (c.slot << OP_BITS) | Op.Recv);
        return;
      }
    }
    const space = c.session.tlsSpace();
    if (space === 0) return; // the session must drain first; #drive reposts
    c.recvInFlight = true;
    c.recvAsked = Math.min(space, this.port.recvBufferSize);
    this.#pending++;
    this.port.prepRecvSelect(c.fd, c.recvAsked, (c.slot << OP_BITS) | Op.Recv);
  }

  #onRecv(c: Connection, res: number, buf: number): void {
    c.recvInFlight = false;
    if (c.recvDirect) {
      c.recvDirect = false;
      if (res > 0 && c.state < ConnState.TearingDown) {
        c.session.commitTls(res);
        this.stats.directRecvs++;
      } else {
        c.session.returnTlsSpace();
      }
      // Cancelled because the connection was quiet (#maintain): wait again, pinning nothing.
      if (res === E.ECANCELED && c.recvQuiet && c.state < ConnState.TearingDown) return this.#postRecv(c);
    } else if (buf !== NO_BUFFER) {
      // The bytes go into the session's pair at once, and the buffer straight back to the port.
      let taken = res;
      if (c.state < ConnState.TearingDown) taken = c.session.readTls(this.port.recvBuffer(buf), res);
      this.port.releaseRecvBuffer(buf);
      if (taken < res) {
        return this.#close(c, 'rst', new TlsError(`receive: the session took ${taken} of ${res} bytes`, 'internal error'));
      }
    }
    if (c.state >= ConnState.TearingDown) return this.#maybeFinish(c);
    if (res <= 0) {
      if (res === 0) return this.#onEof(c);
      const reason = res === E.ECONNRESET ? 'reset' : errorName(res).toLowerCase();
      return this.#close(c, 'rst', new NetError(`receive: ${errorMessage(res)}`, errorName(res), reason));
    }
    c.wireIn += res;
    c.recvQuiet = false;
    this.stats.recvs++;
    this.stats.recvBytes += res;
    c.lastActivity = this.now;
    this.#drive(c);
    if (!c.open) return;
    // A receive that filled all the room there was: a bulk sender. Bigger buffers, once they are empty.
    if (res === c.recvAsked && c.session.pairSize < BIO_PAIR_SIZE) c.session.growBuffers(BIO_PAIR_SIZE);
    this.#postRecv(c);
  }

  #onEof(c: Connection): void {
    if (c.state === ConnState.Handshaking) {
      return this.#close(c, 'fin', new NetError('connection closed by peer during handshake', 'EOF', 'eof in handshake'));
    }
    if (c.state === ConnState.Closing) return this.#teardown(c);
    // A server that stops without close_notify may have cut the data short (RFC 8446 §6.1): for a
    // client measuring it, that is a failure, not a normal end. Servers keep the lenient view:
    // many clients just close.
    if (c.role === 'client' && !c.session.peerClosed) {
      return this.#close(c, 'fin', new NetError('connection closed by the peer without close_notify', 'EOF', 'truncated'));
    }
    if (c.handler.onPeerClose) c.handler.onPeerClose(c);
    else this.#close(c, 'notify');
  }

  /** Runs the session on what arrived (or on room to write): handshake, then plaintext to the handler; then flushes. */
  #drive(c: Connection): void {
    const s = c.session;
    try {
      if (c.state === ConnState.Handshaking) {
        if (!s.handshake()) return this.#touch(c);
        // Its own processing counts, the wait behind other completions of the batch does not.
        c.tHandshake = performance.now() - this.#queued;
        c.state = ConnState.Open;
        this.#setDeadline(c, 0, '');
        this.#armIdle(c);
        c.handler.onHandshake?.(c);
        if (!c.open) return;
      }
      if (s.wantsWrite) s.retryWrites(); // a KeyUpdate that did not fit before
      const plain = this.#plain;
      for (;;) {
        const n = s.read(plain.ptr, PLAINTEXT_SIZE);
        if (n > 0) {
          c.handler.onData?.(c, this.#plainView(n), plain.ptr, n);
          if (!c.open || c.paused) break;
          continue;
        }
        if (n === ReadResult.Closed) {
          // Without an onPeerClose handler the close below flushes what is pending itself.
          if (c.state !== ConnState.Open || c.handler.onPeerClose) this.#flush(c);
          if (c.state === ConnState.Closing) return this.#teardown(c);
          if (c.handler.onPeerClose) c.handler.onPeerClose(c);
          // A close the app asked for from inside this read (closeSoon) keeps its way of closing.
          else this.#close(c, c.deferredClose ?? 'notify');
          return;
        }
        break;
      }
      if (c.deferredClose) return this.#close(c, c.deferredClose);
    } catch (e) {
      // Last gasp: the alert OpenSSL queued still goes out before the socket closes.
      this.#flush(c);
      return this.#close(c, c.sendInFlight ? 'notify' : 'fin', e as TlsError);
    }
    this.#touch(c);
  }

  /**
   * The first n bytes of the plaintext scratch as a view. Records of a stream have the same
   * length (16 KiB), so the last view is handed out again rather than a new one made per record:
   * onData's view is only valid during the call anyway.
   */
  #plainView(n: number): Uint8Array {
    if (n !== this.#plainViewLen) {
      this.#plainViewLen = n;
      this.#plainViewLast = this.#plain.view.subarray(0, n);
    }
    return this.#plainViewLast;
  }

  /** Marks a connection to be flushed once this turn's completions are dispatched. */
  #touch(c: Connection): void {
    if (c.touched) return;
    c.touched = true;
    this.#touched.push(c);
  }

  /** Sends what the turn left pending, one send per connection; notes the quiet ones as candidates for giving back their pair. */
  #flushTouched(): void {
    const list = this.#touched;
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      c.touched = false;
      if (c.state >= ConnState.TearingDown) continue;
      this.#flush(c);
      if (!c.quietListed && c.state === ConnState.Open && c.session.paired) {
        c.quietListed = true;
        this.#quiet.push(c);
      }
    }
    list.length = 0;
  }

  /**
   * Posts a send of the pending ciphertext unless one is in flight (its completion posts the
   * next): all of it, or half of a bulk-sized pair, so that the writer can refill the other half
   * while this send is out. When the pending bytes wrap around the pair's ring, one vectored send
   * carries both runs.
   */
  #flush(c: Connection): void {
    if (c.sendInFlight || c.state >= ConnState.TearingDown) return;
    const s = c.session;
    const total = s.peekTlsRuns();
    if (total === 0) return;
    const r = s.runs;
    const cap = s.pairSize >= BIO_PAIR_SIZE ? s.pairSize * SEND_SHARE : total;
    const len1 = Math.min(r.len1, cap);
    const len2 = Math.min(r.len2, cap - len1);
    c.sendInFlight = len1 + len2;
    this.#pending++;
    const token = (c.slot << OP_BITS) | Op.Send;
    if (len2 > 0) {
      this.stats.vectoredSends++;
      this.port.prepSendv(c.fd, r.ptr1, len1, r.ptr2, len2, token);
    } else {
      this.port.prepSend(c.fd, r.ptr1, len1, token);
    }
  }

  #onSend(c: Connection, res: number): void {
    c.sendInFlight = 0;
    if (res > 0) {
      c.session.consumeTls(res);
      c.wireOut += res;
      this.stats.sends++;
      this.stats.sentBytes += res;
    }
    if (c.state >= ConnState.TearingDown) return this.#maybeFinish(c);
    if (res < 0) {
      const reason = res === E.ECONNRESET || res === E.EPIPE ? 'reset' : errorName(res).toLowerCase();
      return this.#close(c, 'rst', new NetError(`send: ${errorMessage(res)}`, errorName(res), reason));
    }
    c.lastActivity = this.now;
    const s = c.session;
    // The session/loop contract: OpenSSL stopped on a full outgoing pair (a long handshake
    // flight, a KeyUpdate answer, close_notify) and nothing but this send's completion will ever
    // wake it up again: drive it now that there is room.
    if (s.wantsWrite) {
      if (c.state === ConnState.Closing) {
        try {
          s.retryWrites();
        } catch {
          return this.#teardown(c, 'fin'); // closing anyway: the close_notify is lost with the session
        }
      } else {
        this.#drive(c);
        if (!c.open) return;
        this.#postRecv(c); // the incoming pair may have been full too
      }
    }
    // A writer that filled its pair gets a bigger one once it has been emptied (bulk).
    if (c.writeBlocked && s.pairSize < BIO_PAIR_SIZE && s.tlsPending() === 0) s.growBuffers(BIO_PAIR_SIZE);
    // One send stays in flight while there is anything to send: the next goes out now, and a
    // blocked writer refills below the low-water mark while it is out (sent by its completion).
    this.#flush(c);
    if (c.state === ConnState.Closing) {
      if (c.sendInFlight) return;
      // close_notify is out; an error close doesn't wait for the peer's reply.
      if (c.error || c.closeHow !== 'notify') return this.#teardown(c);
      return; // wait for the peer's close_notify or EOF (bounded by the deadline)
    }
    if (c.writeBlocked && c.state === ConnState.Open && s.tlsPending() < s.pairSize * LOW_WATER_SHARE) {
      c.writeBlocked = false;
      c.handler.onDrain?.(c);
    }
  }

  #write(c: Connection, src: bigint | Uint8Array, len: number): number {
    if (c.state !== ConnState.Open) return 0;
    let n: number;
    try {
      n = c.session.write(src, len);
    } catch (e) {
      this.#close(c, 'fin', e as TlsError);
      return 0;
    }
    if (n < len) c.writeBlocked = true;
    // Sent once the turn's completions are dispatched: every write of this turn in one send.
    this.#touch(c);
    return n;
  }

  #resume(c: Connection): void {
    if (!c.paused) return;
    c.paused = false;
    if (!c.open) return;
    this.#drive(c); // plaintext may be waiting in the session
    if (c.open) this.#postRecv(c);
  }

  /**
   * notify: send close_notify, then close once the peer answered (or a short grace passed).
   * fin: send close_notify and close as soon as it is out, without waiting for the peer.
   * rst: close now with SO_LINGER 0 (no close_notify; avoids TIME-WAIT on the closing side).
   */
  #close(c: Connection, how: CloseHow, error?: IocptlsError): void {
    if (c.state >= ConnState.Closing) {
      if (how === 'rst' && c.state === ConnState.Closing) this.#teardown(c, how);
      return;
    }
    c.error ??= error;
    c.closeHow = how;
    if (c.state === ConnState.Open && !error) {
      if (how !== 'rst') c.session.close();
      else c.session.abandon(); // a chosen reset, not a failure: keeps the session resumable
      // Even an abortive close first lets what was written (say, the client's Finished) reach the kernel.
      c.state = ConnState.Closing;
      this.#setDeadline(c, performance.now() + CLOSE_GRACE_MS, 'close');
      this.#flush(c);
      if (!c.sendInFlight) this.#teardown(c, how === 'rst' ? 'rst' : 'fin');
      return;
    }
    if (error && c.sendInFlight) {
      // An alert is on its way out; close when its send completes.
      c.state = ConnState.Closing;
      this.#setDeadline(c, performance.now() + CLOSE_GRACE_MS, 'close');
      return;
    }
    this.#teardown(c, how);
  }

  #teardown(c: Connection, how: CloseHow = c.closeHow): void {
    if (c.state >= ConnState.TearingDown) return;
    c.state = ConnState.TearingDown;
    c.closeHow = how;
    if (how === 'rst' && c.fd >= 0) this.port.setLingerZero(c.fd);
    // Every in-flight operation owns its buffer until its completion: cancel, then wait.
    const base = c.slot << OP_BITS;
    if (c.recvInFlight) this.#cancel(base | Op.Recv);
    if (c.sendInFlight) this.#cancel(base | Op.Send);
    if (c.connectInFlight) this.#cancel(base | Op.Connect);
    this.#maybeFinish(c);
  }

  #cancel(target: number): void {
    this.#pending++;
    this.port.prepCancel(target, Op.Cancel);
  }

  #maybeFinish(c: Connection): void {
    if (c.recvInFlight || c.sendInFlight || c.connectInFlight || c.state === ConnState.Closed) return;
    c.state = ConnState.Closed;
    if (c.deadlineTimer) this.#timers.delete(c.deadlineTimer);
    if (c.idleTimer) this.#timers.delete(c.idleTimer);
    if (c.fd >= 0) {
      this.#pending++;
      this.#closesInFlight++;
      this.port.prepClose(c.fd, Op.Close);
    }
    c.session?.free();
    this.#freeConn(c);
    c.handler.onClose?.(c, c.error);
  }

  // --- the loop
  /**
   * One turn: run due timers, submit and wait (to the microsecond where the port can) for
   * completions or the next timer, stamp the batch, dispatch it, run timers due by then. Before a
   * precise timer the wait ends a little early and later turns poll without blocking.
   */
  turn(maxWaitMs: number): number {
    // Timers first: one due now must not wait behind a whole batch of completions.
    let now = (this.now = performance.now());
    this.#runTimers(now);
    if (now >= this.#nextMaintenance) this.#maintain(now);
    // Writes made outside a turn (or by the timers) go out with this submit.
    if (this.#deferred.length) this.#runDeferred();
    if (this.#touched.length) this.#flushTouched();
    let wait = maxWaitMs;
    let timed = false;
    const first = this.#timers.peek();
    if (first) {
      let d = first.at - now;
      if (first.precise) {
        d -= this.timerMarginMs;
        if (d < this.port.waitResolutionMs) d = 0;
      }
      if (d < wait) {
        wait = Math.max(0, d);
        timed = true;
      }
    }
    const waitStart = performance.now();
    this.stats.busyMs += waitStart - this.#waitEnd;
    this.port.submitAndWait(1, wait);
    now = this.now = this.#waitEnd = performance.now();
    this.stats.waitMs += now - waitStart;
    const tokens = this.tokens;
    const results = this.results;
    const buffers = this.buffers;
    let total = 0;
    for (;;) {
      const n = this.port.reap(tokens, results, buffers);
      for (let i = 0; i < n; i++) this.#dispatch(tokens[i], results[i], buffers[i]);
      total += n;
      if (n < BATCH) break;
    }
    // A wait that ran to its timeout tells how late this thread wakes up: precise timers wake
    // up that much early (a signal or a full queue ending the wait early tells nothing).
    if (timed && total === 0 && wait > 0) {
      const late = now - (waitStart + wait);
      if (late >= 0) {
        const err = late - this.#lateMean;
        this.#lateMean += err / 8;
        this.#lateDev += (Math.abs(err) - this.#lateDev) / 4;
      }
    }
    this.#queued = 0;
    this.#runTimers(performance.now());
    if (this.#deferred.length) this.#runDeferred();
    if (this.#touched.length) this.#flushTouched();
    return total;
  }

  /** Runs what was deferred, including what that defers in turn. */
  #runDeferred(): void {
    const list = this.#deferred;
    try {
      for (let i = 0; i < list.length; i++) list[i]();
    } finally {
      list.length = 0;
    }
  }

  /**
   * Once a second: connections quiet for releaseIdleMs give back their pair's buffers; when load
   * dropped (half the connections of the period's peak gone, or megabytes fewer pair bytes held
   * than at the period's peak), the port trims its receive buffers to what is needed and drops the
   * pages of free ones, and the C heap is trimmed (trimHeap); otherwise only wholly free slabs go back.
   */
  #maintain(now: number): void {
    this.#nextMaintenance = now + MAINTENANCE_MS;
    const idleMs = this.options.releaseIdleMs ?? RELEASE_IDLE_MS;
    const q = this.#quiet;
    let kept = 0;
    for (let i = 0; i < q.length; i++) {
      const c = q[i];
      if (c.state === ConnState.Open && c.session.paired) {
        // A receive straight into the pair pins it: a quiet one is cancelled (its completion
        // posts one that pins nothing), and the pair goes back at the next maintenance.
        if (c.recvDirect && !c.recvQuiet && now - c.lastActivity >= idleMs) {
          c.recvQuiet = true;
          this.#cancel((c.slot << OP_BITS) | Op.Recv);
        }
        if (c.sendInFlight || now - c.lastActivity < idleMs || !c.session.releaseBuffers()) {
          q[kept++] = c;
          continue;
        }
        this.stats.pairsReleased++;
      }
      c.quietListed = false;
    }
    q.length = kept;
    // Measured after the releases: what is paired past them is what recent traffic needs.
    if (pairMemory.bytes > this.#pairBytesPeak) this.#pairBytesPeak = pairMemory.bytes;
    const open = this.stats.open;
    // The period's peak, sampled here: it was only ever set at a trim (to what was open then), so
    // from 0 it never rose and a wave's end never counted as load dropping.
    if (open > this.#peakOpen) this.#peakOpen = open;
    const dropped = this.#peakOpen > 0 && open <= this.#peakOpen / 2;
    // Pair memory counts as given back when fewer pair bytes are held than at the period's peak, not
    // per release: connections that talk every few seconds pair and unpair all the time, and trimming
    // what the next second's pings take again (one madvise per free receive buffer, a TLB shootdown
    // on every core, then the page faults) cost a 16,000-connection hold a fifth of its client CPU.
    // Likewise while connections are still being added (a ramp): the next handshakes take it at once.
    const growing = open > this.#openAtUpkeep;
    this.#openAtUpkeep = open;
    if (dropped || (!growing && this.#pairBytesPeak - pairMemory.bytes >= TRIM_AFTER_RELEASED_BYTES)) {
      this.port.trim(true);
      if (this.options.trimHeap) heapTrim();
      this.stats.trims++;
      this.#peakOpen = open;
      this.#pairBytesPeak = pairMemory.bytes;
    } else {
      this.port.trim(false);
    }
  }

  /** Runs the memory upkeep now instead of at its next second (tests, and a caller that knows load just dropped). */
  maintain(): void {
    this.#maintain(performance.now());
  }

  #dispatch(token: number, res: number, buf: number): void {
    this.#pending--;
    const op = token & OP_MASK;
    if (op === Op.Close) {
      this.#closesInFlight--;
      return;
    }
    if (op === Op.Cancel) return;
    const queued = (this.#queued = performance.now() - this.now);
    this.stats.dispatched++;
    this.stats.queuedMs += queued;
    const idx = token >>> OP_BITS;
    if (op === Op.Accept) return this.#onAccept(idx, res);
    const c = this.conns[idx];
    if (!c) {
      if (buf !== NO_BUFFER) this.port.releaseRecvBuffer(buf);
      return;
    }
    if (op === Op.Recv) this.#onRecv(c, res, buf);
    else if (op === Op.Send) this.#onSend(c, res);
    else if (op === Op.Connect) this.#onConnect(c, res);
  }

  #runTimers(now: number): void {
    for (let t = this.#timers.popDue(now); t; t = this.#timers.popDue(now)) t.fn();
  }

  /** Runs until stop() or until `done()` is true, blocking in the port between turns. */
  run(done: () => boolean = () => false, maxWaitMs = 100): void {
    while (!this.#stopped && !done()) this.turn(maxWaitMs);
    this.port.submitAndWait(0, 0);
  }

  /** Like run, but yields to Node's event loop between turns (for the main thread: stdin, signals). */
  async runAsync(done: () => boolean = () => false, maxWaitMs = 10): Promise<void> {
    while (!this.#stopped && !done()) {
      this.turn(maxWaitMs);
      await new Promise<void>((r) => setImmediate(r));
    }
    this.port.submitAndWait(0, 0);
  }

  /**
   * Frees native memory and closes the port. Whatever is still open is reset and every
   * operation the kernel owns is cancelled and waited for first (up to `waitMs`): a buffer is
   * never freed while the kernel may still write into it. If some operation does not complete in
   * time, its buffers are leaked (and counted in the report) rather than risk corruption.
   */
  destroy(waitMs = 2000): DestroyReport {
    if (this.#destroyed) return { pendingOps: this.#pending, leakedBuffers: 0, leakedBytes: 0 };
    this.#destroyed = true;
    this.#stopped = true;
    this.closeListeners();
    for (const c of this.conns) c?.close('rst');
    const until = performance.now() + waitMs;
    while (this.#pending > 0 && performance.now() < until) this.turn(5);
    this.port.submitAndWait(0, 0);
    nativeFree(this.#plain.ptr); // only OpenSSL writes the plaintext scratch, and only inside our calls
    const bufferSize = this.port.recvBufferSize;
    const leakedBuffers = this.port.close();
    return { pendingOps: this.#pending, leakedBuffers, leakedBytes: leakedBuffers * bufferSize };
  }
}
