// CPU time of the calling thread (user and system, microseconds): getrusage(RUSAGE_THREAD) on
// Linux, GetThreadTimes on Windows. process.cpuUsage() would add every thread of the process —
// with the embedded server in the same process, that is the server's CPU too.
import koffi from 'koffi';

export interface ThreadCpu {
  userUs: number;
  systemUs: number;
}

const RUSAGE_THREAD = 1;
/** struct rusage starts with ru_utime and ru_stime, two struct timeval {long sec; long usec} (64-bit Linux). */
const RUSAGE_SIZE = 144;

let read: (() => ThreadCpu | undefined) | undefined;

function linux(): () => ThreadCpu | undefined {
  const getrusage = koffi.load(null as unknown as string).func('int getrusage(int who, _Out_ void *usage)');
  const buf = new BigInt64Array(RUSAGE_SIZE / 8);
  return () => {
    if (getrusage(RUSAGE_THREAD, buf) !== 0) return undefined;
    return { userUs: Number(buf[0]) * 1e6 + Number(buf[1]), systemUs: Number(buf[2]) * 1e6 + Number(buf[3]) };
  };
}

function windows(): () => ThreadCpu | undefined {
  const k32 = koffi.load('kernel32.dll');
  const current = k32.func('void * __stdcall GetCurrentThread()');
  // FILETIMEs: creation, exit, kernel, user — 100 ns units.
  const times = k32.func('int __stdcall GetThreadTimes(void *thread, _Out_ uint64_t *c, _Out_ uint64_t *e, _Out_ uint64_t *k, _Out_ uint64_t *u)');
  const c = new BigUint64Array(1);
  const e = new BigUint64Array(1);
  const k = new BigUint64Array(1);
  const u = new BigUint64Array(1);
  return () => {
    if (!times(current(), c, e, k, u)) return undefined;
    return { userUs: Number(u[0]) / 10, systemUs: Number(k[0]) / 10 };
  };
}

/** This thread's CPU time so far, or undefined where the platform cannot tell. */
export function threadCpu(): ThreadCpu | undefined {
  if (!read) {
    try {
      read = process.platform === 'win32' ? windows() : process.platform === 'linux' ? linux() : () => undefined;
    } catch {
      read = () => undefined;
    }
  }
  return read();
}
