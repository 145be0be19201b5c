// The completion-port interface every backend implements (io_uring, epoll, IOCP).
// It knows sockets and completions, never TLS. Names follow liburing's verbs.

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

/**
 * Every prep* call queues one operation identified by a caller-chosen 32-bit token; each
 * operation completes exactly once, with its token and a result: >= 0 on success (bytes,
 * a new socket, 0), or a negative Linux errno (-ECONNREFUSED, -ECANCELED, -ETIME...) on every
 * backend, so layers above never see OS-specific codes. An operation that may be cancelled needs
 * a token no other operation in flight has: prepCancel finds operations by token.
 *
 * A buffer passed to prepRecv/prepSend belongs to the kernel until that operation's
 * completion is reaped, also when the operation was cancelled.
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
  prepSend(fd: number, buf: bigint, len: number, token: number): void;
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
  /** Copies up to tokens.length ready completions out, marks them seen, returns how many. */
  reap(tokens: Uint32Array, results: Int32Array): number;

  close(): void;
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
