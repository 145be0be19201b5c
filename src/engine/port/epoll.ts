// The epoll completion port: readiness turned into the same completions io_uring delivers, for
// kernels and containers where io_uring is disabled.
//
// Each operation first tries its syscall (recv/send/accept usually succeed at once); only on
// EAGAIN does it queue on its fd and wait. Fds are registered once, edge-triggered, for both
// directions (as mio/tokio do): one epoll_ctl per socket lifetime instead of one per wait. Edges
// are only trusted after an EAGAIN, which the "try first, and never jump a queue" rule
// guarantees. Completions are queued and handed out by reap(), never called back.
//
// Per-operation state lives in preallocated typed arrays indexed by slot; nothing is allocated
// per completion except the Map entry of an operation that has to wait (needed for cancel).
//
// A receive that lets the port choose its buffer (prepRecvSelect) holds none while it waits: the
// read happens once the socket is readable, into a buffer taken from the port's arena then and
// released by the caller as soon as it copied the bytes out. The arena hands out the most
// recently released buffer first, so a loop whose completions are dispatched as they come reads
// into one buffer over and over; a burst of ready sockets takes a few more, given back by trim().
//
// Waits use epoll_pwait2 (a timespec: an open-loop start due in 0.3 ms is not rounded to 1 ms)
// where the kernel has it (5.11+) and the seccomp profile allows it; else epoll_wait, whose
// timeout counts whole milliseconds (rounded up rather than spinning). A signal ends the
// kernel's wait with EINTR; submitAndWait then waits again for what is left of its timeout.
import * as c from '../../../native/libc';
import * as ep from '../../../native/epoll';
import * as sock from './posix_sockets';
import { RECV_BUFFER_SIZE } from './recv_arena';
import { CompletionPort, E, NO_BUFFER, PortError, SockAddr } from './types';

const OP_ACCEPT = 1;
const OP_CONNECT = 2;
const OP_RECV = 3;
const OP_SEND = 4;
const OP_TIMEOUT = 5;
const OP_RECV_SELECT = 6;
const OP_SENDV = 7;

const NONE = -1;
/** What #attempt returns when the operation has to wait for readiness. */
const WOULD_BLOCK = E.EAGAIN;
const EAGAIN = -E.EAGAIN;
const EINTR = -E.EINTR;
const EINPROGRESS = -E.EINPROGRESS;
const ENOSYS = 38;
const EPERM = -E.EPERM;

const ACCEPT_FLAGS = c.SOCK_NONBLOCK | c.SOCK_CLOEXEC;
// DONTWAIT as well as O_NONBLOCK: a blocking fd handed to us must not stall the loop.
const RECV_FLAGS = c.MSG_DONTWAIT;
const SEND_FLAGS = c.MSG_NOSIGNAL | c.MSG_DONTWAIT;
const INTEREST = (ep.EPOLLIN | ep.EPOLLOUT | ep.EPOLLRDHUP | ep.EPOLLET) >>> 0;
const READ_WAKE = ep.EPOLLIN | ep.EPOLLRDHUP | ep.EPOLLERR | ep.EPOLLHUP;
const WRITE_WAKE = ep.EPOLLOUT | ep.EPOLLERR | ep.EPOLLHUP;
const REGISTERED = 1;
const MAYBE_READABLE = 2;
/** The peer's FIN (or an error) was reported: sticky, a short read does not consume it. */
const PEER_DONE = 4;
const DONE_WAKE = ep.EPOLLRDHUP | ep.EPOLLERR | ep.EPOLLHUP;
const MAX_EVENTS = 1024;
const PEER_BUF = c.SOCKADDR_STORAGE_SIZE;

export interface EpollOptions {
  /** Initial operation slots; grows by doubling. */
  slots?: number;
}

export class EpollPort extends sock.PosixSocketSetup implements CompletionPort {
  readonly backend = 'epoll' as const;
  readonly epollFd: number;
  /** Whether waits take a timespec (epoll_pwait2) rather than whole milliseconds. */
  readonly pwait2: boolean;

  // Operation slots, struct-of-arrays. Free slots are chained through #opNext; queued ones too.
  #opKind: Uint8Array;
  #opFd: Int32Array;
  #opLen: Int32Array;
  #opToken: Uint32Array;
  #opNext: Int32Array;
  #opBuf: bigint[];
  /** prepSendv: the second region. */
  #opBuf2: bigint[];
  #opLen2: Int32Array;
  #freeOp = NONE;
  /** The buffer the last #attempt of a select receive read into (NO_BUFFER if none). */
  #attemptBuf = NO_BUFFER;

  readonly recvMode = 'readiness' as const;

  // Per fd: FIFO queues of operations waiting to read (recv, accept) and to write (send, connect).
  #rHead = new Int32Array(0);
  #rTail = new Int32Array(0);
  #wHead = new Int32Array(0);
  #wTail = new Int32Array(0);
  /**
   * Per fd: 0 not registered; REGISTERED; | MAYBE_READABLE once a read edge came and no read has
   * drained the socket since; | PEER_DONE once the peer's FIN or an error was reported. A receive posted on a registered fd without that bit waits
   * for the edge instead of trying a recv that can only say EAGAIN (a new connection's first
   * receive, the one after a short read): an edge-triggered registration reports every arrival,
   * and EPOLL_CTL_ADD reports readiness that was there before it.
   */
  #registered = new Uint8Array(0);
  /** The events of the write wake being drained (a connect's result needs SO_ERROR only on EPOLLERR/EPOLLHUP). */
  #wakeEvents = 0;
  /** Operations waiting on an fd. */
  #waiting = 0;
  /** token -> slot of every operation that waits (on an fd or a timer): what prepCancel can find. */
  #pending = new Map<number, number>();

  // Timers: a binary min-heap of slots ordered by #deadline (performance.now() milliseconds).
  #deadline: Float64Array;
  #heap: Int32Array;
  #heapPos: Int32Array;
  #heapLen = 0;

  // Completions ready to reap: a ring with a power-of-two capacity.
  #cqTokens = new Uint32Array(1024);
  #cqResults = new Int32Array(1024);
  #cqBufs = new Uint32Array(1024);
  #cqHead = 0;
  #cqLen = 0;

  // Native scratch memory, allocated once.
  #events: bigint;
  #eventsU32: Uint32Array;
  #scratch: bigint; // [0,16): epoll_ctl event; [16,20): optval; [20,24): optlen; [24,28): peer len; [32,160): peer addr
  #scratchU32: Uint32Array;
  #ctlEvent: bigint;
  #optval: bigint;
  #optlen: bigint;
  #peerLen: bigint;
  #peerAddr: bigint;
  #timespec: bigint;
  #timespecView: BigInt64Array;
  /** A msghdr and its two iovecs for prepSendv's sendmsg (filled and used within one call). */
  #msg: bigint;
  #msgView: BigUint64Array;

  constructor(opts: EpollOptions = {}) {
    super();
    const fd = ep.epoll.create1(ep.EPOLL_CLOEXEC) as number;
    if (fd < 0) {
      const e = c.lastErrno();
      throw new PortError(`epoll_create1: ${c.errnoMessage(e)}`, -e);
    }
    this.epollFd = fd;
    const slots = Math.max(16, opts.slots ?? 1024);
    this.#opKind = new Uint8Array(slots);
    this.#opFd = new Int32Array(slots);
    this.#opLen = new Int32Array(slots);
    this.#opToken = new Uint32Array(slots);
    this.#opNext = new Int32Array(slots);
    this.#opBuf = new Array<bigint>(slots).fill(0n);
    this.#opBuf2 = new Array<bigint>(slots).fill(0n);
    this.#opLen2 = new Int32Array(slots);
    this.#deadline = new Float64Array(slots);
    this.#heap = new Int32Array(slots);
    this.#heapPos = new Int32Array(slots);
    this.#chainFree(0, slots);

    const evBytes = MAX_EVENTS * ep.EPOLL_EVENT_SIZE;
    this.#events = c.libc.calloc(1, evBytes) as bigint;
    this.#eventsU32 = new Uint32Array(c.nativeView(this.#events, evBytes).buffer);
    this.#scratch = c.libc.calloc(1, 32 + PEER_BUF) as bigint;
    this.#scratchU32 = new Uint32Array(c.nativeView(this.#scratch, 32 + PEER_BUF).buffer);
    this.#ctlEvent = this.#scratch;
    this.#optval = this.#scratch + 16n;
    this.#optlen = this.#scratch + 20n;
    this.#peerLen = this.#scratch + 24n;
    this.#peerAddr = this.#scratch + 32n;
    this.#timespec = c.libc.calloc(1, ep.TIMESPEC_SIZE) as bigint;
    this.#timespecView = new BigInt64Array(c.nativeView(this.#timespec, ep.TIMESPEC_SIZE).buffer);
    this.#msg = c.libc.calloc(1, c.MSGHDR_SIZE + 2 * c.IOVEC_SIZE + 8) as bigint;
    this.#msgView = new BigUint64Array(c.nativeView(this.#msg, c.MSGHDR_SIZE + 2 * c.IOVEC_SIZE + 8).buffer);
    this.#msgView[c.MSGHDR_IOV >> 3] = this.#msg + 64n;
    this.#msgView[c.MSGHDR_IOVLEN >> 3] = 2n;
    // Probe once with a zero timeout: ENOSYS (before 5.11) or EPERM (a seccomp profile that
    // predates it) means epoll_wait for the life of the port.
    const r = Number(ep.epoll.pwait2(ep.SYS_epoll_pwait2, this.epollFd, this.#events, 1, this.#timespec, null, 0));
    const e = r < 0 ? c.lastErrno() : 0;
    this.pwait2 = !(r < 0 && (e === ENOSYS || e === EPERM));
  }

  get waitResolutionMs(): number {
    return this.pwait2 ? 0 : 1;
  }

  // --- socket setup: PosixSocketSetup's, except that epoll must forget an fd it closes
  override closeNow(fd: number): void {
    this.#forget(fd, true);
    super.closeNow(fd);
  }

  // --- operations
  prepAccept(listenFd: number, token: number): void {
    if (this.#readQueued(listenFd)) return void this.#wait(OP_ACCEPT, listenFd, 0n, 0, token, true);
    const r = ep.epoll.accept4(listenFd, null, null, ACCEPT_FLAGS) as number;
    this.#settle(r, OP_ACCEPT, listenFd, 0n, 0, token, true);
  }

  prepConnect(fd: number, addr: SockAddr, token: number): void {
    const r = ep.epoll.connect(fd, addr.ptr, addr.len) as number;
    if (r >= 0) return this.#complete(token, 0);
    const e = c.lastErrno();
    if (e === EINPROGRESS) return void this.#wait(OP_CONNECT, fd, 0n, 0, token, false);
    this.#complete(token, -e);
  }

  prepRecv(fd: number, buf: bigint, len: number, token: number): void {
    if (this.#readQueued(fd) || this.#drained(fd)) return void this.#wait(OP_RECV, fd, buf, len, token, true);
    const r = ep.epoll.recv(fd, buf, len, RECV_FLAGS) as number;
    this.#noteRead(fd, r, len);
    this.#settle(r, OP_RECV, fd, buf, len, token, true);
  }

  prepRecvSelect(fd: number, maxLen: number, token: number): void {
    const len = Math.min(maxLen, RECV_BUFFER_SIZE);
    if (this.#readQueued(fd) || this.#drained(fd)) return void this.#wait(OP_RECV_SELECT, fd, 0n, len, token, true);
    const r = this.#recvSelect(fd, len);
    if (r > 0) return this.#complete(token, r, this.#attemptBuf);
    if (r === WOULD_BLOCK) return void this.#wait(OP_RECV_SELECT, fd, 0n, len, token, true);
    this.#complete(token, r);
  }

  /** Reads into a buffer taken now; keeps it (in #attemptBuf) only when bytes came. */
  #recvSelect(fd: number, len: number): number {
    const id = this.arena.take();
    const r = ep.epoll.recv(fd, this.arena.address(id), len, RECV_FLAGS) as number;
    this.#noteRead(fd, r, len);
    if (r > 0) {
      this.#attemptBuf = id;
      return r;
    }
    const e = r < 0 ? c.lastErrno() : 0;
    this.arena.give(id);
    this.#attemptBuf = NO_BUFFER;
    return r === 0 ? 0 : e === EAGAIN ? WOULD_BLOCK : -e;
  }

  prepSend(fd: number, buf: bigint, len: number, token: number): void {
    if (this.#writeQueued(fd)) return void this.#wait(OP_SEND, fd, buf, len, token, false);
    const r = ep.epoll.send(fd, buf, len, SEND_FLAGS) as number;
    this.#settle(r, OP_SEND, fd, buf, len, token, false);
  }

  prepSendv(fd: number, buf1: bigint, len1: number, buf2: bigint, len2: number, token: number): void {
    if (this.#writeQueued(fd)) {
      const slot = this.#wait(OP_SENDV, fd, buf1, len1, token, false);
      if (slot !== NONE) {
        this.#opBuf2[slot] = buf2;
        this.#opLen2[slot] = len2;
      }
      return;
    }
    const r = this.#sendmsg(fd, buf1, len1, buf2, len2);
    if (r === WOULD_BLOCK) {
      const slot = this.#wait(OP_SENDV, fd, buf1, len1, token, false);
      if (slot !== NONE) {
        this.#opBuf2[slot] = buf2;
        this.#opLen2[slot] = len2;
      }
      return;
    }
    this.#complete(token, r);
  }

  #sendmsg(fd: number, buf1: bigint, len1: number, buf2: bigint, len2: number): number {
    const v = this.#msgView;
    v[8] = buf1; // iov[0] at byte 64
    v[9] = BigInt(len1);
    v[10] = buf2;
    v[11] = BigInt(len2);
    const r = ep.epoll.sendmsg(fd, this.#msg, SEND_FLAGS) as number;
    if (r >= 0) return r;
    const e = c.lastErrno();
    return e === EAGAIN ? WOULD_BLOCK : -e;
  }

  /**
   * Operations still waiting on the fd complete with -ECANCELED first (io_uring would leave
   * them pending forever; callers cancel before closing anyway), so no stale state can meet a
   * later socket that reuses the fd number.
   */
  prepClose(fd: number, token: number): void {
    this.#forget(fd, true);
    const r = ep.epoll.close(fd) as number;
    this.#complete(token, r < 0 ? -c.lastErrno() : 0);
  }

  prepTimeout(ms: number, token: number): void {
    const slot = this.#alloc(OP_TIMEOUT, -1, 0n, 0, token);
    this.#deadline[slot] = performance.now() + ms;
    this.#heapPush(slot);
    this.#pending.set(token >>> 0, slot);
  }

  /** Finds waiting operations only: one whose completion is already queued gives -ENOENT, as on io_uring. */
  prepCancel(target: number, token: number): void {
    const slot = this.#pending.get(target >>> 0);
    if (slot === undefined) return this.#complete(token, E.ENOENT);
    if (this.#opKind[slot] === OP_TIMEOUT) {
      this.#heapRemove(this.#heapPos[slot]);
    } else {
      const fd = this.#opFd[slot];
      const kind = this.#opKind[slot];
      if (kind === OP_RECV || kind === OP_RECV_SELECT || kind === OP_ACCEPT) this.#unlink(this.#rHead, this.#rTail, fd, slot);
      else this.#unlink(this.#wHead, this.#wTail, fd, slot);
      this.#waiting--;
    }
    this.#finish(slot, E.ECANCELED);
    this.#complete(token, 0);
  }

  submitAndWait(minComplete: number, timeoutMs: number): void {
    const until = timeoutMs >= 0 ? performance.now() + timeoutMs : Infinity;
    let polled = false;
    for (;;) {
      const now = performance.now();
      // As on io_uring, a timeout that fires ends the wait even short of minComplete.
      const fired = this.#heapLen > 0 && this.#fireTimers(now);
      if (fired || this.#cqLen >= minComplete || now >= until) {
        // Pick up readiness that is already there, so queued completions never starve sockets.
        if (!polled && this.#waiting > 0) this.#poll(0);
        return;
      }
      // Nothing could ever complete: waiting forever would hang the caller.
      if (this.#waiting === 0 && this.#heapLen === 0 && until === Infinity) return;
      let wait = until === Infinity ? -1 : until - now;
      if (this.#heapLen > 0) {
        const t = this.#deadline[this.#heap[0]] - now;
        if (wait < 0 || t < wait) wait = t;
      }
      this.#poll(wait);
      polled = true;
    }
  }

  reap(tokens: Uint32Array, results: Int32Array, buffers: Uint32Array): number {
    const max = tokens.length;
    const mask = this.#cqTokens.length - 1;
    const qt = this.#cqTokens;
    const qr = this.#cqResults;
    const qb = this.#cqBufs;
    let head = this.#cqHead;
    let n = 0;
    while (n < max && n < this.#cqLen) {
      tokens[n] = qt[head];
      results[n] = qr[head];
      buffers[n] = qb[head];
      head = (head + 1) & mask;
      n++;
    }
    this.#cqHead = head;
    this.#cqLen -= n;
    return n;
  }

  close(): number {
    c.libc.close(this.epollFd);
    c.libc.free(this.#events);
    c.libc.free(this.#scratch);
    c.libc.free(this.#timespec);
    c.libc.free(this.#msg);
    this.#pending.clear();
    // Reads are synchronous here: a buffer still out is one a completion named and the caller kept.
    return this.arena.destroy();
  }

  // --- readiness

  /** One wait for readiness, up to timeoutMs (fractional; < 0: no limit), then runs what became ready. */
  #poll(timeoutMs: number): void {
    let n: number;
    if (this.pwait2) {
      let ts: bigint | null = null;
      if (timeoutMs >= 0) {
        const ns = Math.round(timeoutMs * 1e6);
        this.#timespecView[0] = BigInt(Math.floor(ns / 1e9));
        this.#timespecView[1] = BigInt(ns % 1e9);
        ts = this.#timespec;
      }
      n = Number(ep.epoll.pwait2(ep.SYS_epoll_pwait2, this.epollFd, this.#events, MAX_EVENTS, ts, null, 0));
    } else {
      // Whole milliseconds: round up rather than spin.
      n = ep.epoll.wait(this.epollFd, this.#events, MAX_EVENTS, timeoutMs < 0 ? -1 : Math.ceil(timeoutMs)) as number;
    }
    if (n < 0) {
      const e = c.lastErrno();
      if (e === EINTR) return;
      throw new PortError(`${this.pwait2 ? 'epoll_pwait2' : 'epoll_wait'}: ${c.errnoMessage(e)}`, -e);
    }
    const ev = this.#eventsU32;
    const stride = ep.EPOLL_EVENT_SIZE >> 2;
    const dataOff = ep.EPOLL_EVENT_DATA >> 2;
    for (let i = 0, b = 0; i < n; i++, b += stride) {
      const events = ev[b];
      const fd = ev[b + dataOff];
      if (fd >= this.#rHead.length) continue;
      if (events & READ_WAKE) {
        if (this.#registered[fd]) this.#registered[fd] |= events & DONE_WAKE ? MAYBE_READABLE | PEER_DONE : MAYBE_READABLE;
        if (this.#rHead[fd] !== NONE) this.#drain(this.#rHead, this.#rTail, fd);
      }
      if (events & WRITE_WAKE && this.#wHead[fd] !== NONE) {
        this.#wakeEvents = events;
        this.#drain(this.#wHead, this.#wTail, fd);
      }
    }
  }

  /** Runs the fd's queued operations in order until one would block again. */
  #drain(heads: Int32Array, tails: Int32Array, fd: number): void {
    let slot = heads[fd];
    while (slot !== NONE) {
      const r = this.#attempt(slot);
      if (r === WOULD_BLOCK) return;
      const next = this.#opNext[slot];
      heads[fd] = next;
      if (next === NONE) tails[fd] = NONE;
      this.#waiting--;
      this.#finish(slot, r, this.#attemptBuf);
      this.#attemptBuf = NO_BUFFER;
      slot = next;
    }
  }

  #attempt(slot: number): number {
    const fd = this.#opFd[slot];
    let r: number;
    switch (this.#opKind[slot]) {
      case OP_RECV:
        r = ep.epoll.recv(fd, this.#opBuf[slot], this.#opLen[slot], RECV_FLAGS) as number;
        this.#noteRead(fd, r, this.#opLen[slot]);
        break;
      case OP_SEND:
        r = ep.epoll.send(fd, this.#opBuf[slot], this.#opLen[slot], SEND_FLAGS) as number;
        break;
      case OP_RECV_SELECT:
        return this.#recvSelect(fd, this.#opLen[slot]);
      case OP_SENDV:
        return this.#sendmsg(fd, this.#opBuf[slot], this.#opLen[slot], this.#opBuf2[slot], this.#opLen2[slot]);
      case OP_ACCEPT:
        r = ep.epoll.accept4(fd, null, null, ACCEPT_FLAGS) as number;
        break;
      default:
        return this.#connectResult(fd);
    }
    if (r >= 0) return r;
    const e = c.lastErrno();
    return e === EAGAIN ? WOULD_BLOCK : -e;
  }

  /**
   * A connect in progress, asked only when its fd woke for writing (the first attempt is the
   * connect itself): a socket still connecting (SYN_SENT) never polls writable, so the wake means
   * it is done: writable without EPOLLERR/EPOLLHUP is connected, and only otherwise SO_ERROR says
   * why not. (getpeername, to tell "still in progress", is needed only for an attempt made without
   * a wake: two syscalls per connection saved.)
   */
  #connectResult(fd: number): number {
    // Writable with no error or hangup: established, nothing to ask.
    if (!(this.#wakeEvents & (ep.EPOLLERR | ep.EPOLLHUP))) return 0;
    const s = this.#scratchU32;
    s[5] = 4;
    if ((ep.epoll.getsockopt(fd, c.SOL_SOCKET, c.SO_ERROR, this.#optval, this.#optlen) as number) < 0) return -c.lastErrno();
    return s[4] === 0 ? 0 : -s[4];
  }

  /** A registered fd with no read edge since it was last drained: a recv now could only say EAGAIN. */
  #drained(fd: number): boolean {
    return fd < this.#registered.length && this.#registered[fd] === REGISTERED;
  }

  /**
   * After a recv: EAGAIN, or fewer bytes than asked (a stream socket hands over all it has), means
   * the socket is drained until its next edge. An error other than EAGAIN ends the operation anyway;
   * end of stream (0) keeps the bit, so a later receive still reads it. A FIN already reported
   * (PEER_DONE) is not consumed by a short read of the data before it: such an fd is never
   * taken as drained.
   */
  #noteRead(fd: number, r: number, len: number): void {
    if (fd < this.#registered.length && (r > 0 ? r < len : r < 0)) this.#registered[fd] &= ~MAYBE_READABLE;
  }

  /** Result of a first attempt: complete now, or wait for readiness on EAGAIN. */
  #settle(r: number, kind: number, fd: number, buf: bigint, len: number, token: number, read: boolean): void {
    if (r >= 0) return this.#complete(token, r);
    const e = c.lastErrno();
    if (e === EAGAIN) return void this.#wait(kind, fd, buf, len, token, read);
    this.#complete(token, -e);
  }

  /** Queues an operation on its fd until readiness; returns its slot (NONE if it completed with an error instead). */
  #wait(kind: number, fd: number, buf: bigint, len: number, token: number, read: boolean): number {
    if (fd >= this.#rHead.length) this.#growFds(fd);
    if (!this.#registered[fd]) {
      const s = this.#scratchU32;
      s[0] = INTEREST;
      // data = fd; the other half of the u64 stays 0.
      s[ep.EPOLL_EVENT_DATA >> 2] = fd;
      s[(ep.EPOLL_EVENT_DATA >> 2) + 1] = 0;
      if ((ep.epoll.ctl(this.epollFd, ep.EPOLL_CTL_ADD, fd, this.#ctlEvent) as number) < 0) {
        this.#complete(token, -c.lastErrno());
        return NONE;
      }
      this.#registered[fd] = REGISTERED;
    }
    const slot = this.#alloc(kind, fd, buf, len, token);
    const heads = read ? this.#rHead : this.#wHead;
    const tails = read ? this.#rTail : this.#wTail;
    const tail = tails[fd];
    if (tail === NONE) heads[fd] = slot;
    else this.#opNext[tail] = slot;
    tails[fd] = slot;
    this.#waiting++;
    this.#pending.set(token >>> 0, slot);
    return slot;
  }

  #readQueued(fd: number): boolean {
    return fd >= 0 && fd < this.#rHead.length && this.#rHead[fd] !== NONE;
  }
  #writeQueued(fd: number): boolean {
    return fd >= 0 && fd < this.#wHead.length && this.#wHead[fd] !== NONE;
  }

  /**
   * Cancels whatever still waits on the fd and drops its registration. An fd about to be closed
   * needs no EPOLL_CTL_DEL: closing its last descriptor removes it from the epoll set (ours are
   * never duplicated), one syscall per connection saved.
   */
  #forget(fd: number, closing = false): void {
    if (fd < 0 || fd >= this.#rHead.length) return;
    this.#cancelQueue(this.#rHead, this.#rTail, fd);
    this.#cancelQueue(this.#wHead, this.#wTail, fd);
    if (this.#registered[fd]) {
      if (!closing) ep.epoll.ctl(this.epollFd, ep.EPOLL_CTL_DEL, fd, this.#ctlEvent);
      this.#registered[fd] = 0;
    }
  }

  #cancelQueue(heads: Int32Array, tails: Int32Array, fd: number): void {
    let slot = heads[fd];
    heads[fd] = NONE;
    tails[fd] = NONE;
    while (slot !== NONE) {
      const next = this.#opNext[slot];
      this.#waiting--;
      this.#finish(slot, E.ECANCELED);
      slot = next;
    }
  }

  #unlink(heads: Int32Array, tails: Int32Array, fd: number, slot: number): void {
    let prev = NONE;
    let cur = heads[fd];
    while (cur !== slot) {
      if (cur === NONE) return;
      prev = cur;
      cur = this.#opNext[cur];
    }
    const next = this.#opNext[slot];
    if (prev === NONE) heads[fd] = next;
    else this.#opNext[prev] = next;
    if (tails[fd] === slot) tails[fd] = prev;
  }

  // --- completions and slots

  #complete(token: number, res: number, buf = NO_BUFFER): void {
    if (this.#cqLen === this.#cqTokens.length) this.#growCq();
    const i = (this.#cqHead + this.#cqLen) & (this.#cqTokens.length - 1);
    this.#cqTokens[i] = token;
    this.#cqResults[i] = res;
    this.#cqBufs[i] = buf;
    this.#cqLen++;
  }

  /** Completes a slot that was waiting and returns it to the free list. */
  #finish(slot: number, res: number, buf = NO_BUFFER): void {
    const token = this.#opToken[slot];
    if (this.#pending.get(token) === slot) this.#pending.delete(token);
    this.#complete(token, res, buf);
    this.#opKind[slot] = 0;
    this.#opBuf[slot] = 0n;
    this.#opBuf2[slot] = 0n;
    this.#opNext[slot] = this.#freeOp;
    this.#freeOp = slot;
  }

  #alloc(kind: number, fd: number, buf: bigint, len: number, token: number): number {
    if (this.#freeOp === NONE) this.#growOps();
    const slot = this.#freeOp;
    this.#freeOp = this.#opNext[slot];
    this.#opKind[slot] = kind;
    this.#opFd[slot] = fd;
    this.#opBuf[slot] = buf;
    this.#opLen[slot] = len;
    this.#opToken[slot] = token;
    this.#opNext[slot] = NONE;
    return slot;
  }

  #chainFree(from: number, to: number): void {
    for (let i = from; i < to - 1; i++) this.#opNext[i] = i + 1;
    this.#opNext[to - 1] = this.#freeOp;
    this.#freeOp = from;
  }

  #growOps(): void {
    const old = this.#opKind.length;
    const n = old * 2;
    const grow = <T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a as never);
      return b;
    };
    this.#opKind = grow(this.#opKind, (k) => new Uint8Array(k));
    this.#opFd = grow(this.#opFd, (k) => new Int32Array(k));
    this.#opLen = grow(this.#opLen, (k) => new Int32Array(k));
    this.#opToken = grow(this.#opToken, (k) => new Uint32Array(k));
    this.#opNext = grow(this.#opNext, (k) => new Int32Array(k));
    this.#deadline = grow(this.#deadline, (k) => new Float64Array(k));
    this.#heap = grow(this.#heap, (k) => new Int32Array(k));
    this.#heapPos = grow(this.#heapPos, (k) => new Int32Array(k));
    this.#opLen2 = grow(this.#opLen2, (k) => new Int32Array(k));
    for (let i = old; i < n; i++) {
      this.#opBuf.push(0n);
      this.#opBuf2.push(0n);
    }
    this.#chainFree(old, n);
  }

  #growFds(fd: number): void {
    const n = Math.max(fd + 1, this.#rHead.length * 2, 256);
    const grow = (a: Int32Array) => {
      const b = new Int32Array(n).fill(NONE);
      b.set(a);
      return b;
    };
    this.#rHead = grow(this.#rHead);
    this.#rTail = grow(this.#rTail);
    this.#wHead = grow(this.#wHead);
    this.#wTail = grow(this.#wTail);
    const r = new Uint8Array(n);
    r.set(this.#registered);
    this.#registered = r;
  }

  #growCq(): void {
    const old = this.#cqTokens.length;
    const t = new Uint32Array(old * 2);
    const r = new Int32Array(old * 2);
    const b = new Uint32Array(old * 2);
    for (let k = 0; k < this.#cqLen; k++) {
      const i = (this.#cqHead + k) & (old - 1);
      t[k] = this.#cqTokens[i];
      r[k] = this.#cqResults[i];
      b[k] = this.#cqBufs[i];
    }
    this.#cqTokens = t;
    this.#cqResults = r;
    this.#cqBufs = b;
    this.#cqHead = 0;
  }

  // --- timers

  /** Completes expired timers; true if there were any. */
  #fireTimers(now: number): boolean {
    let fired = false;
    while (this.#heapLen > 0 && this.#deadline[this.#heap[0]] <= now) {
      const slot = this.#heap[0];
      this.#heapRemove(0);
      this.#finish(slot, E.ETIME);
      fired = true;
    }
    return fired;
  }

  #heapPush(slot: number): void {
    const i = this.#heapLen++;
    this.#siftUp(i, slot);
  }

  #heapRemove(i: number): void {
    const last = this.#heap[--this.#heapLen];
    if (i === this.#heapLen) return;
    const d = this.#deadline[last];
    if (i > 0 && this.#deadline[this.#heap[(i - 1) >> 1]] > d) this.#siftUp(i, last);
    else this.#siftDown(i, last);
  }

  #siftUp(i: number, slot: number): void {
    const heap = this.#heap;
    const d = this.#deadline[slot];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.#deadline[heap[p]] <= d) break;
      heap[i] = heap[p];
      this.#heapPos[heap[i]] = i;
      i = p;
    }
    heap[i] = slot;
    this.#heapPos[slot] = i;
  }

  #siftDown(i: number, slot: number): void {
    const heap = this.#heap;
    const dl = this.#deadline;
    const d = dl[slot];
    const n = this.#heapLen;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && dl[heap[child + 1]] < dl[heap[child]]) child++;
      if (dl[heap[child]] >= d) break;
      heap[i] = heap[child];
      this.#heapPos[heap[i]] = i;
      i = child;
    }
    heap[i] = slot;
    this.#heapPos[slot] = i;
  }
}
