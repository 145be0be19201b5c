// The io_uring completion port: raw io_uring_setup/io_uring_enter and the mmap'ed rings,
// one ring per thread. One io_uring_enter per loop turn both submits and waits.
//
// Two things liburing leaves to its caller are handled here. A full submission queue: prep*
// cannot fail, so an entry that finds no room (the kernel would not take more: io_uring_enter
// said EBUSY while its completion queue overflows) waits in order in a JS-side backlog and
// moves into the ring when there is room; nothing in the ring is overwritten before the kernel
// consumed it. A signal: io_uring_enter returns EINTR, and so does submitAndWait (early, with
// nothing ready), as liburing does: restarting the whole wait would let signals every few ms
// (a profiler's SIGPROF) postpone it forever; the loop waits again for the time it has left.
import koffi from 'koffi';
import * as c from '../../../native/libc';
import * as u from '../../../native/io_uring';
import * as sock from './posix_sockets';
import { CompletionPort, PortError, SockAddr } from './types';

const ACCEPT_FLAGS = c.SOCK_NONBLOCK | c.SOCK_CLOEXEC;

export interface IoUringOptions {
  entries?: number;
}

/** A submission that found the queue full, kept until it fits. */
interface Deferred {
  opcode: number;
  fd: number;
  addr: bigint;
  len: number;
  off: bigint;
  opFlags: number;
  token: number;
  /** TIMEOUT: its duration, ns (the timespec is written when the entry is placed). */
  timeoutNs: number;
}

const enum Entered {
  Ok,
  /** A signal interrupted the wait. */
  Interrupted,
  /** The kernel took nothing: its completion queue overflows (EBUSY) or it is short of memory (EAGAIN). */
  Busy,
}

export class IoUringPort extends sock.PosixSocketSetup implements CompletionPort {
  readonly backend = 'io_uring' as const;
  readonly waitResolutionMs = 0;
  readonly ringFd: number;
  /** Waits a signal cut short (EINTR). */
  interrupts = 0;
  /** Entries that had to wait in the backlog because the submission queue was full. */
  deferred = 0;

  #sqRing: Uint32Array;
  #sqHead: number;
  #sqTail: number;
  #sqMask: number;
  #sqEntries: number;
  #sqes32: Uint32Array;
  #sqes64: BigUint64Array;
  #cqRing: Uint32Array;
  #cqHead: number;
  #cqTail: number;
  #cqMask: number;
  #cqes32: Int32Array;
  #cqesIndex: number; // u32 index of cqes[0] inside #cqRing

  #tail: number; // our local SQ tail, published on submit
  #deferTaskrun = false;
  #backlog: Deferred[] = [];
  #backlogHead = 0;
  #maps: Array<[bigint, number]> = [];
  #arg: bigint; // io_uring_getevents_arg + timespec, in native memory
  #argView: BigInt64Array;
  #timespecs: bigint; // one timespec per SQ slot for TIMEOUT ops (copied by the kernel at submit)
  #timespecView: BigInt64Array;

  constructor(opts: IoUringOptions = {}) {
    super();
    const entries = opts.entries ?? 4096;
    const params = new Uint8Array(u.PARAMS_SIZE);
    const pv = new DataView(params.buffer);
    const base = u.IORING_SETUP_CQSIZE | u.IORING_SETUP_CLAMP;
    // Completions are normally delivered by interrupting the thread (a reschedule IPI and a trip
    // through the signal path) even while it is busy in JS: under load that cost a third of the
    // server's CPU. DEFER_TASKRUN (6.1+) runs that work only inside our io_uring_enter, where we
    // wait anyway; COOP_TASKRUN (5.19+) at least stops the interrupts. Older kernels get neither.
    const attempts = [
      base | u.IORING_SETUP_SUBMIT_ALL | u.IORING_SETUP_COOP_TASKRUN | u.IORING_SETUP_SINGLE_ISSUER | u.IORING_SETUP_DEFER_TASKRUN,
      base | u.IORING_SETUP_COOP_TASKRUN,
      base,
    ];
    let fd = -1;
    let errno = 0;
    for (const flags of attempts) {
      params.fill(0);
      pv.setUint32(u.P_FLAGS, flags, true);
      pv.setUint32(u.P_CQ_ENTRIES, entries * 4, true);
      fd = Number(c.libc.syscall_io_uring_setup(c.SYS_io_uring_setup, entries, params));
      if (fd >= 0) {
        this.#deferTaskrun = (flags & u.IORING_SETUP_DEFER_TASKRUN) !== 0;
        break;
      }
      errno = c.lastErrno();
      if (errno !== c.errno.EINVAL) break;
    }
    if (fd < 0) throw new PortError(`io_uring_setup: ${c.errnoMessage(errno)}`, -errno);
    this.ringFd = fd;
    const features = pv.getUint32(u.P_FEATURES, true);
    if (!(features & u.IORING_FEAT_EXT_ARG) || !(features & u.IORING_FEAT_SINGLE_MMAP) || !(features & u.IORING_FEAT_NODROP)) {
      c.libc.close(fd);
      throw new PortError('io_uring: kernel lacks EXT_ARG/SINGLE_MMAP/NODROP (Linux 5.11+ needed)', -95);
    }
    const sqEntries = pv.getUint32(u.P_SQ_ENTRIES, true);
    const cqEntries = pv.getUint32(u.P_CQ_ENTRIES, true);
    const sqo = (k: number) => pv.getUint32(u.P_SQ_OFF + k, true);
    const cqo = (k: number) => pv.getUint32(u.P_CQ_OFF + k, true);
    const ringSize = Math.max(sqo(u.SQO_ARRAY) + sqEntries * 4, cqo(u.CQO_CQES) + cqEntries * u.CQE_SIZE);
    const ring = this.#map(ringSize, u.IORING_OFF_SQ_RING);
    const sqesSize = sqEntries * u.SQE_SIZE;
    const sqes = this.#map(sqesSize, u.IORING_OFF_SQES);

    const ringAb = koffi.view(ring, ringSize);
    this.#sqRing = new Uint32Array(ringAb);
    this.#cqRing = this.#sqRing;
    this.#sqHead = sqo(u.SQO_HEAD) >> 2;
    this.#sqTail = sqo(u.SQO_TAIL) >> 2;
    this.#sqMask = this.#sqRing[sqo(u.SQO_RING_MASK) >> 2];
    this.#sqEntries = sqEntries;
    this.#cqHead = cqo(u.CQO_HEAD) >> 2;
    this.#cqTail = cqo(u.CQO_TAIL) >> 2;
    this.#cqMask = this.#cqRing[cqo(u.CQO_RING_MASK) >> 2];
    this.#cqesIndex = cqo(u.CQO_CQES) >> 2;
    this.#cqes32 = new Int32Array(ringAb);
    // The SQ index array maps ring slots to SQEs; we use the identity mapping once and for all.
    const arr = sqo(u.SQO_ARRAY) >> 2;
    for (let i = 0; i < sqEntries; i++) this.#sqRing[arr + i] = i;
    const sqesAb = koffi.view(sqes, sqesSize);
    this.#sqes32 = new Uint32Array(sqesAb);
    this.#sqes64 = new BigUint64Array(sqesAb);
    this.#tail = this.#sqRing[this.#sqTail];

    this.#arg = c.libc.calloc(1, u.GETEVENTS_ARG_SIZE + u.TIMESPEC_SIZE) as bigint;
    this.#argView = new BigInt64Array(koffi.view(this.#arg, u.GETEVENTS_ARG_SIZE + u.TIMESPEC_SIZE));
    this.#argView[2] = this.#arg + BigInt(u.GETEVENTS_ARG_SIZE); // arg.ts -> the timespec after it
    this.#timespecs = c.libc.calloc(sqEntries, u.TIMESPEC_SIZE) as bigint;
    this.#timespecView = new BigInt64Array(koffi.view(this.#timespecs, sqEntries * u.TIMESPEC_SIZE));
  }

  #map(size: number, off: number): bigint {
    const p = c.libc.mmap(null, size, c.PROT_READ | c.PROT_WRITE, c.MAP_SHARED | c.MAP_POPULATE, this.ringFd, off) as bigint;
    if (p === c.MAP_FAILED || p === null) {
      const e = c.lastErrno();
      throw new PortError(`io_uring mmap: ${c.errnoMessage(e)}`, -e);
    }
    this.#maps.push([p, size]);
    return p;
  }

  /** Which of our opcodes this kernel supports (IORING_REGISTER_PROBE). */
  unsupportedOps(): string[] {
    const n = 256;
    const size = u.PROBE_HEADER_SIZE + n * u.PROBE_OP_SIZE;
    const buf = new Uint8Array(size);
    const r = Number(c.libc.syscall_io_uring_register(c.SYS_io_uring_register, this.ringFd, u.IORING_REGISTER_PROBE, buf, n));
    if (r < 0) return ['probe'];
    const lastOp = buf[0];
    const needed: Record<string, number> = {
      accept: u.IORING_OP_ACCEPT,
      connect: u.IORING_OP_CONNECT,
      recv: u.IORING_OP_RECV,
      send: u.IORING_OP_SEND,
      close: u.IORING_OP_CLOSE,
      timeout: u.IORING_OP_TIMEOUT,
      cancel: u.IORING_OP_ASYNC_CANCEL,
    };
    const missing: string[] = [];
    for (const [name, op] of Object.entries(needed)) {
      const flags = buf[u.PROBE_HEADER_SIZE + op * u.PROBE_OP_SIZE + 2] | (buf[u.PROBE_HEADER_SIZE + op * u.PROBE_OP_SIZE + 3] << 8);
      if (op > lastOp || !(flags & u.IO_URING_OP_SUPPORTED)) missing.push(name);
    }
    return missing;
  }

  // --- submission
  #sqFull(): boolean {
    return ((this.#tail - Atomics.load(this.#sqRing, this.#sqHead)) >>> 0) >= this.#sqEntries;
  }

  /** Queues one submission: into the ring if it has room (after submitting what is there), else into the backlog. */
  #sqe(opcode: number, fd: number, addr: bigint, len: number, off: bigint, opFlags: number, token: number, timeoutNs = -1): void {
    if (this.#backlog.length === 0) {
      if (this.#sqFull()) this.#enter(0, 0);
      if (!this.#sqFull()) return this.#place(opcode, fd, addr, len, off, opFlags, token, timeoutNs);
    }
    // Order is kept: once anything waits in the backlog, later entries queue behind it.
    this.deferred++;
    this.#backlog.push({ opcode, fd, addr, len, off, opFlags, token, timeoutNs });
  }

  /** Fills the SQE at the tail (there is room) and every field of it: SQEs are reused, so nothing may be left over. */
  #place(opcode: number, fd: number, addr: bigint, len: number, off: bigint, opFlags: number, token: number, timeoutNs: number): void {
    const idx = this.#tail & this.#sqMask;
    if (timeoutNs >= 0) {
      // One timespec per SQ slot: the kernel copies it when it consumes this SQE, and the slot
      // (so its timespec) is only reused after that.
      this.#timespecView[idx * 2] = BigInt(Math.floor(timeoutNs / 1e9));
      this.#timespecView[idx * 2 + 1] = BigInt(timeoutNs % 1e9);
      addr = this.#timespecs + BigInt(idx * u.TIMESPEC_SIZE);
    }
    const b = idx << 4; // 64-byte SQE = 16 u32
    const s = this.#sqes32;
    s[b] = opcode; // flags = 0, ioprio = 0
    s[b + 1] = fd;
    const b64 = idx << 3;
    this.#sqes64[b64 + 1] = off;
    this.#sqes64[b64 + 2] = addr;
    s[b + 6] = len;
    s[b + 7] = opFlags;
    s[b + 8] = token;
    s[b + 9] = 0;
    s[b + 10] = 0;
    s[b + 11] = 0;
    s[b + 12] = 0;
    s[b + 13] = 0;
    s[b + 14] = 0;
    s[b + 15] = 0;
    this.#tail = (this.#tail + 1) >>> 0;
  }

  /** Moves backlog entries into the ring while it has room; true when the backlog is empty. */
  #refill(): boolean {
    const q = this.#backlog;
    while (this.#backlogHead < q.length && !this.#sqFull()) {
      const d = q[this.#backlogHead++];
      this.#place(d.opcode, d.fd, d.addr, d.len, d.off, d.opFlags, d.token, d.timeoutNs);
    }
    if (this.#backlogHead < q.length) return false;
    this.#backlog = [];
    this.#backlogHead = 0;
    return true;
  }

  /** Entries waiting for room in the submission queue. */
  get backlog(): number {
    return this.#backlog.length - this.#backlogHead;
  }

  prepAccept(listenFd: number, token: number): void {
    this.#sqe(u.IORING_OP_ACCEPT, listenFd, 0n, 0, 0n, ACCEPT_FLAGS, token);
  }
  prepConnect(fd: number, addr: SockAddr, token: number): void {
    this.#sqe(u.IORING_OP_CONNECT, fd, addr.ptr, 0, BigInt(addr.len), 0, token);
  }
  prepRecv(fd: number, buf: bigint, len: number, token: number): void {
    this.#sqe(u.IORING_OP_RECV, fd, buf, len, 0n, 0, token);
  }
  prepSend(fd: number, buf: bigint, len: number, token: number): void {
    this.#sqe(u.IORING_OP_SEND, fd, buf, len, 0n, c.MSG_NOSIGNAL, token);
  }
  prepClose(fd: number, token: number): void {
    this.#sqe(u.IORING_OP_CLOSE, fd, 0n, 0, 0n, 0, token);
  }
  prepTimeout(ms: number, token: number): void {
    this.#sqe(u.IORING_OP_TIMEOUT, -1, 0n, 1, 0n, 0, token, Math.max(0, Math.round(ms * 1e6)));
  }
  prepCancel(target: number, token: number): void {
    this.#sqe(u.IORING_OP_ASYNC_CANCEL, -1, BigInt(target >>> 0), 0, 0n, 0, token);
  }

  submitAndWait(minComplete: number, timeoutMs: number): void {
    // A backlog goes in first, in order, as fast as the kernel takes it; if it pushes back, the
    // caller must reap before anything else can happen: return without waiting.
    while (!this.#refill()) {
      const before = this.backlog;
      if (this.#enter(0, 0) !== Entered.Ok) return;
      if (!this.#refill() && this.backlog === before) return;
    }
    // Completions already waiting: just submit.
    const ready = (Atomics.load(this.#cqRing, this.#cqTail) - this.#cqRing[this.#cqHead]) >>> 0;
    if (ready >= minComplete || timeoutMs === 0) minComplete = 0;
    this.#enter(minComplete, timeoutMs);
  }

  #enter(minComplete: number, timeoutMs: number): Entered {
    Atomics.store(this.#sqRing, this.#sqTail, this.#tail);
    const toSubmit = (this.#tail - Atomics.load(this.#sqRing, this.#sqHead)) >>> 0;
    // With DEFER_TASKRUN, completions only reach the CQ ring inside an enter with GETEVENTS.
    let flags = minComplete > 0 || this.#deferTaskrun ? u.IORING_ENTER_GETEVENTS : 0;
    let arg: bigint | null = null;
    let argSize = 0;
    if (minComplete > 0 && timeoutMs >= 0) {
      flags |= u.IORING_ENTER_EXT_ARG;
      // Nanoseconds, not whole milliseconds: an open-loop start due in 0.3 ms must not wait 1 ms.
      const ns = Math.round(timeoutMs * 1e6);
      this.#argView[3] = BigInt(Math.floor(ns / 1e9));
      this.#argView[4] = BigInt(ns % 1e9);
      arg = this.#arg;
      argSize = u.GETEVENTS_ARG_SIZE;
    }
    const r = Number(c.libc.syscall_io_uring_enter(c.SYS_io_uring_enter, this.ringFd, toSubmit, minComplete, flags, arg, argSize));
    if (r >= 0) return Entered.Ok;
    const e = c.lastErrno();
    if (e === c.errno.ETIME) return Entered.Ok;
    if (e === c.errno.EINTR) {
      this.interrupts++;
      return Entered.Interrupted;
    }
    if (e === c.errno.EBUSY || e === c.errno.EAGAIN) return Entered.Busy;
    throw new PortError(`io_uring_enter: ${c.errnoMessage(e)}`, -e);
  }

  reap(tokens: Uint32Array, results: Int32Array): number {
    const ring = this.#cqRing;
    let head = ring[this.#cqHead];
    const tail = Atomics.load(ring, this.#cqTail);
    const max = tokens.length;
    const cqes = this.#cqes32;
    const base = this.#cqesIndex;
    const mask = this.#cqMask;
    let n = 0;
    while (head !== tail && n < max) {
      const i = base + ((head & mask) << 2); // 16-byte CQE = 4 u32
      tokens[n] = cqes[i] >>> 0;
      results[n] = cqes[i + 2];
      n++;
      head = (head + 1) >>> 0;
    }
    Atomics.store(ring, this.#cqHead, head);
    return n;
  }

  close(): void {
    for (const [p, size] of this.#maps) c.libc.munmap(p, size);
    this.#maps = [];
    c.libc.free(this.#arg);
    c.libc.free(this.#timespecs);
    c.libc.close(this.ringFd);
  }
}
