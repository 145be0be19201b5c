// libc: sockets, memory and raw syscalls, as koffi bindings (Linux). Constants are x86_64/arm64
// Linux values; this file and its siblings are the only ones that know them.
import koffi from 'koffi';
import { decodeSockaddr, encodeSockaddr } from './sockaddr';

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_LINGER = 13;
export const SO_REUSEPORT = 15;
export const IPPROTO_IP = 0;
/** Linux 4.2+: a bind() without a port defers choosing it to connect(), which can reuse it across destinations. */
export const IP_BIND_ADDRESS_NO_PORT = 24;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;
export const IPV6_V6ONLY = 26;
export const TCP_NODELAY = 1;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_DONTWAIT = 0x40;

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_POPULATE = 0x8000;
export const MAP_FAILED = 0xffffffffffffffffn;

/** getrlimit/setrlimit resource: the highest descriptor number + 1 a process may open. */
export const RLIMIT_NOFILE = 7;

export const SYS_io_uring_setup = 425;
export const SYS_io_uring_enter = 426;
export const SYS_io_uring_register = 427;

export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;
export const SOCKADDR_STORAGE_SIZE = 128;

export const errno = koffi.os.errno as Record<string, number>;

// Bound on first use: this module is imported on every platform (its constants and sockaddr
// helpers are plain JS), but on Windows these functions do not exist.
const SIGNATURES = {
  socket: 'int socket(int domain, int type, int protocol)',
  bind: 'int bind(int fd, const void *addr, uint32_t len)',
  listen: 'int listen(int fd, int backlog)',
  connect: 'int connect(int fd, const void *addr, uint32_t len)',
  accept4: 'int accept4(int fd, void *addr, void *len, int flags)',
  recv: 'intptr_t recv(int fd, void *buf, size_t len, int flags)',
  send: 'intptr_t send(int fd, const void *buf, size_t len, int flags)',
  shutdown: 'int shutdown(int fd, int how)',
  close: 'int close(int fd)',
  setsockopt: 'int setsockopt(int fd, int level, int name, const void *val, uint32_t len)',
  getsockopt: 'int getsockopt(int fd, int level, int name, _Out_ void *val, _Inout_ uint32_t *len)',
  getsockname: 'int getsockname(int fd, _Out_ void *addr, _Inout_ uint32_t *len)',
  getpeername: 'int getpeername(int fd, _Out_ void *addr, _Inout_ uint32_t *len)',
  malloc: 'void *malloc(size_t size)',
  calloc: 'void *calloc(size_t n, size_t size)',
  free: 'void free(void *p)',
  memcpy: 'void *memcpy(void *dst, const void *src, size_t n)',
  mmap: 'void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)',
  munmap: 'int munmap(void *addr, size_t len)',
  strerror: 'const char *strerror(int errnum)',
  // struct rlimit { rlim_t cur, max; } as two u64 (a BigUint64Array(2)).
  getrlimit: 'int getrlimit(int resource, _Out_ uint64_t *rlim)',
  setrlimit: 'int setrlimit(int resource, const uint64_t *rlim)',
  // syscall() is variadic; these fixed prototypes are ABI-compatible on x86_64 and arm64
  // and avoid koffi's slower variadic path on the hot io_uring_enter call.
  syscall_io_uring_setup: 'long syscall(long nr, unsigned int entries, void *params)',
  syscall_io_uring_enter:
    'long syscall(long nr, unsigned int fd, unsigned int to_submit, unsigned int min_complete, unsigned int flags, void *arg, size_t argsz)',
  syscall_io_uring_register: 'long syscall(long nr, unsigned int fd, unsigned int opcode, void *arg, unsigned int nr_args)',
} as const;

type Libc = { [K in keyof typeof SIGNATURES]: (...args: any[]) => any };

export const libc = {} as Libc;
let lib: ReturnType<typeof koffi.load> | undefined;
for (const name of Object.keys(SIGNATURES) as (keyof typeof SIGNATURES)[]) {
  Object.defineProperty(libc, name, {
    configurable: true,
    enumerable: true,
    get() {
      lib ??= koffi.load(null as unknown as string);
      const fn = lib.func(SIGNATURES[name]);
      Object.defineProperty(libc, name, { value: fn, enumerable: true });
      return fn;
    },
  });
}

export function lastErrno(): number {
  return koffi.errno();
}

export function errnoName(code: number): string {
  const n = Math.abs(code);
  for (const [k, v] of Object.entries(errno)) if (v === n) return k;
  return `errno ${n}`;
}

export function errnoMessage(code: number): string {
  return `${errnoName(code)} (${libc.strerror(Math.abs(code))})`;
}

/** RLIMIT_NOFILE: [soft, hard]. */
export function fileLimit(): [number, number] {
  const r = new BigUint64Array(2);
  if (libc.getrlimit(RLIMIT_NOFILE, r) !== 0) throw new Error(`getrlimit: ${errnoMessage(lastErrno())}`);
  return [Number(r[0]), Number(r[1])];
}

/** Sets RLIMIT_NOFILE's soft limit (the hard one stays). */
export function setFileLimit(soft: number): void {
  const [, hard] = fileLimit();
  if (libc.setrlimit(RLIMIT_NOFILE, new BigUint64Array([BigInt(soft), BigInt(hard)])) !== 0) {
    throw new Error(`setrlimit: ${errnoMessage(lastErrno())}`);
  }
}

/** Pointer arithmetic on koffi's BigInt pointers. */
export function offsetPtr(p: bigint, off: number): bigint {
  return p + BigInt(off);
}

/** A Uint8Array over native memory (no copy). */
export function nativeView(p: bigint, len: number): Uint8Array {
  return new Uint8Array(koffi.view(p, len));
}

/** Fills a sockaddr_in/sockaddr_in6 in `dst` (at least 28 bytes); returns its length. */
export function writeSockaddr(dst: Uint8Array, ip: string, port: number): number {
  return encodeSockaddr(dst, ip, port, AF_INET6);
}

export function readSockaddr(src: Uint8Array): { family: 4 | 6; ip: string; port: number } {
  return decodeSockaddr(src, AF_INET6);
}
