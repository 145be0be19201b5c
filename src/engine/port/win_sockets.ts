// Socket setup for the IOCP backend: synchronous Winsock calls made once per socket, never per
// operation. Every socket is overlapped; the port associates it with itself.
import { nativeMemory } from '../../../native/memory';
import * as w from '../../../native/win32';
import { PortError, SockAddr } from './types';

const int1 = new Int32Array([1]);
const linger0 = new Uint16Array([1, 0]);

function fail(what: string): never {
  const err = w.win32().WSAGetLastError();
  throw new PortError(`${what}: Winsock error ${err}`, w.errnoFromWin32(err));
}

export function newSocket(family: 4 | 6): number {
  const s = w
    .win32()
    .WSASocketW(family === 6 ? w.AF_INET6 : w.AF_INET, w.SOCK_STREAM, w.IPPROTO_TCP, null, 0, w.WSA_FLAG_OVERLAPPED | w.WSA_FLAG_NO_HANDLE_INHERIT);
  if (s === w.INVALID_SOCKET) fail('WSASocketW');
  return s;
}

/** -errno, or a fresh overlapped socket (for AcceptEx, where a failure is a completion result). */
export function tryNewSocket(family: 4 | 6): number {
  const s = w
    .win32()
    .WSASocketW(family === 6 ? w.AF_INET6 : w.AF_INET, w.SOCK_STREAM, w.IPPROTO_TCP, null, 0, w.WSA_FLAG_OVERLAPPED | w.WSA_FLAG_NO_HANDLE_INHERIT);
  return s === w.INVALID_SOCKET ? w.errnoFromWin32(w.win32().WSAGetLastError()) : s;
}

/**
 * ConnectEx only works on a bound socket: bind to the wildcard address, port 0. With
 * SO_REUSE_UNICASTPORT (Windows 10+) the ephemeral port is picked at connect time and can be
 * shared across 4-tuples, so many client sockets do not exhaust the port range early.
 */
export function bindWildcard(s: number, family: 4 | 6): void {
  const win = w.win32();
  win.setsockopt(s, w.SOL_SOCKET, w.SO_REUSE_UNICASTPORT, int1, 4); // best effort: older systems lack it
  const addr = new Uint8Array(w.SOCKADDR_STORAGE_SIZE);
  const len = w.writeSockaddr(addr, family === 6 ? '::' : '0.0.0.0', 0);
  if (win.bind(s, addr, len) !== 0) fail('bind (before ConnectEx)');
}

/** The same bind, to a chosen source address (--bind) instead of the wildcard; port 0 still. */
export function bindSource(s: number, source: SockAddr): void {
  const win = w.win32();
  win.setsockopt(s, w.SOL_SOCKET, w.SO_REUSE_UNICASTPORT, int1, 4);
  if (win.bind(s, source.ptr, source.len) !== 0) fail(`bind ${source.family === 6 ? `[${source.ip}]` : source.ip} (before ConnectEx)`);
}

export function openListenerSocket(ip: string, port: number, backlog: number): { fd: number; port: number; family: 4 | 6 } {
  const win = w.win32();
  const addr = new Uint8Array(w.SOCKADDR_STORAGE_SIZE);
  const len = w.writeSockaddr(addr, ip, port);
  const family = len === w.SOCKADDR_IN_SIZE ? 4 : 6;
  const s = newSocket(family);
  try {
    // Windows' SO_REUSEADDR lets another socket steal the port; binding over TIME_WAIT is
    // allowed without it. SO_EXCLUSIVEADDRUSE is the safe listener setting.
    win.setsockopt(s, w.SOL_SOCKET, w.SO_EXCLUSIVEADDRUSE, int1, 4);
    if (family === 6) win.setsockopt(s, w.IPPROTO_IPV6, w.IPV6_V6ONLY, int1, 4);
    if (win.bind(s, addr, len) !== 0) fail(`bind ${family === 6 ? `[${ip}]` : ip}:${port}`);
    if (win.listen(s, backlog) !== 0) fail('listen');
  } catch (e) {
    win.closesocket(s);
    throw e;
  }
  return { fd: s, port: localAddress(s).port, family };
}

export function localAddress(s: number): { ip: string; port: number } {
  const buf = new Uint8Array(w.SOCKADDR_STORAGE_SIZE);
  const len = new Int32Array([w.SOCKADDR_STORAGE_SIZE]);
  if (w.win32().getsockname(s, buf, len) !== 0) fail('getsockname');
  const a = w.readSockaddr(buf);
  return { ip: a.ip, port: a.port };
}

export function peerAddress(s: number): { ip: string; port: number } {
  const buf = new Uint8Array(w.SOCKADDR_STORAGE_SIZE);
  const len = new Int32Array([w.SOCKADDR_STORAGE_SIZE]);
  if (w.win32().getpeername(s, buf, len) !== 0) fail('getpeername');
  const a = w.readSockaddr(buf);
  return { ip: a.ip, port: a.port };
}

export function setNoDelay(s: number): void {
  w.win32().setsockopt(s, w.IPPROTO_TCP, w.TCP_NODELAY, int1, 4);
}

export function setLingerZero(s: number): void {
  w.win32().setsockopt(s, w.SOL_SOCKET, w.SO_LINGER, linger0, w.LINGER_SIZE);
}

/** 0 or -errno. */
export function closeSocket(s: number): number {
  const win = w.win32();
  return win.closesocket(s) === 0 ? 0 : w.errnoFromWin32(win.WSAGetLastError());
}

export function shutdownWrite(s: number): void {
  w.win32().shutdown(s, w.SD_SEND);
}

// Socket addresses live in a process-wide arena that is never freed: a handful per run,
// shared by every connect to a target, and possibly by ports on other threads.
const ARENA_SIZE = 64 * 1024;
const ENTRY = 32; // >= SOCKADDR_IN6_SIZE, keeps entries 8-byte aligned
let arena = 0n;
let arenaUsed = ARENA_SIZE;

export function makeSockaddr(ip: string, port: number): SockAddr {
  const win = w.win32();
  if (arenaUsed + ENTRY > ARENA_SIZE) {
    const p = win.VirtualAlloc(null, ARENA_SIZE, w.MEM_COMMIT | w.MEM_RESERVE, w.PAGE_READWRITE) as bigint | null;
    if (!p) throw new PortError('VirtualAlloc failed', -12);
    arena = p;
    arenaUsed = 0;
  }
  const ptr = arena + BigInt(arenaUsed);
  const len = w.writeSockaddr(new Uint8Array(nativeMemory(ptr, ENTRY)), ip, port);
  arenaUsed += ENTRY;
  return { ptr, len, family: len === w.SOCKADDR_IN_SIZE ? 4 : 6, ip, port };
}
