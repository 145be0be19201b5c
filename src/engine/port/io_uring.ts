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
//
// Receives that pin nothing while they wait (prepRecvSelect) use a provided buffer ring
// (IORING_REGISTER_PBUF_RING, Linux 5.19+): the kernel takes a buffer from the ring only when
// data arrives and names it in the CQE. The ring holds a small population of buffers from the
// port's arena, grown when a receive found it empty (ENOBUFS: the receive is resubmitted, its
// data waits in the socket) and shrunk when load drops. A buffer the caller releases goes back
// into the ring, or to the arena if the ring is above its target. Kernels without buffer rings
// get the fallback: a buffer from the arena for each receive in flight, named in the upper half
// of its user_data.
import * as c from '../../../native/libc';
import * as u from '../../../native/io_uring';
import { PAGE_SIZE, nativeMemory, pageAlloc, pageDiscard, pageFree } from '../../../native/memory';
import * as sock from './posix_sockets';
import { RECV_BUFFER_SIZE } from './recv_arena';
import { CompletionPort, E, NO_BUFFER, PortError, PortMemory, RecvMode, SockAddr } from './types';

const ACCEPT_FLAGS = c.SOCK_NONBLOCK | c.SOCK_CLOEXEC;

/** Provided buffer ring: its entries (the most buffers it can hold), the population it starts with and shrinks back to. */
const RING_ENTRIES = 1024;
const RING_MIN = 16;
const BUFFER_GROUP = 0;
/** What the upper half of a user_data says about its operation. */
const HI_SELECT = 0x80000000; // a prepRecvSelect: the low 30 bits are its fd (ring) or its buffer (fallback)
const HI_SENDMSG = 0x40000000; // a prepSendv: the low 30 bits are its msghdr slot
const HI_MASK = 0x3fffffff;
/** msghdr + two iovecs per prepSendv in flight. */
const MSG_SLOT = 128;
const MSG_IOV = 64;

export interface IoUringOptions {
  entries?: number;
  /** Use a provided buffer ring where the kernel has one (default: yes, unless IOCPTLS_PBUF=0); false: the per-receive pool. */
  providedBuffers?: boolean;
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
  hi: number;
  sqeFlags: number;
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

  // Receive buffers: the arena, and the provided buffer ring when the kernel has one.
  readonly recvMode: RecvMode;
  #ring = 0n; // struct io_uring_buf[RING_ENTRIES], page-aligned
  #ring64: BigUint64Array | undefined;
  #ring32: Uint32Array | undefined;
  #ring16: Uint16Array | undefined;
  #ringTail = 0; // our tail, published before each enter
  #ringPublished = 0;
  /** Buffers in the ring (not yet taken by the kernel), by arena id. */
  #inRing = new Set<number>();
  #ringTarget = RING_MIN;
  #ringRetries = 0;
  #retriesSinceTrim = 0;
  #ringShort = false;
  /** A discard found a completion waiting in the CQ with a buffer: the ring is shrunk at the next trim that finds none. */
  #shrinkDue = false;
  /** token -> upper half of its user_data, for operations in flight that have one (what a cancel must match). */
  #hiOf = new Map<number, number>();
  /** fd -> maxLen of its select receive, for resubmitting one that found the ring empty. */
  #selectLen = new Int32Array(0);
  // msghdr slots of prepSendv operations in flight.
  #msgRegions: bigint[] = [];
  #msg64: BigUint64Array[] = [];
  #msgFree: number[] = [];

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

    const ringAb = nativeMemory(ring, ringSize);
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
    const sqesAb = nativeMemory(sqes, sqesSize);
    this.#sqes32 = new Uint32Array(sqesAb);
    this.#sqes64 = new BigUint64Array(sqesAb);
    this.#tail = this.#sqRing[this.#sqTail];

    this.#arg = c.libc.calloc(1, u.GETEVENTS_ARG_SIZE + u.TIMESPEC_SIZE) as bigint;
    this.#argView = new BigInt64Array(nativeMemory(this.#arg, u.GETEVENTS_ARG_SIZE + u.TIMESPEC_SIZE));
    this.#argView[2] = this.#arg + BigInt(u.GETEVENTS_ARG_SIZE); // arg.ts -> the timespec after it
    this.#timespecs = c.libc.calloc(sqEntries, u.TIMESPEC_SIZE) as bigint;
    this.#timespecView = new BigInt64Array(nativeMemory(this.#timespecs, sqEntries * u.TIMESPEC_SIZE));
    const wantRing = opts.providedBuffers ?? process.env.IOCPTLS_PBUF !== '0';
    this.recvMode = wantRing && this.#registerRing() ? 'provided' : 'pool';
  }

  // --- the provided buffer ring

  /** Registers the (empty) ring and fills it to its target; false where the kernel has no buffer rings. */
  #registerRing(): boolean {
    const bytes = RING_ENTRIES * u.BUF_SIZE;
    if (this.#ring === 0n) {
      this.#ring = pageAlloc(Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE);
      const ab = nativeMemory(this.#ring, bytes);
      this.#ring64 = new BigUint64Array(ab);
      this.#ring32 = new Uint32Array(ab);
      this.#ring16 = new Uint16Array(ab);
    }
    this.#ring16![u.BUF_RING_TAIL >> 1] = 0;
    this.#ringTail = this.#ringPublished = 0;
    const reg = new BigUint64Array(u.BUF_REG_SIZE / 8);
    reg[0] = this.#ring;
    const r32 = new Uint32Array(reg.buffer);
    r32[u.BUF_REG_ENTRIES >> 2] = RING_ENTRIES;
    r32[u.BUF_REG_BGID >> 2] = BUFFER_GROUP; // bgid u16, flags u16 = 0
    const r = Number(c.libc.syscall_io_uring_register(c.SYS_io_uring_register, this.ringFd, u.IORING_REGISTER_PBUF_RING, reg, 1));
    if (r < 0) return false;
    this.#fillRing();
    return true;
  }

  /** Adds arena buffers until the ring holds its target. */
  #fillRing(): void {
    while (this.#inRing.size < this.#ringTarget) this.#ringAdd(this.arena.take());
  }

  #ringAdd(id: number): void {
    const i = (this.#ringTail & (RING_ENTRIES - 1)) * (u.BUF_SIZE >> 2); // u32 index of the entry
    this.#ring64![i >> 1] = this.arena.address(id);
    this.#ring32![i + (u.BUF_LEN >> 2)] = RECV_BUFFER_SIZE;
    this.#ring16![(i << 1) + (u.BUF_BID >> 1)] = id; // bid; resv (or the tail, in entry 0) untouched
    this.#ringTail = (this.#ringTail + 1) & 0xffff;
    this.#inRing.add(id);
  }

  /** Makes buffers added since the last enter visible to the kernel (the tail store orders the entries before it). */
  #publishRing(): void {
    if (this.#ringTail === this.#ringPublished) return;
    Atomics.store(this.#ring16!, u.BUF_RING_TAIL >> 1, this.#ringTail);
    this.#ringPublished = this.#ringTail;
  }

  /**
   * Gives back what the ring holds beyond its target, and the pages of what it keeps:
   * unregistering takes every buffer out of the kernel's reach at once (selection happens under
   * the ring's lock), then a fresh ring is registered at the target. Only with DEFER_TASKRUN and
   * no completion waiting that took a buffer: with DEFER_TASKRUN completions post only when we
   * enter, so every buffer taken from the ring is named by a completion we reaped or by one
   * waiting in the CQ; none waiting, what our books say is in the ring is, and nothing runs in
   * between. (Completions without a buffer, a close or a timeout, may wait: an upkeep met one
   * often enough that requiring an empty CQ left a grown ring in place for seconds.) Returns
   * false when a waiting completion took a buffer (try again later), true otherwise.
   */
  #shrinkRing(): boolean {
    if (!this.#deferTaskrun) return true;
    if (this.#waitingCompletionTookBuffer()) return false;
    const reg = new BigUint64Array(u.BUF_REG_SIZE / 8);
    new Uint32Array(reg.buffer)[u.BUF_REG_BGID >> 2] = BUFFER_GROUP;
    if (Number(c.libc.syscall_io_uring_register(c.SYS_io_uring_register, this.ringFd, u.IORING_UNREGISTER_PBUF_RING, reg, 1)) < 0) return true;
    for (const id of this.#inRing) {
      pageDiscard(this.arena.address(id), RECV_BUFFER_SIZE);
      this.arena.give(id);
    }
    this.#inRing.clear();
    if (!this.#registerRing()) throw new PortError('io_uring: provided buffer ring could not be registered again', E.ENOMEM);
    return true;
  }

  #waitingCompletionTookBuffer(): boolean {
    const tail = Atomics.load(this.#cqRing, this.#cqTail);
    for (let head = this.#cqRing[this.#cqHead]; head !== tail; head = (head + 1) >>> 0) {
      if (this.#cqes32[this.#cqesIndex + ((head & this.#cqMask) << 2) + 3] & u.IORING_CQE_F_BUFFER) return true;
    }
    return false;
  }

  override releaseRecvBuffer(id: number): void {
    if (this.recvMode === 'provided' && this.#inRing.size < this.#ringTarget) this.#ringAdd(id);
    else super.releaseRecvBuffer(id);
  }

  override memory(): PortMemory {
    const m = super.memory();
    if (this.recvMode === 'provided') m.ring = { buffers: this.#inRing.size, target: this.#ringTarget, retries: this.#ringRetries };
    return m;
  }

  override trim(discard: boolean): number {
    if (this.recvMode === 'provided') {
      // Load dropped (discard): back to the minimum whatever the last second's retries were, or a
      // ring grown by a wave that ended during one would keep its population with nobody left.
      // Otherwise halve while nothing found it empty, and give back what is far above the target.
      // A discard that met a completion still waiting with a buffer is carried to the next trim
      // rather than dropped: it would have left the grown ring in place until load came and went
      // again. "Far above" is twice the target, but at the minimum the target itself: halving
      // stops there, and a slack of twice would keep up to twice the minimum for good.
      if (discard) this.#ringTarget = RING_MIN;
      else if (this.#retriesSinceTrim === 0) this.#ringTarget = Math.max(RING_MIN, this.#ringTarget >> 1);
      this.#retriesSinceTrim = 0;
      const farAbove = this.#ringTarget === RING_MIN ? RING_MIN : 2 * this.#ringTarget;
      if (discard || this.#shrinkDue || this.#inRing.size > farAbove) this.#shrinkDue = !this.#shrinkRing();
    }
    return super.trim(discard);
  }

  // --- prepSendv's msghdr slots

  #msgSlot(): number {
    if (this.#msgFree.length === 0) {
      const per = 65536 / MSG_SLOT;
      const base = this.#msgRegions.length * per;
      const p = pageAlloc(65536);
      this.#msgRegions.push(p);
      this.#msg64.push(new BigUint64Array(nativeMemory(p, 65536)));
      for (let i = per - 1; i >= 0; i--) this.#msgFree.push(base + i);
    }
    return this.#msgFree.pop()!;
  }

  #msgAddress(slot: number): bigint {
    return this.#msgRegions[slot >> 9] + BigInt((slot & 511) * MSG_SLOT);
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
      sendmsg: u.IORING_OP_SENDMSG,
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
  #sqe(opcode: number, fd: number, addr: bigint, len: number, off: bigint, opFlags: number, token: number, timeoutNs = -1, hi = 0, sqeFlags = 0): void {
    if (this.#backlog.length === 0) {
      if (this.#sqFull()) this.#enter(0, 0);
      if (!this.#sqFull()) return this.#place(opcode, fd, addr, len, off, opFlags, token, timeoutNs, hi, sqeFlags);
    }
    // Order is kept: once anything waits in the backlog, later entries queue behind it.
    this.deferred++;
    this.#backlog.push({ opcode, fd, addr, len, off, opFlags, token, timeoutNs, hi, sqeFlags });
  }

  /** Fills the SQE at the tail (there is room) and every field of it: SQEs are reused, so nothing may be left over. */
  #place(opcode: number, fd: number, addr: bigint, len: number, off: bigint, opFlags: number, token: number, timeoutNs: number, hi: number, sqeFlags: number): void {
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
    s[b] = opcode | (sqeFlags << 8); // ioprio = 0
    s[b + 1] = fd;
    const b64 = idx << 3;
    this.#sqes64[b64 + 1] = off;
    this.#sqes64[b64 + 2] = addr;
    s[b + 6] = len;
    s[b + 7] = opFlags;
    s[b + 8] = token;
    s[b + 9] = hi; // user_data's upper half: what reap needs to know beyond the token
    s[b + 10] = sqeFlags & u.IOSQE_BUFFER_SELECT ? BUFFER_GROUP : 0; // buf_group; personality 0
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
      this.#place(d.opcode, d.fd, d.addr, d.len, d.off, d.opFlags, d.token, d.timeoutNs, d.hi, d.sqeFlags);
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
  prepRecvSelect(fd: number, maxLen: number, token: number): void {
    const len = Math.min(maxLen, RECV_BUFFER_SIZE);
    if (this.recvMode === 'pool') {
      const id = this.arena.take();
      this.#hiOf.set(token >>> 0, (HI_SELECT | id) >>> 0);
      return this.#sqe(u.IORING_OP_RECV, fd, this.arena.address(id), len, 0n, 0, token, -1, HI_SELECT | id);
    }
    if (fd >= this.#selectLen.length) {
      const grown = new Int32Array(Math.max(fd + 1, this.#selectLen.length * 2, 1024));
      grown.set(this.#selectLen);
      this.#selectLen = grown;
    }
    this.#selectLen[fd] = len;
    this.#hiOf.set(token >>> 0, (HI_SELECT | fd) >>> 0);
    this.#sqe(u.IORING_OP_RECV, fd, 0n, len, 0n, 0, token, -1, HI_SELECT | fd, u.IOSQE_BUFFER_SELECT);
  }
  prepSend(fd: number, buf: bigint, len: number, token: number): void {
    this.#sqe(u.IORING_OP_SEND, fd, buf, len, 0n, c.MSG_NOSIGNAL, token);
  }
  prepSendv(fd: number, buf1: bigint, len1: number, buf2: bigint, len2: number, token: number): void {
    const slot = this.#msgSlot();
    const v = this.#msg64[slot >> 9];
    const b = (slot & 511) * (MSG_SLOT / 8);
    const msg = this.#msgAddress(slot);
    v.fill(0n, b, b + MSG_SLOT / 8);
    v[b + (c.MSGHDR_IOV >> 3)] = msg + BigInt(MSG_IOV);
    v[b + (c.MSGHDR_IOVLEN >> 3)] = 2n;
    v[b + (MSG_IOV >> 3)] = buf1;
    v[b + (MSG_IOV >> 3) + 1] = BigInt(len1);
    v[b + (MSG_IOV >> 3) + 2] = buf2;
    v[b + (MSG_IOV >> 3) + 3] = BigInt(len2);
    this.#hiOf.set(token >>> 0, (HI_SENDMSG | slot) >>> 0);
    this.#sqe(u.IORING_OP_SENDMSG, fd, msg, 1, 0n, c.MSG_NOSIGNAL, token, -1, HI_SENDMSG | slot);
  }
  prepClose(fd: number, token: number): void {
    this.#sqe(u.IORING_OP_CLOSE, fd, 0n, 0, 0n, 0, token);
  }
  prepTimeout(ms: number, token: number): void {
    this.#sqe(u.IORING_OP_TIMEOUT, -1, 0n, 1, 0n, 0, token, Math.max(0, Math.round(ms * 1e6)));
  }
  prepCancel(target: number, token: number): void {
    // The kernel matches the whole 64-bit user_data: the target's upper half too.
    const hi = this.#hiOf.get(target >>> 0) ?? 0;
    this.#sqe(u.IORING_OP_ASYNC_CANCEL, -1, (BigInt(hi) << 32n) | BigInt(target >>> 0), 0, 0n, 0, token);
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
    if (this.#ring16) this.#publishRing();
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

  reap(tokens: Uint32Array, results: Int32Array, buffers: Uint32Array): number {
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
      head = (head + 1) >>> 0;
      const hi = cqes[i + 1];
      const res = cqes[i + 2];
      let buffer = NO_BUFFER;
      if (hi !== 0) {
        const retry = hi & HI_SELECT && this.recvMode === 'provided' && res === E.ENOBUFS && !(cqes[i + 3] & u.IORING_CQE_F_BUFFER);
        if (!retry) this.#hiOf.delete(cqes[i] >>> 0);
        if (hi & HI_SELECT) {
          if (this.recvMode === 'pool') {
            buffer = hi & HI_MASK;
          } else if (cqes[i + 3] & u.IORING_CQE_F_BUFFER) {
            buffer = cqes[i + 3] >>> u.IORING_CQE_BUFFER_SHIFT;
            this.#inRing.delete(buffer);
          } else if (retry) {
            // The ring ran dry: the data waits in the socket; ask again (the ring grows after this batch).
            const fd = hi & HI_MASK;
            this.#ringRetries++;
            this.#retriesSinceTrim++;
            this.#ringShort = true;
            this.#sqe(u.IORING_OP_RECV, fd, 0n, this.#selectLen[fd], 0n, 0, cqes[i], -1, HI_SELECT | fd, u.IOSQE_BUFFER_SELECT);
            continue;
          }
          // EOF and errors carry no data: their buffer (if one was taken) goes straight back.
          if (res <= 0 && buffer !== NO_BUFFER) {
            this.releaseRecvBuffer(buffer);
            buffer = NO_BUFFER;
          }
        } else if (hi & HI_SENDMSG) {
          this.#msgFree.push(hi & HI_MASK);
        }
      }
      tokens[n] = cqes[i] >>> 0;
      results[n] = res;
      buffers[n] = buffer;
      n++;
    }
    Atomics.store(ring, this.#cqHead, head);
    if (this.#ringShort) {
      this.#ringShort = false;
      this.#ringTarget = Math.min(RING_ENTRIES, this.#ringTarget * 2);
      this.#fillRing();
    }
    return n;
  }

  close(): number {
    if (this.recvMode === 'provided') {
      const reg = new BigUint64Array(u.BUF_REG_SIZE / 8);
      c.libc.syscall_io_uring_register(c.SYS_io_uring_register, this.ringFd, u.IORING_UNREGISTER_PBUF_RING, reg, 1);
    }
    // Closing the ring fd ends every operation: after it the kernel writes nowhere of ours.
    // (The ring is torn down asynchronously, but buffers of operations still in flight were
    // counted as leaked by the caller's books, not here: our buffers in the ring are unreachable
    // once unregistered.)
    for (const [p, size] of this.#maps) c.libc.munmap(p, size);
    this.#maps = [];
    c.libc.free(this.#arg);
    c.libc.free(this.#timespecs);
    c.libc.close(this.ringFd);
    for (const id of this.#inRing) this.arena.give(id);
    this.#inRing.clear();
    const leaked = this.arena.destroy();
    if (this.#ring) pageFree(this.#ring, Math.ceil((RING_ENTRIES * u.BUF_SIZE) / PAGE_SIZE) * PAGE_SIZE);
    this.#ring = 0n;
    for (const p of this.#msgRegions) pageFree(p, 65536);
    this.#msgRegions = [];
    return leaked;
  }
}
