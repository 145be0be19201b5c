// The Windows I/O completion port: overlapped AcceptEx / ConnectEx / WSARecv / WSASend, drained
// in batches with GetQueuedCompletionStatusEx. Same semantics as IoUringPort: every prep* call
// completes exactly once with its token and a result (>= 0, or a negative Linux errno).
//
// Each in-flight operation owns a slot in a slab of native memory: its OVERLAPPED (which the
// kernel writes until the completion is dequeued, so slots never move) followed by the
// operation's WSABUF, flags and AcceptEx address buffer. A completion's lpOverlapped pointer
// gives the slot back; the slot's JS-side columns give the token, kind and socket.
//
// Operations are issued when prepared (IOCP has no submission queue to batch into). Results
// known without the port — calls that fail at once, calls that succeed at once on a socket in
// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS mode, cancels, closes, timers — go to a local ready
// queue that reap() drains along with what GetQueuedCompletionStatusEx dequeued.
//
// prepRecvSelect is the seed's zero-byte receive: an overlapped WSARecv of zero bytes pins no
// buffer while the connection is idle; once it completes (data, or EOF, is there), a non-blocking
// WSARecv reads into a buffer taken from the port's arena then, which the caller releases as soon
// as it copied the bytes out. Every socket is put in non-blocking mode for that read (as libuv
// does); overlapped operations are not affected by it.
import { nativeMemory } from '../../../native/memory';
import * as w from '../../../native/win32';
import { newTimer, Timer, TimerHeap } from '../timers';
import { RECV_BUFFER_SIZE, RecvArenaPort } from './recv_arena';
import * as sock from './win_sockets';
import { CompletionPort, E, NO_BUFFER, PortError, SockAddr } from './types';

const enum Kind {
  Free = 0,
  Accept = 1,
  Connect = 2,
  Recv = 3,
  Send = 4,
  /** prepRecvSelect: a zero-byte WSARecv waiting for data. */
  RecvZero = 5,
  /** prepRecvSelect after a zero-byte receive twice found nothing to read: an overlapped read into an arena buffer (aux holds it). */
  RecvPooled = 6,
}

// Slot layout, in bytes.
const SLOT_SIZE = 160;
const S_OV = 0; // OVERLAPPED (32)
const S_WSABUF = 32; // WSABUF (16)
const S_FLAGS = 48; // WSARecv flags, in/out (4)
const S_BYTES = 52; // AcceptEx lpdwBytesReceived; a non-blocking WSARecv's byte count (4)
const S_ADDRS = 56; // AcceptEx local + remote address (2 * 44)
const S_WSABUF2 = 56; // prepSendv: two WSABUFs (32), where a send has no addresses
const SLAB_SLOTS = 1024;
const SLAB_BYTES = SLAB_SLOTS * SLOT_SIZE;
const SLAB_BYTES_N = BigInt(SLAB_BYTES);

export interface IocpOptions {
  /** Completions dequeued per GetQueuedCompletionStatusEx call. */
  entries?: number;
  /**
   * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS on every socket: an operation that completes at once
   * is reported without a round trip through the port. On by default, as in libuv and .NET;
   * the one hazard, non-IFS Winsock LSPs, is gone from supported Windows versions. Off sends
   * every completion through GetQueuedCompletionStatusEx (both modes are tested).
   */
  skipOnSuccess?: boolean;
}

export class IocpPort extends RecvArenaPort implements CompletionPort {
  readonly backend = 'iocp' as const;
  /**
   * GetQueuedCompletionStatusEx takes whole milliseconds, and Windows offers no finer wait on a
   * completion port (a high-resolution waitable timer cannot be waited on together with one
   * without ntdll's NtAssociateWaitCompletionPacket, which Wine lacks). The port raises the
   * system timer resolution to 1 ms while it is open; the loop's precise timers poll for the
   * last stretch.
   */
  readonly waitResolutionMs = 1;
  readonly handle: bigint;
  #timerPeriod = false;
  readonly skipOnSuccess: boolean;

  #w = w.win32();
  #entries: number;
  #scratch: bigint; // OVERLAPPED_ENTRY[entries], then the removed count
  #entry64: BigUint64Array;
  #entry32: Uint32Array;
  #removed: bigint;

  // Op slots: native slabs plus JS columns indexed by slot number.
  #slabs: bigint[] = [];
  #slab64: BigUint64Array[] = [];
  #slab32: Uint32Array[] = [];
  #kind = new Uint8Array(0);
  #token = new Uint32Array(0);
  #sock = new Float64Array(0); // the socket the op was issued on
  #aux = new Float64Array(0); // AcceptEx: the pre-created socket; RecvPooled: its buffer
  /** prepRecvSelect: the most bytes to read. */
  #maxLen = new Int32Array(0);
  /** prepRecvSelect: zero-byte receives that completed at once but found nothing to read. */
  #empty = new Uint8Array(0);
  #free: number[] = [];
  #inFlight = 0;
  /** token → slot of an in-flight op, for prepCancel. */
  #byToken = new Map<number, number>();

  /** Family of every socket we created or accepted (AcceptEx needs it; ConnectEx is per provider). */
  #family = new Map<number, 4 | 6>();
  #acceptEx = new Map<4 | 6, w.AcceptExFn>();
  #connectEx = new Map<4 | 6, w.ConnectExFn>();

  // Ready queue: a power-of-two ring of (token, result).
  #readyTok = new Uint32Array(1024);
  #readyRes = new Int32Array(1024);
  #readyBuf = new Uint32Array(1024);

  readonly recvMode = 'zero-byte' as const;
  /** Zero-byte receives that completed but found nothing (the pooled read took over after the second). */
  emptyWakeups = 0;
  #readyHead = 0;
  #readyTail = 0;

  // Timeouts: the loop's own timer heap (engine/timers.ts), one timer per prepTimeout.
  #timers = new TimerHeap();
  #timerByToken = new Map<number, Timer>(); // token → its armed timeout (the newest)
  #woken = false;
  /** A timer fired during this submitAndWait: like io_uring, that ends the wait short of minComplete. */
  #timerFired = false;

  constructor(opts: IocpOptions = {}) {
    super();
    this.#entries = opts.entries ?? 512;
    this.skipOnSuccess = opts.skipOnSuccess ?? true;
    const port = this.#w.CreateIoCompletionPort(w.INVALID_HANDLE_VALUE, null, 0, 1) as bigint | null;
    if (!port) throw this.#lastError('CreateIoCompletionPort');
    this.handle = port;
    const scratchSize = this.#entries * w.OVERLAPPED_ENTRY_SIZE + 8;
    this.#scratch = this.#alloc(scratchSize);
    const ab = nativeMemory(this.#scratch, scratchSize);
    this.#entry64 = new BigUint64Array(ab);
    this.#entry32 = new Uint32Array(ab);
    this.#removed = this.#scratch + BigInt(this.#entries * w.OVERLAPPED_ENTRY_SIZE);
    this.#timerPeriod = this.#w.timeBeginPeriod(1) === 0;
  }

  #alloc(size: number): bigint {
    const p = this.#w.VirtualAlloc(null, size, w.MEM_COMMIT | w.MEM_RESERVE, w.PAGE_READWRITE) as bigint | null;
    if (!p) throw this.#lastError('VirtualAlloc');
    return p;
  }

  #lastError(what: string): PortError {
    const e = this.#w.GetLastError();
    return new PortError(`${what}: Windows error ${e}`, w.errnoFromWin32(e));
  }

  // --- socket setup
  /** Ties a new socket to this port and picks its completion mode; closes it on failure. */
  #adopt(s: number, family: 4 | 6): void {
    let err: PortError | undefined;
    if (!this.#w.CreateIoCompletionPort(s, this.handle, 0, 0)) err = this.#lastError('CreateIoCompletionPort(socket)');
    const modes = w.FILE_SKIP_SET_EVENT_ON_HANDLE | (this.skipOnSuccess ? w.FILE_SKIP_COMPLETION_PORT_ON_SUCCESS : 0);
    if (!err && !this.#w.SetFileCompletionNotificationModes(s, modes) && this.skipOnSuccess) {
      err = this.#lastError('SetFileCompletionNotificationModes');
    }
    // Non-blocking, for the read that follows a zero-byte receive (overlapped calls ignore the mode).
    if (!err && this.#w.ioctlsocket(s, w.FIONBIO, new Uint32Array([1])) !== 0) err = new PortError(`ioctlsocket(FIONBIO): Winsock error ${this.#w.WSAGetLastError()}`, E.EINVAL);
    if (err) {
      sock.closeSocket(s);
      throw err;
    }
    this.#family.set(s, family);
  }

  openListener(ip: string, port: number, backlog: number) {
    const l = sock.openListenerSocket(ip, port, backlog);
    this.#adopt(l.fd, l.family);
    return { fd: l.fd, port: l.port };
  }
  openSocket(family: 4 | 6, source?: SockAddr): number {
    const s = sock.newSocket(family);
    try {
      sock.setNoDelay(s);
      // ConnectEx needs a bound socket: the wildcard, or the --bind source address.
      if (source) sock.bindSource(s, source);
      else sock.bindWildcard(s, family);
    } catch (e) {
      sock.closeSocket(s);
      throw e;
    }
    this.#adopt(s, family);
    return s;
  }
  sockaddr(ip: string, port: number): SockAddr {
    return sock.makeSockaddr(ip, port);
  }
  localAddress(fd: number) {
    return sock.localAddress(fd);
  }
  setNoDelay(fd: number): void {
    sock.setNoDelay(fd);
  }
  setLingerZero(fd: number): void {
    sock.setLingerZero(fd);
  }
  closeNow(fd: number): void {
    this.#family.delete(fd);
    sock.closeSocket(fd);
  }
  shutdownWrite(fd: number): void {
    sock.shutdownWrite(fd);
  }

  // --- slots
  #grow(): void {
    const slab = this.#alloc(SLAB_BYTES);
    const ab = nativeMemory(slab, SLAB_BYTES);
    this.#slabs.push(slab);
    this.#slab64.push(new BigUint64Array(ab));
    this.#slab32.push(new Uint32Array(ab));
    const n = this.#slabs.length * SLAB_SLOTS;
    this.#kind = grown(this.#kind, n);
    this.#token = grown(this.#token, n);
    this.#sock = grown(this.#sock, n);
    this.#aux = grown(this.#aux, n);
    this.#maxLen = grown(this.#maxLen, n);
    this.#empty = grown(this.#empty, n);
    for (let i = n - 1; i >= n - SLAB_SLOTS; i--) this.#free.push(i);
  }

  /** Claims a slot with a zeroed OVERLAPPED. */
  #claim(kind: Kind, s: number, token: number): number {
    if (this.#free.length === 0) this.#grow();
    const slot = this.#free.pop()!;
    this.#kind[slot] = kind;
    this.#token[slot] = token;
    this.#sock[slot] = s;
    this.#aux[slot] = -1;
    this.#zeroOverlapped(slot);
    this.#inFlight++;
    this.#byToken.set(token, slot);
    return slot;
  }

  #ptr(slot: number, off: number): bigint {
    return this.#slabs[slot >> 10] + BigInt((slot & (SLAB_SLOTS - 1)) * SLOT_SIZE + off);
  }

  #slotOf(ov: bigint): number {
    for (let i = 0; i < this.#slabs.length; i++) {
      const off = ov - this.#slabs[i];
      if (off >= 0n && off < SLAB_BYTES_N) return i * SLAB_SLOTS + Number(off) / SLOT_SIZE;
    }
    return -1;
  }

  /** Finishes an op: runs its completion step, queues (token, result), frees the slot. */
  #finish(slot: number, ok: boolean, bytes: number, winError: number): void {
    const token = this.#token[slot];
    let res: number;
    let buf = NO_BUFFER;
    switch (this.#kind[slot]) {
      case Kind.RecvZero:
        if (ok) return this.#readNow(slot);
        res = w.errnoFromWin32(winError);
        break;
      case Kind.RecvPooled:
        buf = this.#aux[slot];
        res = ok ? bytes : w.errnoFromWin32(winError);
        if (res <= 0) {
          this.arena.give(buf);
          buf = NO_BUFFER;
        }
        break;
      case Kind.Accept: {
        const accepted = this.#aux[slot];
        if (ok) res = this.#acceptDone(this.#sock[slot], accepted); // closes it on failure
        else {
          res = w.errnoFromWin32(winError);
          sock.closeSocket(accepted);
        }
        break;
      }
      case Kind.Connect:
        res = ok ? this.#connectDone(this.#sock[slot]) : w.errnoFromWin32(winError);
        break;
      default:
        res = ok ? bytes : w.errnoFromWin32(winError);
    }
    this.#release(slot, token, res, buf);
  }

  #release(slot: number, token: number, res: number, buf = NO_BUFFER): void {
    this.#kind[slot] = Kind.Free;
    this.#free.push(slot);
    this.#inFlight--;
    if (this.#byToken.get(token) === slot) this.#byToken.delete(token);
    this.#push(token, res, buf);
  }

  /**
   * The zero-byte receive completed: data (or EOF) is there. Reads it now, without blocking, into
   * a buffer taken from the arena. Nothing there after all: wait again with a zero-byte receive;
   * if that completes at once and again finds nothing, read with an overlapped receive instead
   * (the socket would otherwise spin us here).
   */
  #readNow(slot: number): void {
    const token = this.#token[slot];
    const s = this.#sock[slot];
    const id = this.arena.take();
    this.#setWsabuf(slot, this.arena.address(id), this.#maxLen[slot]);
    const base = (slot & (SLAB_SLOTS - 1)) * SLOT_SIZE;
    const v32 = this.#slab32[slot >> 10];
    v32[(base + S_BYTES) >> 2] = 0;
    const r = this.#w.WSARecv(s, this.#ptr(slot, S_WSABUF), 1, this.#ptr(slot, S_BYTES), this.#ptr(slot, S_FLAGS), null, null);
    if (r === 0) {
      const n = v32[(base + S_BYTES) >> 2];
      if (n > 0) return this.#release(slot, token, n, id);
      this.arena.give(id);
      return this.#release(slot, token, 0); // EOF
    }
    const err = this.#w.WSAGetLastError();
    this.arena.give(id);
    if (err !== w.WSAEWOULDBLOCK) return this.#release(slot, token, w.errnoFromWin32(err));
    this.emptyWakeups++;
    if (this.#empty[slot]++ >= 1) return this.#issuePooled(slot);
    this.#issueZero(slot);
  }

  #issueZero(slot: number): void {
    this.#kind[slot] = Kind.RecvZero;
    this.#zeroOverlapped(slot);
    // A zero-length WSABUF still wants a valid address: the slot's own.
    this.#setWsabuf(slot, this.#ptr(slot, S_BYTES), 0);
    const r = this.#w.WSARecv(this.#sock[slot], this.#ptr(slot, S_WSABUF), 1, null, this.#ptr(slot, S_FLAGS), this.#ptr(slot, S_OV), null);
    this.#issued(slot, r === 0);
  }

  #issuePooled(slot: number): void {
    const id = this.arena.take();
    this.#kind[slot] = Kind.RecvPooled;
    this.#aux[slot] = id;
    this.#zeroOverlapped(slot);
    this.#setWsabuf(slot, this.arena.address(id), this.#maxLen[slot]);
    const r = this.#w.WSARecv(this.#sock[slot], this.#ptr(slot, S_WSABUF), 1, null, this.#ptr(slot, S_FLAGS), this.#ptr(slot, S_OV), null);
    this.#issued(slot, r === 0);
  }

  #zeroOverlapped(slot: number): void {
    const v = this.#slab64[slot >> 10];
    const b = (slot & (SLAB_SLOTS - 1)) * (SLOT_SIZE / 8);
    v[b] = 0n;
    v[b + 1] = 0n;
    v[b + 2] = 0n;
    v[b + 3] = 0n;
  }

  #acceptDone(listen: number, accepted: number): number {
    // The accepted socket inherits the listener's properties only once told which it was.
    const lb = new BigInt64Array([BigInt(listen)]);
    if (this.#w.setsockopt(accepted, w.SOL_SOCKET, w.SO_UPDATE_ACCEPT_CONTEXT, lb, 8) !== 0) {
      const res = w.errnoFromWin32(this.#w.WSAGetLastError());
      sock.closeSocket(accepted);
      return res;
    }
    try {
      this.#adopt(accepted, this.#family.get(listen) ?? 4);
    } catch (e) {
      return (e as PortError).errno;
    }
    return accepted;
  }

  #connectDone(s: number): number {
    // Without this, getsockname/shutdown/getpeername fail on a ConnectEx'ed socket.
    if (this.#w.setsockopt(s, w.SOL_SOCKET, w.SO_UPDATE_CONNECT_CONTEXT, null, 0) !== 0) {
      return w.errnoFromWin32(this.#w.WSAGetLastError());
    }
    return 0;
  }

  /** After an overlapped call: pending → the port reports it; done at once → maybe we do; failed → we do. */
  #issued(slot: number, succeeded: boolean): void {
    if (succeeded) {
      if (this.skipOnSuccess) this.#finish(slot, true, this.#slab32[slot >> 10][((slot & (SLAB_SLOTS - 1)) * SLOT_SIZE + 8) >> 2], 0);
      return;
    }
    const err = this.#w.WSAGetLastError();
    if (err !== w.WSA_IO_PENDING) this.#finish(slot, false, 0, err);
  }

  #push(token: number, res: number, buf = NO_BUFFER): void {
    if (this.#readyTail - this.#readyHead === this.#readyTok.length) {
      const n = this.#readyTok.length;
      const tok = new Uint32Array(n * 2);
      const r = new Int32Array(n * 2);
      const b = new Uint32Array(n * 2);
      for (let i = 0; i < n; i++) {
        tok[i] = this.#readyTok[(this.#readyHead + i) & (n - 1)];
        r[i] = this.#readyRes[(this.#readyHead + i) & (n - 1)];
        b[i] = this.#readyBuf[(this.#readyHead + i) & (n - 1)];
      }
      this.#readyTok = tok;
      this.#readyRes = r;
      this.#readyBuf = b;
      this.#readyHead = 0;
      this.#readyTail = n;
    }
    const m = this.#readyTok.length - 1;
    this.#readyTok[this.#readyTail & m] = token;
    this.#readyRes[this.#readyTail & m] = res;
    this.#readyBuf[this.#readyTail & m] = buf;
    this.#readyTail++;
  }

  // --- operations
  prepAccept(listenFd: number, token: number): void {
    const family = this.#family.get(listenFd) ?? 4;
    const slot = this.#claim(Kind.Accept, listenFd, token);
    const accepted = sock.tryNewSocket(family);
    if (accepted < 0) return this.#finishWith(slot, accepted);
    this.#aux[slot] = accepted;
    let acceptEx: w.AcceptExFn;
    try {
      acceptEx = this.#extension(this.#acceptEx, family, listenFd, w.WSAID_ACCEPTEX, w.AcceptExProto);
    } catch (e) {
      sock.closeSocket(accepted);
      return this.#finishWith(slot, (e as PortError).errno ?? E.EINVAL);
    }
    const ok = acceptEx(
      listenFd,
      accepted,
      this.#ptr(slot, S_ADDRS),
      0,
      w.ACCEPTEX_ADDR_LEN,
      w.ACCEPTEX_ADDR_LEN,
      this.#ptr(slot, S_BYTES),
      this.#ptr(slot, S_OV)
    );
    this.#issued(slot, ok !== 0);
  }

  prepConnect(fd: number, addr: SockAddr, token: number): void {
    const slot = this.#claim(Kind.Connect, fd, token);
    let connectEx: w.ConnectExFn;
    try {
      connectEx = this.#extension(this.#connectEx, addr.family, fd, w.WSAID_CONNECTEX, w.ConnectExProto);
    } catch (e) {
      return this.#finishWith(slot, (e as PortError).errno ?? E.EINVAL);
    }
    const ok = connectEx(fd, addr.ptr, addr.len, null, 0, null, this.#ptr(slot, S_OV));
    this.#issued(slot, ok !== 0);
  }

  prepRecv(fd: number, buf: bigint, len: number, token: number): void {
    const slot = this.#claim(Kind.Recv, fd, token);
    this.#setWsabuf(slot, buf, len);
    const r = this.#w.WSARecv(fd, this.#ptr(slot, S_WSABUF), 1, null, this.#ptr(slot, S_FLAGS), this.#ptr(slot, S_OV), null);
    this.#issued(slot, r === 0);
  }

  prepRecvSelect(fd: number, maxLen: number, token: number): void {
    const slot = this.#claim(Kind.RecvZero, fd, token);
    this.#maxLen[slot] = Math.min(maxLen, RECV_BUFFER_SIZE);
    this.#empty[slot] = 0;
    this.#issueZero(slot);
  }

  prepSend(fd: number, buf: bigint, len: number, token: number): void {
    const slot = this.#claim(Kind.Send, fd, token);
    this.#setWsabuf(slot, buf, len);
    const r = this.#w.WSASend(fd, this.#ptr(slot, S_WSABUF), 1, null, 0, this.#ptr(slot, S_OV), null);
    this.#issued(slot, r === 0);
  }

  prepSendv(fd: number, buf1: bigint, len1: number, buf2: bigint, len2: number, token: number): void {
    const slot = this.#claim(Kind.Send, fd, token);
    const base = (slot & (SLAB_SLOTS - 1)) * SLOT_SIZE + S_WSABUF2;
    const v32 = this.#slab32[slot >> 10];
    const v64 = this.#slab64[slot >> 10];
    v32[(base + w.WSABUF_LEN) >> 2] = len1;
    v32[(base + 4) >> 2] = 0;
    v64[(base + w.WSABUF_BUF) >> 3] = buf1;
    v32[(base + w.WSABUF_SIZE + w.WSABUF_LEN) >> 2] = len2;
    v32[(base + w.WSABUF_SIZE + 4) >> 2] = 0;
    v64[(base + w.WSABUF_SIZE + w.WSABUF_BUF) >> 3] = buf2;
    const r = this.#w.WSASend(fd, this.#ptr(slot, S_WSABUF2), 2, null, 0, this.#ptr(slot, S_OV), null);
    this.#issued(slot, r === 0);
  }

  #setWsabuf(slot: number, buf: bigint, len: number): void {
    const base = (slot & (SLAB_SLOTS - 1)) * SLOT_SIZE;
    const v32 = this.#slab32[slot >> 10];
    v32[(base + S_WSABUF + w.WSABUF_LEN) >> 2] = len;
    v32[(base + S_WSABUF + 4) >> 2] = 0;
    this.#slab64[slot >> 10][(base + S_WSABUF + w.WSABUF_BUF) >> 3] = buf;
    v32[(base + S_FLAGS) >> 2] = 0;
  }

  /** An op that failed before reaching the kernel. */
  #finishWith(slot: number, res: number): void {
    const token = this.#token[slot];
    this.#kind[slot] = Kind.Free;
    this.#free.push(slot);
    this.#inFlight--;
    if (this.#byToken.get(token) === slot) this.#byToken.delete(token);
    this.#push(token, res);
  }

  #extension<T>(cache: Map<4 | 6, T>, family: 4 | 6, s: number, id: Uint8Array, proto: w.FunctionProto): T {
    let fn = cache.get(family);
    if (!fn) {
      try {
        fn = w.extensionFunction<T>(s, id, proto);
      } catch (e) {
        throw new PortError((e as Error).message, E.EINVAL);
      }
      cache.set(family, fn);
    }
    return fn;
  }

  /** Closes the socket now; its in-flight operations complete with -ECANCELED through the port. */
  prepClose(fd: number, token: number): void {
    this.#family.delete(fd);
    this.#push(token, sock.closeSocket(fd));
  }

  prepTimeout(ms: number, token: number): void {
    const t = newTimer(() => {
      if (this.#timerByToken.get(token) === t) this.#timerByToken.delete(token);
      this.#push(token, E.ETIME);
      this.#timerFired = true;
    });
    this.#timerByToken.set(token, t);
    this.#timers.set(t, performance.now() + ms);
  }

  prepCancel(target: number, token: number): void {
    const timer = this.#timerByToken.get(target);
    if (timer !== undefined) {
      this.#timerByToken.delete(target);
      this.#timers.delete(timer);
      this.#push(target, E.ECANCELED);
      this.#push(token, 0);
      return;
    }
    const slot = this.#byToken.get(target);
    if (slot === undefined) return this.#push(token, E.ENOENT);
    // AcceptEx is cancelled on the listening socket it was issued on.
    if (this.#w.CancelIoEx(this.#sock[slot], this.#ptr(slot, S_OV))) return this.#push(token, 0);
    const err = this.#w.GetLastError();
    // ERROR_NOT_FOUND: it already completed and its packet waits in the port.
    this.#push(token, err === w.ERROR_NOT_FOUND ? E.ENOENT : w.errnoFromWin32(err));
  }

  // --- timers
  /** Fires due timers; returns ms until the next live one (Infinity if none). */
  #expireTimers(): number {
    const now = performance.now();
    for (let t = this.#timers.popDue(now); t; t = this.#timers.popDue(now)) t.fn();
    const next = this.#timers.peek();
    return next ? next.at - now : Infinity;
  }

  // --- completion
  submitAndWait(minComplete: number, timeoutMs: number): void {
    const deadline = timeoutMs >= 0 ? performance.now() + timeoutMs : Infinity;
    this.#timerFired = false;
    for (;;) {
      const untilTimer = this.#expireTimers();
      const ready = this.#readyTail - this.#readyHead;
      let wait: number;
      // The loop's timers must not be held back by a batch size: a due timer ends the wait.
      if (ready >= minComplete || timeoutMs === 0 || this.#timerFired) wait = 0;
      else wait = Math.max(0, Math.ceil(Math.min(untilTimer, deadline - performance.now())));
      this.#dequeue(wait === Infinity ? w.INFINITE : wait);
      this.#expireTimers();
      if (this.#woken) {
        this.#woken = false;
        return;
      }
      if (wait === 0 || this.#timerFired || this.#readyTail - this.#readyHead >= minComplete || performance.now() >= deadline) return;
    }
  }

  /** One GetQueuedCompletionStatusEx call; moves what it dequeued to the ready queue. */
  #dequeue(ms: number): void {
    if (!this.#w.GetQueuedCompletionStatusEx(this.handle, this.#scratch, this.#entries, this.#removed, ms, 0)) {
      const e = this.#w.GetLastError();
      if (e === w.WAIT_TIMEOUT) return;
      throw new PortError(`GetQueuedCompletionStatusEx: Windows error ${e}`, w.errnoFromWin32(e));
    }
    const n = this.#entry32[(this.#entries * w.OVERLAPPED_ENTRY_SIZE) >> 2];
    const e64 = this.#entry64;
    const e32 = this.#entry32;
    for (let i = 0; i < n; i++) {
      const ov = e64[i * 4 + 1];
      if (ov === 0n) {
        this.#woken = true; // a bare PostQueuedCompletionStatus from wake()
        continue;
      }
      const slot = this.#slotOf(ov);
      if (slot < 0 || this.#kind[slot] === Kind.Free) continue;
      const status = e32[i * 8 + 4] | 0; // NTSTATUS; negative means an error
      if (status >= 0) this.#finish(slot, true, e32[i * 8 + 6], 0);
      else this.#finish(slot, false, 0, this.#w.RtlNtStatusToDosError(status >>> 0));
    }
  }

  reap(tokens: Uint32Array, results: Int32Array, buffers: Uint32Array): number {
    const max = Math.min(tokens.length, results.length);
    const m = this.#readyTok.length - 1;
    let n = 0;
    while (this.#readyHead !== this.#readyTail && n < max) {
      tokens[n] = this.#readyTok[this.#readyHead & m];
      results[n] = this.#readyRes[this.#readyHead & m];
      buffers[n] = this.#readyBuf[this.#readyHead & m];
      this.#readyHead++;
      n++;
    }
    return n;
  }

  /** Wakes a thread blocked in submitAndWait on this port (from any thread holding the handle). */
  wake(): void {
    this.#w.PostQueuedCompletionStatus(this.handle, 0, 0, null);
  }

  close(): number {
    if (this.#timerPeriod) this.#w.timeEndPeriod(1);
    this.#timerPeriod = false;
    this.#w.CloseHandle(this.handle);
    // The kernel may still write into the OVERLAPPEDs of ops in flight: only then is leaking
    // their slabs the safe choice.
    if (this.#inFlight === 0) for (const s of this.#slabs) this.#w.VirtualFree(s, 0, w.MEM_RELEASE);
    this.#slabs = [];
    this.#slab64 = [];
    this.#slab32 = [];
    this.#w.VirtualFree(this.#scratch, 0, w.MEM_RELEASE);
    return this.arena.destroy();
  }
}

type SlotArray = Uint8Array | Uint32Array | Int32Array | Float64Array;

/** The same kind of per-slot array, n long, starting with what `a` held. */
function grown<T extends SlotArray>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a as any);
  return b;
}
