// Socket setup shared by the Linux backends (io_uring, epoll): synchronous libc calls made
// once per socket, never per operation.
import * as c from '../../../native/libc';
import { RecvArenaPort } from './recv_arena';
import { PortError, SockAddr } from './types';

const int1 = new Int32Array([1]);
const linger0 = new Int32Array([1, 0]);

function check(ret: number, what: string): number {
  if (ret < 0) {
    const e = c.lastErrno();
    throw new PortError(`${what}: ${c.errnoMessage(e)}`, -e);
  }
  return ret;
}

export function makeSockaddr(ip: string, port: number): SockAddr {
  const ptr = c.libc.calloc(1, c.SOCKADDR_STORAGE_SIZE) as bigint;
  const len = c.writeSockaddr(c.nativeView(ptr, c.SOCKADDR_STORAGE_SIZE), ip, port);
  // Lives as long as the process: a handful per run, shared by all connects to a target.
  return { ptr, len, family: len === c.SOCKADDR_IN_SIZE ? 4 : 6, ip, port };
}

export function openSocket(family: 4 | 6, source?: SockAddr): number {
  const fd = check(
    c.libc.socket(family === 6 ? c.AF_INET6 : c.AF_INET, c.SOCK_STREAM | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC, 0),
    'socket'
  );
  setNoDelay(fd);
  if (source) {
    try {
      bindSource(fd, source);
    } catch (e) {
      c.libc.close(fd);
      throw e;
    }
  }
  return fd;
}

/**
 * Binds a client socket to a source address, port 0. IP_BIND_ADDRESS_NO_PORT (best effort) keeps
 * bind() from reserving an ephemeral port for the address alone: connect() then picks one per
 * 4-tuple, so each source address offers its whole port range to every destination.
 */
function bindSource(fd: number, source: SockAddr): void {
  c.libc.setsockopt(fd, c.IPPROTO_IP, c.IP_BIND_ADDRESS_NO_PORT, int1, 4);
  check(c.libc.bind(fd, source.ptr, source.len), `bind ${source.family === 6 ? `[${source.ip}]` : source.ip}`);
}

export function setNoDelay(fd: number): void {
  c.libc.setsockopt(fd, c.IPPROTO_TCP, c.TCP_NODELAY, int1, 4);
}

export function setLingerZero(fd: number): void {
  c.libc.setsockopt(fd, c.SOL_SOCKET, c.SO_LINGER, linger0, 8);
}

export function openListener(ip: string, port: number, backlog: number, reusePort = false): { fd: number; port: number } {
  const addr = new Uint8Array(c.SOCKADDR_STORAGE_SIZE);
  const len = c.writeSockaddr(addr, ip, port);
  const v6 = len !== c.SOCKADDR_IN_SIZE;
  const fd = check(c.libc.socket(v6 ? c.AF_INET6 : c.AF_INET, c.SOCK_STREAM | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC, 0), 'socket');
  try {
    c.libc.setsockopt(fd, c.SOL_SOCKET, c.SO_REUSEADDR, int1, 4);
    if (reusePort) c.libc.setsockopt(fd, c.SOL_SOCKET, c.SO_REUSEPORT, int1, 4);
    if (v6) c.libc.setsockopt(fd, c.IPPROTO_IPV6, c.IPV6_V6ONLY, int1, 4);
    check(c.libc.bind(fd, addr, len), `bind ${v6 ? `[${ip}]` : ip}:${port}`);
    check(c.libc.listen(fd, backlog), 'listen');
  } catch (e) {
    c.libc.close(fd);
    throw e;
  }
  return { fd, port: localAddress(fd).port };
}

export function localAddress(fd: number): { ip: string; port: number } {
  const buf = new Uint8Array(c.SOCKADDR_STORAGE_SIZE);
  const len = new Uint32Array([c.SOCKADDR_STORAGE_SIZE]);
  check(c.libc.getsockname(fd, buf, len), 'getsockname');
  const a = c.readSockaddr(buf);
  return { ip: a.ip, port: a.port };
}

export function closeNow(fd: number): void {
  c.libc.close(fd);
}

export function shutdownWrite(fd: number): void {
  c.libc.shutdown(fd, c.SHUT_WR);
}

/** The socket-setup half of CompletionPort, for the Linux backends (on top of the receive buffers every port has). */
export abstract class PosixSocketSetup extends RecvArenaPort {
  openListener(ip: string, port: number, backlog: number, reusePort = false): { fd: number; port: number } {
    return openListener(ip, port, backlog, reusePort);
  }
  openSocket(family: 4 | 6, source?: SockAddr): number {
    return openSocket(family, source);
  }
  sockaddr(ip: string, port: number): SockAddr {
    return makeSockaddr(ip, port);
  }
  localAddress(fd: number): { ip: string; port: number } {
    return localAddress(fd);
  }
  setNoDelay(fd: number): void {
    setNoDelay(fd);
  }
  setLingerZero(fd: number): void {
    setLingerZero(fd);
  }
  closeNow(fd: number): void {
    closeNow(fd);
  }
  shutdownWrite(fd: number): void {
    shutdownWrite(fd);
  }
}
