// The completion loop: wait for a batch of completions, hand each to its connection's session,
// post what follows (sends, the next receive, accepts). Policy lives in the apps (handlers).
import { performance } from 'node:perf_hooks';
import { BufferPool, nativeScratch } from './buffer_pool';
import { CloseHow, ConnHandler, Connection, ConnState } from './connection';
import { IocptlsError, NetError, TlsError } from './errors';
import { CompletionPort, E, SockAddr, errorMessage, errorName } from './port/types';
import { TlsContext } from './tls/context';
import { ReadResult, SessionOptions, TlsSession } from './tls/session';

const enum Op {
  Accept = 0,
  Connect = 1,
  Recv = 2,
  Send = 3,
  /** Completions we post and then ignore (close, cancel). */
  Ignore = 4,
}
const OP_BITS = 3;
const OP_MASK = 7;

export const RECV_SIZE = 64 * 1024;
const PLAINTEXT_SIZE = 64 * 1024;
const BATCH = 1024;
const SWEEP_MS = 50;

interface Listener {
  fd: number;
  context: TlsContext;
  handler: (conn: Connection) => ConnHandler;
  open: boolean;
  inFlight: number;
  maxConnections: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  /** Shared admission (e.g. one limit over every worker); maxConnections applies when absent. */
  limiter?: ConnectionLimiter;
  /** Accepted sockets turned away because of maxConnections or the limiter. */
  rejected: number;
  /** Failed accepts by errno name (EMFILE, ENFILE, ...). */
  acceptErrors: Record<string, number>;
  count: number;
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

export interface LoopStats {
  open: number;
  accepted: number;
  connected: number;
  closed: number;
  /** Milliseconds spent outside the port's wait (dispatching, crypto, timers): the loop's own cost. */
  busyMs: number;
  /** Milliseconds spent blocked in the port's wait. */
  waitMs: number;
  /** Completions dispatched, and how long in all (ms) they waited behind earlier ones of their batch. */
  dispatched: number;
  queuedMs: number;
}

type Timer = { at: number; fn: () => void; seq: number };

export class Loop {
  readonly tokens = new Uint32Array(BATCH);
  readonly results = new Int32Array(BATCH);
  readonly conns: (Connection | undefined)[] = [];
  #freeSlots: number[] = [];
  #listeners: Listener[] = [];
  #recvPool = new BufferPool(RECV_SIZE);
  #plain = nativeScratch(PLAINTEXT_SIZE);
  #timers: Timer[] = [];
  #timerSeq = 0;
  #nextSweep = 0;
  #stopped = false;
  readonly stats: LoopStats = { open: 0, accepted: 0, connected: 0, closed: 0, busyMs: 0, waitMs: 0, dispatched: 0, queuedMs: 0 };
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
  };

  constructor(readonly port: CompletionPort) {}

  get backend() {
    return this.port.backend;
  }

  /** Receive buffers currently handed out (all must be back once every connection closed). */
  get recvBuffersInUse(): number {
    return this.#recvPool.inUse;
  }

  // --- timers (monotonic ms)
  setTimer(at: number, fn: () => void): void {
    this.#timers.push({ at, fn, seq: this.#timerSeq++ });
    this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  stop(): void {
    this.#stopped = true;
  }
  get stopped(): boolean {
    return this.#stopped;
  }

  // --- servers
  listen(
    fd: number,
    context: TlsContext,
    handler: (conn: Connection) => ConnHandler,
    opts: { depth?: number; maxConnections?: number; limiter?: ConnectionLimiter; handshakeTimeoutMs?: number; idleTimeoutMs?: number } = {}
  ): number {
    const l: Listener = {
      fd,
      context,
      handler,
      open: true,
      inFlight: 0,
      maxConnections: opts.maxConnections ?? 0,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 0,
      idleTimeoutMs: opts.idleTimeoutMs ?? 0,
      limiter: opts.limiter,
      rejected: 0,
      acceptErrors: {},
      count: 0,
    };
    const index = this.#listeners.push(l) - 1;
    // Accepts are posted ahead of time (the AcceptEx pattern): a new client never waits for us to ask.
    for (let i = 0; i < (opts.depth ?? 32); i++) this.#postAccept(index);
    return index;
  }

  /** Stops accepting on every listener (in-flight accepts are cancelled, the sockets closed). */
  closeListeners(): void {
    for (let i = 0; i < this.#listeners.length; i++) {
      const l = this.#listeners[i];
      if (!l.open) continue;
      l.open = false;
      // Closing the listening socket fails its pending accepts; on io_uring they need a cancel.
      for (let k = 0; k < l.inFlight; k++) this.port.prepCancel((i << OP_BITS) | Op.Accept, Op.Ignore);
    }
  }

  listenerStats(i: number) {
    const l = this.#listeners[i];
    return { rejected: l.rejected, acceptErrors: { ...l.acceptErrors }, accepted: l.count };
  }

  #postAccept(index: number): void {
    const l = this.#listeners[index];
    l.inFlight++;
    this.port.prepAccept(l.fd, (index << OP_BITS) | Op.Accept);
  }

  #onAccept(index: number, res: number): void {
    const l = this.#listeners[index];
    l.inFlight--;
    if (!l.open) {
      if (res >= 0) this.port.closeNow(res);
      if (l.inFlight === 0) this.port.closeNow(l.fd);
      return;
    }
    this.#postAccept(index);
    if (res < 0) {
      const why = errorName(res);
      l.acceptErrors[why] = (l.acceptErrors[why] ?? 0) + 1;
      return;
    }
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
    c.tStart = c.tConnected = c.lastActivity = performance.now();
    c.session = new TlsSession(l.context);
    c.state = ConnState.Handshaking;
    if (l.handshakeTimeoutMs > 0) c.setDeadline(c.tStart + l.handshakeTimeoutMs, 'handshake timeout');
    c.idleTimeout = l.idleTimeoutMs;
    c.handler = l.handler(c);
    c.handler.onOpen?.(c);
    if (c.open) this.#postRecv(c);
  }

  // --- clients
  connect(addr: SockAddr, opts: ConnectOptions): Connection {
    const c = this.#newConn('client', opts.origin ?? 0, opts.handler);
    c.tStart = performance.now();
    try {
      c.fd = this.port.openSocket(addr.family, opts.source);
    } catch (e) {
      this.#freeConn(c);
      throw e;
    }
    c.session = new TlsSession(opts.context, opts);
    if (opts.timeoutMs) c.setDeadline(c.tStart + opts.timeoutMs, 'connect timeout');
    c.connectInFlight = true;
    this.port.prepConnect(c.fd, addr, (c.slot << OP_BITS) | Op.Connect);
    return c;
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
  }

  #postRecv(c: Connection): void {
    if (c.recvInFlight || c.paused || c.state >= ConnState.TearingDown) return;
    const space = c.session.tlsSpace();
    if (space === 0) return; // the session must drain first; #drive reposts
    if (c.recvBuf === 0n) c.recvBuf = this.#recvPool.take();
    c.recvInFlight = true;
    this.port.prepRecv(c.fd, c.recvBuf, Math.min(RECV_SIZE, space), (c.slot << OP_BITS) | Op.Recv);
  }

  #onRecv(c: Connection, res: number): void {
    c.recvInFlight = false;
    if (c.state >= ConnState.TearingDown) return this.#maybeFinish(c);
    if (res <= 0) {
      if (res === 0) return this.#onEof(c);
      const reason = res === E.ECONNRESET ? 'reset' : errorName(res).toLowerCase();
      return this.#close(c, 'rst', new NetError(`receive: ${errorMessage(res)}`, errorName(res), reason));
    }
    c.wireIn += res;
    c.lastActivity = performance.now();
    c.session.readTls(c.recvBuf, res);
    this.#drive(c);
    if (c.open) this.#postRecv(c);
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

  /** Runs the session on what arrived: handshake, then plaintext to the handler; then flushes. */
  #drive(c: Connection): void {
    const s = c.session;
    try {
      if (c.state === ConnState.Handshaking) {
        if (!s.handshake()) return this.#flush(c);
        // Its own processing counts, the wait behind other completions of the batch does not.
        c.tHandshake = performance.now() - this.#queued;
        c.state = ConnState.Open;
        c.deadline = 0;
        c.handler.onHandshake?.(c);
        if (!c.open) return;
      }
      const plain = this.#plain;
      for (;;) {
        const n = s.read(plain.ptr, PLAINTEXT_SIZE);
        if (n > 0) {
          c.handler.onData?.(c, plain.view.subarray(0, n), plain.ptr, n);
          if (!c.open || c.paused) break;
          continue;
        }
        if (n === ReadResult.Closed) {
          this.#flush(c);
          if (c.state === ConnState.Closing) return this.#teardown(c);
          if (c.handler.onPeerClose) c.handler.onPeerClose(c);
          else this.#close(c, 'notify');
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
    this.#flush(c);
  }

  #flush(c: Connection): void {
    if (c.sendInFlight || c.state >= ConnState.TearingDown) return;
    const [ptr, len] = c.session.peekTls();
    if (len === 0) return;
    c.sendInFlight = len;
    this.port.prepSend(c.fd, ptr, len, (c.slot << OP_BITS) | Op.Send);
  }

  #onSend(c: Connection, res: number): void {
    c.sendInFlight = 0;
    if (res > 0) {
      c.session.consumeTls(res);
      c.wireOut += res;
    }
    if (c.state >= ConnState.TearingDown) return this.#maybeFinish(c);
    if (res < 0) {
      const reason = res === E.ECONNRESET || res === E.EPIPE ? 'reset' : errorName(res).toLowerCase();
      return this.#close(c, 'rst', new NetError(`send: ${errorMessage(res)}`, errorName(res), reason));
    }
    c.lastActivity = performance.now();
    this.#flush(c);
    if (c.sendInFlight) return;
    if (c.state === ConnState.Closing) {
      // close_notify is out; an error close doesn't wait for the peer's reply.
      if (c.error || c.closeHow !== 'notify') return this.#teardown(c);
      return; // wait for the peer's close_notify or EOF (bounded by the deadline)
    }
    c.handler.onDrain?.(c);
    if (c.error) this.#teardown(c);
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
    this.#flush(c);
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
      c.setDeadline(performance.now() + 1000, 'close');
      this.#flush(c);
      if (!c.sendInFlight) this.#teardown(c, how === 'rst' ? 'rst' : 'fin');
      return;
    }
    if (error && c.sendInFlight) {
      // An alert is on its way out; close when its send completes.
      c.state = ConnState.Closing;
      c.setDeadline(performance.now() + 1000, 'close');
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
    if (c.recvInFlight) this.port.prepCancel(base | Op.Recv, Op.Ignore);
    if (c.sendInFlight) this.port.prepCancel(base | Op.Send, Op.Ignore);
    if (c.connectInFlight) this.port.prepCancel(base | Op.Connect, Op.Ignore);
    this.#maybeFinish(c);
  }

  #maybeFinish(c: Connection): void {
    if (c.recvInFlight || c.sendInFlight || c.connectInFlight || c.state === ConnState.Closed) return;
    c.state = ConnState.Closed;
    if (c.fd >= 0) this.port.prepClose(c.fd, Op.Ignore);
    if (c.recvBuf) this.#recvPool.give(c.recvBuf);
    c.recvBuf = 0n;
    c.session?.free();
    this.#freeConn(c);
    c.handler.onClose?.(c, c.error);
  }

  // --- the loop
  /**
   * One turn: run due timers, submit and wait (to the microsecond where the port can) for
   * completions or the next timer, stamp the batch, dispatch it, run timers due by then.
   */
  turn(maxWaitMs: number): number {
    // Timers first: one due now must not wait behind a whole batch of completions.
    let now = (this.now = performance.now());
    this.#runTimers(now);
    let wait = maxWaitMs;
    const first = this.#timers[0];
    if (first) wait = Math.max(0, Math.min(wait, first.at - now));
    if (this.stats.open > 0) wait = Math.min(wait, Math.max(0, this.#nextSweep - now));
    const waitStart = performance.now();
    this.stats.busyMs += waitStart - this.#waitEnd;
    this.port.submitAndWait(1, wait);
    now = this.now = this.#waitEnd = performance.now();
    this.stats.waitMs += now - waitStart;
    const tokens = this.tokens;
    const results = this.results;
    let total = 0;
    for (;;) {
      const n = this.port.reap(tokens, results);
      for (let i = 0; i < n; i++) this.#dispatch(tokens[i], results[i]);
      total += n;
      if (n < BATCH) break;
    }
    this.#queued = 0;
    this.#runTimers(performance.now());
    return total;
  }

  #dispatch(token: number, res: number): void {
    const op = token & OP_MASK;
    if (op === Op.Ignore) return;
    const queued = (this.#queued = performance.now() - this.now);
    this.stats.dispatched++;
    this.stats.queuedMs += queued;
    const idx = token >>> OP_BITS;
    if (op === Op.Accept) return this.#onAccept(idx, res);
    const c = this.conns[idx];
    if (!c) return;
    if (op === Op.Recv) this.#onRecv(c, res);
    else if (op === Op.Send) this.#onSend(c, res);
    else if (op === Op.Connect) this.#onConnect(c, res);
  }

  #runTimers(now: number): void {
    while (this.#timers.length && this.#timers[0].at <= now) this.#timers.shift()!.fn();
    if (now >= this.#nextSweep) {
      this.#nextSweep = now + SWEEP_MS;
      this.#sweepDeadlines(now);
    }
  }

  #sweepDeadlines(now: number): void {
    for (const c of this.conns) {
      if (!c || c.state >= ConnState.TearingDown) continue;
      if (c.deadline && now >= c.deadline) {
        if (c.state === ConnState.Closing) this.#teardown(c, 'fin');
        else this.#close(c, 'rst', new NetError(`${c.deadlineReason} after ${Math.round(now - c.tStart)} ms`, 'ETIMEDOUT', 'timeout'));
      } else if (c.idleTimeout && c.state === ConnState.Open && now - c.lastActivity >= c.idleTimeout) {
        this.#close(c, 'notify');
      }
    }
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

  /** Frees native memory; only once no connection or accept is left. */
  destroy(): void {
    this.#recvPool.destroy();
    this.port.close();
  }
}
