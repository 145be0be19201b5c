// seccomp: make chosen syscalls fail with an errno in this process, as container runtimes do
// (Docker's default profile answers io_uring_setup with EPERM). Used to exercise fallbacks for
// real. Irreversible for the process and inherited by every thread and child it creates.
import koffi from 'koffi';

const PR_SET_NO_NEW_PRIVS = 38;
const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_FILTER_FLAG_TSYNC = 1;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const SECCOMP_RET_ERRNO = 0x00050000;

// Classic BPF opcodes (linux/filter.h).
const BPF_LD_W_ABS = 0x20;
const BPF_JMP_JEQ_K = 0x15;
const BPF_RET_K = 0x06;
/** struct seccomp_data: int nr @0, u32 arch @4. */
const DATA_NR = 0;
const DATA_ARCH = 4;
/** struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; } */
const SOCK_FILTER_SIZE = 8;
/** struct sock_fprog { u16 len; (pad) ; struct sock_filter *filter; } on 64-bit ABIs. */
const SOCK_FPROG_SIZE = 16;

const ARCH: Record<string, { audit: number; sysSeccomp: number }> = {
  x64: { audit: 0xc000003e, sysSeccomp: 317 },
  arm64: { audit: 0xc00000b7, sysSeccomp: 277 },
};

export const SYS_io_uring_setup = 425; // same number on every 64-bit Linux ABI

const lib = koffi.load(null as unknown as string);
const prctl = lib.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)');
const syscallSeccomp = lib.func('long syscall(long nr, unsigned int op, unsigned int flags, void *args)');

/**
 * Installs a filter on every thread of this process: each syscall in `nrs` fails with `errno`,
 * everything else is allowed. Throws with the errno if the kernel refuses.
 */
export function denySyscalls(nrs: number[], errno: number): void {
  const arch = ARCH[process.arch];
  if (process.platform !== 'linux' || !arch) throw new Error(`seccomp: unsupported platform ${process.platform}/${process.arch}`);
  const prog: Array<[number, number, number, number]> = [[BPF_LD_W_ABS, 0, 0, DATA_ARCH]];
  // Another ABI (e.g. x32 or compat) has other numbers: leave it alone.
  prog.push([BPF_JMP_JEQ_K, 0, 1 + 2 * nrs.length, arch.audit]);
  prog.push([BPF_LD_W_ABS, 0, 0, DATA_NR]);
  for (let i = 0; i < nrs.length; i++) {
    prog.push([BPF_JMP_JEQ_K, 0, 1, nrs[i]]);
    prog.push([BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | (errno & 0xffff)]);
  }
  prog.push([BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW]);

  const filter = Buffer.alloc(prog.length * SOCK_FILTER_SIZE);
  prog.forEach(([code, jt, jf, k], i) => {
    filter.writeUInt16LE(code, i * SOCK_FILTER_SIZE);
    filter.writeUInt8(jt, i * SOCK_FILTER_SIZE + 2);
    filter.writeUInt8(jf, i * SOCK_FILTER_SIZE + 3);
    filter.writeUInt32LE(k >>> 0, i * SOCK_FILTER_SIZE + 4);
  });
  const fprog = Buffer.alloc(SOCK_FPROG_SIZE);
  fprog.writeUInt16LE(prog.length, 0);
  fprog.writeBigUInt64LE(koffi.address(filter) as bigint, 8);

  // Unprivileged filters require no_new_privs; TSYNC copies it to the other threads.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) !== 0) throw new Error(`prctl(PR_SET_NO_NEW_PRIVS): errno ${koffi.errno()}`);
  const r = Number(syscallSeccomp(arch.sysSeccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, fprog));
  if (r !== 0) throw new Error(r > 0 ? `seccomp: thread ${r} could not be synchronised` : `seccomp: errno ${koffi.errno()}`);
}
