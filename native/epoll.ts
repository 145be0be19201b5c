// epoll and the nonblocking socket calls the epoll completion port makes per operation (Linux).
// The per-operation calls are declared here with BigInt pointers and `int` results: koffi
// converts BigInt pointers ~4x faster than Numbers, and on x86_64/arm64 an `int` result reads
// the low half of the ssize_t register, exact for every count below 2 GiB and for -1.
import koffi from 'koffi';

export const EPOLL_CLOEXEC = 0o2000000;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;

export const EPOLLIN = 0x001;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
export const EPOLLRDHUP = 0x2000;
export const EPOLLET = 0x80000000;

/**
 * epoll_pwait2 (Linux 5.11+): epoll_wait with a struct timespec timeout instead of whole
 * milliseconds. Called through syscall(2): glibc only wraps it from 2.35, and the number is the
 * same on x86_64 and arm64 (the generic table).
 */
export const SYS_epoll_pwait2 = 441;
/** struct timespec { time_t tv_sec; long tv_nsec; } on 64-bit Linux. */
export const TIMESPEC_SIZE = 16;

/**
 * struct epoll_event { uint32_t events; epoll_data_t data; }: x86_64 declares it
 * __attribute__((packed)) (12 bytes, data at 4); every other Linux ABI aligns the u64 (16, at 8).
 */
export const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
export const EPOLL_EVENT_EVENTS = 0;
export const EPOLL_EVENT_DATA = process.arch === 'x64' ? 4 : 8;

// Bound on first use, like libc: this module is imported wherever EpollPort is (the backend
// selector, on every platform), but on Windows these functions do not exist.
const SIGNATURES = {
  create1: 'int epoll_create1(int flags)',
  ctl: 'int epoll_ctl(int epfd, int op, int fd, void *event)',
  wait: 'int epoll_wait(int epfd, void *events, int maxevents, int timeout)',
  // syscall() is variadic; a fixed prototype is ABI-compatible on x86_64 and arm64 (as for io_uring_enter).
  pwait2: 'long syscall(long nr, int epfd, void *events, int maxevents, void *timeout, void *sigmask, size_t sigsetsize)',
  accept4: 'int accept4(int fd, void *addr, void *addrlen, int flags)',
  connect: 'int connect(int fd, void *addr, uint32_t len)',
  recv: 'int recv(int fd, void *buf, size_t len, int flags)',
  send: 'int send(int fd, void *buf, size_t len, int flags)',
  getsockopt: 'int getsockopt(int fd, int level, int name, void *val, void *len)',
  getpeername: 'int getpeername(int fd, void *addr, void *len)',
  close: 'int close(int fd)',
} as const;

export const epoll = {} as { [K in keyof typeof SIGNATURES]: (...args: any[]) => any };
let lib: ReturnType<typeof koffi.load> | undefined;
for (const name of Object.keys(SIGNATURES) as (keyof typeof SIGNATURES)[]) {
  Object.defineProperty(epoll, name, {
    configurable: true,
    enumerable: true,
    get() {
      lib ??= koffi.load(null as unknown as string);
      const fn = lib.func(SIGNATURES[name]);
      Object.defineProperty(epoll, name, { value: fn, enumerable: true });
      return fn;
    },
  });
}
