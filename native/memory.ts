// Native memory that can be handed back to the system: whole pages from the kernel (mmap on
// Linux, VirtualAlloc on Windows) for the engine's buffer slabs, a way to drop the pages of a
// buffer without giving up its address (madvise DONTNEED; decommit + recommit), and, for what
// OpenSSL mallocs, glibc's malloc_trim and mallinfo2. The only file that knows these calls.
// Also koffi's views, allocations and addresses, so that the engine above reads and writes
// native memory through typed arrays without importing koffi itself.
import koffi from 'koffi';
import * as c from './libc';

const onWindows = process.platform === 'win32';

// Windows constants (winnt.h); kernel32 is loaded lazily and only there.
const MEM_COMMIT = 0x1000;
const MEM_RESERVE = 0x2000;
const MEM_DECOMMIT = 0x4000;
const MEM_RELEASE = 0x8000;
const PAGE_READWRITE = 0x04;

export const PAGE_SIZE = 4096;

type K32 = {
  VirtualAlloc: (addr: bigint | null, size: number, type: number, protect: number) => bigint | null;
  VirtualFree: (addr: bigint, size: number, type: number) => number;
};
let k32: K32 | undefined;
function kernel32(): K32 {
  if (!k32) {
    const lib = koffi.load('kernel32.dll');
    k32 = {
      VirtualAlloc: lib.func('void *__stdcall VirtualAlloc(void *lpAddress, size_t dwSize, uint32_t flAllocationType, uint32_t flProtect)'),
      VirtualFree: lib.func('int __stdcall VirtualFree(void *lpAddress, size_t dwSize, uint32_t dwFreeType)'),
    };
  }
  return k32;
}

/** `bytes` (a multiple of the page size) of zeroed, page-aligned memory, committed lazily: a page costs nothing until touched. */
export function pageAlloc(bytes: number): bigint {
  if (onWindows) {
    const p = kernel32().VirtualAlloc(null, bytes, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (!p) throw new Error(`VirtualAlloc(${bytes}) failed`);
    return p;
  }
  const p = c.libc.mmap(null, bytes, c.PROT_READ | c.PROT_WRITE, c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_NORESERVE, -1, 0) as bigint;
  if (p === c.MAP_FAILED || !p) throw new Error(`mmap(${bytes}): ${c.errnoMessage(c.lastErrno())}`);
  return p;
}

/** Gives pages from pageAlloc back to the system. */
export function pageFree(p: bigint, bytes: number): void {
  if (onWindows) kernel32().VirtualFree(p, 0, MEM_RELEASE);
  else c.libc.munmap(p, bytes);
}

/**
 * Drops the pages of [p, p + bytes) (page-aligned) from the process's memory, keeping the
 * address range usable: the next touch gets fresh zeroed pages. Never on memory the kernel may be
 * writing into at that moment.
 */
export function pageDiscard(p: bigint, bytes: number): void {
  if (onWindows) {
    const w = kernel32();
    w.VirtualFree(p, bytes, MEM_DECOMMIT);
    w.VirtualAlloc(p, bytes, MEM_COMMIT, PAGE_READWRITE);
  } else {
    c.libc.madvise(p, bytes, c.MADV_DONTNEED);
  }
}

// --- JS views of native memory (thin wrappers: the engine's ring and slot setup, OpenSSL's out-parameters)

/** An ArrayBuffer over [p, p + bytes) of native memory: no copy, writes land there. Wrap it in the typed array you need. */
export function nativeMemory(p: bigint, bytes: number): ArrayBuffer {
  return koffi.view(p, bytes);
}

/** A copy of [p, p + bytes) in JS memory, for bytes that must outlive the native call that lent them. */
export function copyFromNative(p: bigint, bytes: number): Uint8Array {
  return new Uint8Array(koffi.view(p, bytes).slice(0));
}

/** `bytes` from the C heap at an address the GC never moves; give it back with nativeFree. */
export function nativeAlloc(bytes: number): bigint {
  return koffi.alloc('uint8_t', bytes) as bigint;
}

/** Frees what nativeAlloc returned. */
export function nativeFree(p: bigint): void {
  koffi.free(p);
}

/** The address of a JS buffer's bytes, valid during the one native call it is passed to (the GC may move it afterwards). */
export function addressOf(buf: Uint8Array): bigint {
  return koffi.address(buf);
}

// --- the C heap (what OpenSSL allocates: SSLs, BIO pair buffers, record buffers)

/** struct mallinfo2 (glibc 2.33+): ten size_t fields. */
let mallinfo2: (() => Record<string, bigint>) | null | undefined;
let mallocTrim: ((pad: number) => number) | null | undefined;

function glibc(): void {
  if (mallinfo2 !== undefined) return;
  mallinfo2 = null;
  mallocTrim = null;
  if (process.platform !== 'linux') return;
  const lib = koffi.load(null as unknown as string);
  try {
    const MallInfo2 = koffi.struct('iocptls_mallinfo2', {
      arena: 'size_t',
      ordblks: 'size_t',
      smblks: 'size_t',
      hblks: 'size_t',
      hblkhd: 'size_t',
      usmblks: 'size_t',
      fsmblks: 'size_t',
      uordblks: 'size_t',
      fordblks: 'size_t',
      keepcost: 'size_t',
    });
    mallinfo2 = lib.func('mallinfo2', MallInfo2, []) as () => Record<string, bigint>;
  } catch {
    mallinfo2 = null; // musl, or glibc before 2.33
  }
  try {
    mallocTrim = lib.func('int malloc_trim(size_t pad)') as (pad: number) => number;
  } catch {
    mallocTrim = null;
  }
}

export interface HeapStats {
  /** Bytes the C heap has handed out and not had back (all threads' arenas, plus mmap'ed chunks). */
  inUse: number;
  /** Bytes the heap holds free (not returned to the system). */
  free: number;
}

/** The C heap's own count (glibc's mallinfo2); undefined where there is none. */
export function heapStats(): HeapStats | undefined {
  glibc();
  if (!mallinfo2) return undefined;
  const m = mallinfo2();
  return { inUse: Number(m.uordblks) + Number(m.hblkhd), free: Number(m.fordblks) };
}

/**
 * Returns the C heap's free pages to the system (glibc's malloc_trim: every arena, and the free
 * pages inside them, not only the top). Cost grows with the heap: call it when load dropped, not
 * per connection. Returns whether anything was released; false where there is no such call.
 */
export function heapTrim(): boolean {
  glibc();
  return mallocTrim ? mallocTrim(0) === 1 : false;
}

let lastRss = 0;

/**
 * Resident set size of the process, bytes (Linux: /proc/self/statm; elsewhere Node's figure).
 * Reading it opens a file: a process out of descriptors (EMFILE, which a server under load must
 * survive) gets the last figure read instead of an exception.
 */
export function residentBytes(): number {
  try {
    return (lastRss = process.memoryUsage.rss());
  } catch {
    return lastRss;
  }
}
