// The completion-port interface every backend implements (io_uring, epoll, IOCP).
// It knows sockets and completions, never TLS. Names follow liburing's verbs.
import type { ArenaStats } from '../buffer_pool';

export type Backend = 'io_uring' | 'epoll' | 'iocp';
export const BACKENDS: readonly Backend[] = ['io_uring', 'epoll', 'iocp'];

/** A socket address in native memory at a stable address, shareable by many connects. */
export interface SockAddr {
  readonly ptr: bigint;
  readonly len: number;
  readonly family: 4 | 6;
  readonly ip: string;
  readonly port: number;
}

/** In reap's `buffers`: the completion carries no receive buffer. */
export const NO_BUFFER = 0xffffffff;

/**
 * How a port finds the buffer for prepRecvSelect, i.e. what an idle connection pins:
 * - provided: io_uring's provided buffer ring; the kernel takes a buffer when data arrives (nothing pinned);
 * - pool: a buffer from the port's arena for each receive in flight (io_uring on kernels without buffer rings);
 * - readiness: epoll; the port reads when the socket is readable, into a buffer taken then (nothing pinned);
 * - zero-byte: IOCP; a zero-byte WSARecv waits for data, then a non-blocking read fills a buffer (nothing pinned).
 */
export type RecvMode = 'provided' | 'pool' | 'readiness' | 'zero-byte';

/** What a port holds in native memory for receives. */
export interface PortMemory {
  recvMode: RecvMode;
  recvBuffers: ArenaStats;
  /** io_uring provided buffers: buffers in the kernel's ring, the population it is grown or shrunk to, receives retried for want of a buffer (ENOBUFS). */
  ring?: { buffers: number; target: number; retries: number };
}

/**
 * Every prep* call queues one operation identified by a caller-chosen 32-bit token; each
 * operation completes exactly once, with its token and a result: >= 0 on success (bytes,
 * a new socket, 0), or a negative Linux errno (-ECONNREFUSED, -ECANCELED, -ETIME...) on every
 * backend, so layers above never see OS-specific codes. An operation that may be cancelled needs
 * a token no other operation in flight has: prepCancel finds operations by token.
 *
 * A buffer passed to prepRecv/prepSend/prepSendv belongs to the kernel until that operation's
 * completion is reaped, also when the operation was cancelled.
 *
 * prepRecvSelect is the receive that pins no memory while it waits: the port picks a buffer of its
 * own once data is there, reap names it (buffers[i]), and the caller hands it back with
 * releaseRecvBuffer as soon as it has copied the bytes out (promptly: ports keep few of them).
 */
export interface CompletionPort {
  readonly backend: Backend;
  /**
   * The finest wait submitAndWait honours, ms: 0 when it waits to the microsecond (io_uring's
   * timespec, epoll_pwait2), 1 when it rounds to whole milliseconds (epoll_wait, IOCP). The loop
   * polls instead of blocking when a precise timer is nearer than this.
   */
  readonly waitResolutionMs: number;

  // Socket setup: synchronous, once per socket, not per operation.
  /** reusePort: SO_REUSEPORT, so each worker can own a listener on the same port and the kernel spreads connections across them. */
  openListener(ip: string, port: number, backlog: number, reusePort?: boolean): { fd: number; port: number };
  /**
   * A client socket. With `source`, bound to that local address before its connect (--bind): the
   * port stays 0, so the kernel still picks an ephemeral port per destination at connect time.
   */
  openSocket(family: 4 | 6, source?: SockAddr): number;
  sockaddr(ip: string, port: number): SockAddr;
  localAddress(fd: number): { ip: string; port: number };
  setNoDelay(fd: number): void;
  /** SO_LINGER {1, 0}: the next close sends RST instead of FIN. */
  setLingerZero(fd: number): void;
  /** Closes a socket with no operation in flight, synchronously. */
  closeNow(fd: number): void;
  /** Half-close: send FIN, keep receiving. */
  shutdownWrite(fd: number): void;

  prepAccept(listenFd: number, token: number): void;
  prepConnect(fd: number, addr: SockAddr, token: number): void;
  prepRecv(fd: number, buf: bigint, len: number, token: number): void;
  /**
   * Receives up to maxLen bytes (at most recvBufferSize) into a buffer the port chooses when they
   * arrive. The result is the byte count, 0 at EOF, or -errno; with bytes, reap reports the buffer
   * id, whose address is recvBuffer(id), until releaseRecvBuffer(id).
   */
  prepRecvSelect(fd: number, maxLen: number, token: number): void;
  /** Address of a buffer a prepRecvSelect completion named; valid until releaseRecvBuffer. */
  recvBuffer(id: number): bigint;
  releaseRecvBuffer(id: number): void;
  /** Largest receive prepRecvSelect delivers. */
  readonly recvBufferSize: number;
  readonly recvMode: RecvMode;
  prepSend(fd: number, buf: bigint, len: number, token: number): void;
  /** One send of two regions, in order (a ring buffer's run that wraps): sendmsg / IORING_OP_SENDMSG / WSASend with two WSABUFs. The result is the bytes sent from both. */
  prepSendv(fd: number, buf1: bigint, len1: number, buf2: bigint, len2: number, token: number): void;
  prepClose(fd: number, token: number): void;
  prepTimeout(ms: number, token: number): void;
  /** Cancels the in-flight operation with token `target`; it completes with -ECANCELED (or its own result if it won the race). */
  prepCancel(target: number, token: number): void;

  /**
   * Submits what was prepared and waits until at least minComplete completions are ready or
   * timeoutMs (fractions of a ms allowed; -1: no limit) passed. It may return early, with nothing
   * ready: when a signal interrupts the wait (EINTR, as liburing returns it) or the kernel pushes
   * back (a full completion queue): callers loop, with the time they have left.
   * submitAndWait(0, 0) only submits (and picks up what is ready), never blocks.
   */
  submitAndWait(minComplete: number, timeoutMs: number): void;
  /**
   * Copies up to tokens.length ready completions out, marks them seen, returns how many. buffers[i]
   * is the receive buffer of a prepRecvSelect completion that carries bytes, else NO_BUFFER.
   */
  reap(tokens: Uint32Array, results: Int32Array, buffers: Uint32Array): number;

  /** What the port holds for receives. */
  memory(): PortMemory;
  /**
   * Gives back receive memory load no longer needs (whole free slabs; with `discard`, the pages of
   * free buffers too). For a loop whose load dropped; returns bytes given back.
   */
  trim(discard: boolean): number;

  /**
   * Closes the port and frees its receive memory. Returns how many receive buffers it could not
   * free because an operation the kernel had not completed might still write into them (leaked
   * rather than freed under the kernel's feet; 0 once every operation completed).
   */
  close(): number;
}

// Negative Linux errno values used as completion results on every backend.
export const E = {
  EPERM: -1,
  ENOENT: -2,
  EINTR: -4,
  EBADF: -9,
  EAGAIN: -11,
  ENOMEM: -12,
  EBUSY: -16,
  EINVAL: -22,
  ENFILE: -23,
  EMFILE: -24,
  EPIPE: -32,
  ETIME: -62,
  ENONET: -64,
  EPROTO: -71,
  ENOPROTOOPT: -92,
  EOPNOTSUPP: -95,
  ENETDOWN: -100,
  ENOBUFS: -105,
  EHOSTDOWN: -112,
  EALREADY: -114,
  EINPROGRESS: -115,
  ECANCELED: -125,
  ECONNABORTED: -103,
  ECONNRESET: -104,
  ENOTCONN: -107,
  ETIMEDOUT: -110,
  ECONNREFUSED: -111,
  EHOSTUNREACH: -113,
  ENETUNREACH: -101,
  EADDRINUSE: -98,
  EADDRNOTAVAIL: -99,
} as const;

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(E).map(([k, v]) => [v, k]));

/** 'ECONNREFUSED' for -111; 'errno N' for codes we do not name. */
export function errorName(res: number): string {
  return NAMES[res] ?? NAMES[-Math.abs(res)] ?? `errno ${Math.abs(res)}`;
}

const MESSAGES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'broken pipe',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in system',
  ENOBUFS: 'no buffer space available',
  ENOMEM: 'out of memory',
  ECANCELED: 'cancelled',
};

export function errorMessage(res: number): string {
  const n = errorName(res);
  return MESSAGES[n] ? `${MESSAGES[n]} (${n})` : n;
}

export class PortError extends Error {
  readonly code = 'IOCPTLS_ERR_PORT';
  constructor(
    message: string,
    readonly errno: number
  ) {
    super(message);
    this.name = 'PortError';
  }
}
