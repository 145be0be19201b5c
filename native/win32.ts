// kernel32, ws2_32 and ntdll (Windows x64) as koffi bindings: the I/O completion port, overlapped
// Winsock, struct layouts as byte offsets, constants, and the mapping of Windows error codes to
// the negative Linux errno values every port backend reports. Bound lazily on first use, so this
// module can be imported (and type-checked) on any OS.
import koffi, { type TypeObject } from 'koffi';
import { decodeSockaddr, encodeSockaddr } from './sockaddr';

// --- constants (winsock2.h, ws2def.h, ws2ipdef.h, mswsock.h, winbase.h, winnt.h)
export const AF_INET = 2;
export const AF_INET6 = 23;
export const SOCK_STREAM = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;
export const SOL_SOCKET = 0xffff;
export const SO_REUSEADDR = 0x0004;
/** ~SO_REUSEADDR: no other socket may bind the same port, Windows' safe listener default. */
export const SO_EXCLUSIVEADDRUSE = ~SO_REUSEADDR;
export const SO_LINGER = 0x0080;
export const SO_UPDATE_ACCEPT_CONTEXT = 0x700b;
export const SO_UPDATE_CONNECT_CONTEXT = 0x7010;
/** Windows 10+: an ephemeral port bound before ConnectEx may be shared by different 4-tuples. */
export const SO_REUSE_UNICASTPORT = 0x3007;
export const TCP_NODELAY = 0x0001;
export const IPV6_V6ONLY = 27;
export const SD_SEND = 1;
export const WSA_FLAG_OVERLAPPED = 0x01;
export const WSA_FLAG_NO_HANDLE_INHERIT = 0x80;
export const SIO_GET_EXTENSION_FUNCTION_POINTER = 0xc8000006;
/** ioctlsocket: _IOW('f', 126, u_long), non-blocking mode on/off. */
export const FIONBIO = 0x8004667e;
export const INVALID_SOCKET = -1; // SOCKET is bound as intptr_t, so ~0 reads back as -1
export const SOCKET_ERROR = -1;

export const INFINITE = 0xffffffff;
export const INVALID_HANDLE_VALUE = -1;
export const MEM_COMMIT = 0x1000;
export const MEM_RESERVE = 0x2000;
export const MEM_RELEASE = 0x8000;
export const PAGE_READWRITE = 0x04;
export const FILE_SKIP_COMPLETION_PORT_ON_SUCCESS = 0x1;
export const FILE_SKIP_SET_EVENT_ON_HANDLE = 0x2;

// Win32 / Winsock error codes (winerror.h).
export const ERROR_INVALID_HANDLE = 6;
export const ERROR_NOT_ENOUGH_MEMORY = 8;
export const ERROR_NETNAME_DELETED = 64;
export const ERROR_INVALID_PARAMETER = 87;
export const WAIT_TIMEOUT = 258;
export const ERROR_OPERATION_ABORTED = 995;
export const ERROR_IO_PENDING = 997;
export const ERROR_NOT_FOUND = 1168;
export const ERROR_CONNECTION_REFUSED = 1225;
export const ERROR_CONNECTION_ABORTED = 1236;
export const ERROR_NETWORK_UNREACHABLE = 1231;
export const ERROR_HOST_UNREACHABLE = 1232;
export const ERROR_PORT_UNREACHABLE = 1234;
export const ERROR_SEM_TIMEOUT = 121;
/** STATUS_HANDLES_CLOSED: how Wine completes I/O still pending when its socket is closed. */
export const ERROR_HANDLES_CLOSED = 676;
export const WSA_IO_PENDING = ERROR_IO_PENDING;
export const WSAEINTR = 10004;
export const WSAEBADF = 10009;
export const WSAEINVAL = 10022;
export const WSAEMFILE = 10024;
export const WSAEWOULDBLOCK = 10035;
export const WSAEALREADY = 10037;
export const WSAENOTSOCK = 10038;
export const WSAEAFNOSUPPORT = 10047;
export const WSAEADDRINUSE = 10048;
export const WSAEADDRNOTAVAIL = 10049;
export const WSAENETDOWN = 10050;
export const WSAENETUNREACH = 10051;
export const WSAENETRESET = 10052;
export const WSAECONNABORTED = 10053;
export const WSAECONNRESET = 10054;
export const WSAENOBUFS = 10055;
export const WSAEISCONN = 10056;
export const WSAENOTCONN = 10057;
export const WSAESHUTDOWN = 10058;
export const WSAETIMEDOUT = 10060;
export const WSAECONNREFUSED = 10061;
export const WSAEHOSTUNREACH = 10065;
export const WSAEDISCON = 10101;
export const WSA_OPERATION_ABORTED = ERROR_OPERATION_ABORTED;

/** Win32 / Winsock error → negative Linux errno, the currency of CompletionPort results. */
const ERRNO: Record<number, number> = {
  [ERROR_INVALID_HANDLE]: -9, // EBADF
  [ERROR_NOT_ENOUGH_MEMORY]: -12, // ENOMEM
  [ERROR_NETNAME_DELETED]: -104, // ECONNRESET: what a reset connection's NTSTATUS maps to
  [ERROR_INVALID_PARAMETER]: -22, // EINVAL
  [ERROR_SEM_TIMEOUT]: -110, // ETIMEDOUT
  [ERROR_OPERATION_ABORTED]: -125, // ECANCELED
  [ERROR_HANDLES_CLOSED]: -125, // ECANCELED: the socket was closed under the operation
  [ERROR_NOT_FOUND]: -2, // ENOENT
  [ERROR_CONNECTION_REFUSED]: -111, // ECONNREFUSED
  [ERROR_CONNECTION_ABORTED]: -103, // ECONNABORTED
  [ERROR_NETWORK_UNREACHABLE]: -101, // ENETUNREACH
  [ERROR_HOST_UNREACHABLE]: -113, // EHOSTUNREACH
  [ERROR_PORT_UNREACHABLE]: -111, // ECONNREFUSED
  [WSAEINTR]: -4,
  [WSAEBADF]: -9,
  [WSAEINVAL]: -22,
  [WSAEMFILE]: -24,
  [WSAEWOULDBLOCK]: -11, // EAGAIN
  [WSAEALREADY]: -114,
  [WSAENOTSOCK]: -9, // EBADF: a closed handle
  [WSAEAFNOSUPPORT]: -97,
  [WSAEADDRINUSE]: -98,
  [WSAEADDRNOTAVAIL]: -99,
  [WSAENETDOWN]: -100,
  [WSAENETUNREACH]: -101,
  [WSAENETRESET]: -104,
  [WSAECONNABORTED]: -103,
  [WSAECONNRESET]: -104,
  [WSAENOBUFS]: -105,
  [WSAEISCONN]: -106,
  [WSAENOTCONN]: -107,
  [WSAESHUTDOWN]: -32, // EPIPE: sending after shutdown
  [WSAETIMEDOUT]: -110,
  [WSAECONNREFUSED]: -111,
  [WSAEHOSTUNREACH]: -113,
  [WSAEDISCON]: -104,
};

/** -errno for a Win32 or Winsock error code; codes we do not know become -EIO (-5). */
export function errnoFromWin32(code: number): number {
  return ERRNO[code] ?? -5;
}

// --- struct layouts (x64)
/** OVERLAPPED: Internal (NTSTATUS) @0, InternalHigh (bytes) @8, Offset @16, OffsetHigh @20, hEvent @24. */
export const OVERLAPPED_SIZE = 32;
export const OV_INTERNAL = 0;
export const OV_INTERNAL_HIGH = 8;
/** OVERLAPPED_ENTRY: lpCompletionKey @0, lpOverlapped @8, Internal @16, dwNumberOfBytesTransferred @24 (+4 pad). */
export const OVERLAPPED_ENTRY_SIZE = 32;
export const OE_KEY = 0;
export const OE_OVERLAPPED = 8;
export const OE_INTERNAL = 16;
export const OE_BYTES = 24;
/** WSABUF: ULONG len @0, CHAR *buf @8. */
export const WSABUF_SIZE = 16;
export const WSABUF_LEN = 0;
export const WSABUF_BUF = 8;
/** WSADATA is 408 bytes on x64; we never read it. */
export const WSADATA_SIZE = 408;
export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;
export const SOCKADDR_STORAGE_SIZE = 128;
/** AcceptEx wants room for each address plus 16 bytes, local then remote. */
export const ACCEPTEX_ADDR_LEN = SOCKADDR_IN6_SIZE + 16;
/** struct linger on Windows: two u_short. */
export const LINGER_SIZE = 4;

/** GUIDs of the Winsock extension functions, as the 16 bytes WSAIoctl reads. */
function guid(d1: number, d2: number, d3: number, d4: number[]): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, d1, true);
  v.setUint16(4, d2, true);
  v.setUint16(6, d3, true);
  b.set(d4, 8);
  return b;
}
export const WSAID_ACCEPTEX = guid(0xb5367df1, 0xcbac, 0x11cf, [0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92]);
export const WSAID_CONNECTEX = guid(0x25a207b9, 0xddf3, 0x4660, [0x8e, 0xe9, 0x76, 0xe5, 0x8c, 0x74, 0x06, 0x3e]);

// --- bindings
function bind() {
  const k32 = koffi.load('kernel32.dll');
  const ws = koffi.load('ws2_32.dll');
  const nt = koffi.load('ntdll.dll');
  const mm = koffi.load('winmm.dll');
  // SOCKET and HANDLE are bound as intptr_t: socket handles are small and come back as numbers.
  return {
    CreateIoCompletionPort: k32.func(
      'void *__stdcall CreateIoCompletionPort(intptr_t FileHandle, void *ExistingCompletionPort, uintptr_t CompletionKey, uint32_t NumberOfConcurrentThreads)'
    ),
    GetQueuedCompletionStatusEx: k32.func(
      'int __stdcall GetQueuedCompletionStatusEx(void *CompletionPort, void *lpCompletionPortEntries, uint32_t ulCount, _Out_ uint32_t *ulNumEntriesRemoved, uint32_t dwMilliseconds, int fAlertable)'
    ),
    PostQueuedCompletionStatus: k32.func(
      'int __stdcall PostQueuedCompletionStatus(void *CompletionPort, uint32_t dwNumberOfBytesTransferred, uintptr_t dwCompletionKey, void *lpOverlapped)'
    ),
    CancelIoEx: k32.func('int __stdcall CancelIoEx(intptr_t hFile, void *lpOverlapped)'),
    SetFileCompletionNotificationModes: k32.func('int __stdcall SetFileCompletionNotificationModes(intptr_t FileHandle, uint8_t Flags)'),
    CloseHandle: k32.func('int __stdcall CloseHandle(void *hObject)'),
    GetLastError: k32.func('uint32_t __stdcall GetLastError(void)'),
    VirtualAlloc: k32.func('void *__stdcall VirtualAlloc(void *lpAddress, size_t dwSize, uint32_t flAllocationType, uint32_t flProtect)'),
    VirtualFree: k32.func('int __stdcall VirtualFree(void *lpAddress, size_t dwSize, uint32_t dwFreeType)'),

    WSAStartup: ws.func('int __stdcall WSAStartup(uint16_t wVersionRequested, _Out_ uint8_t *lpWSAData)'),
    WSASocketW: ws.func(
      'intptr_t __stdcall WSASocketW(int af, int type, int protocol, void *lpProtocolInfo, uint32_t g, uint32_t dwFlags)'
    ),
    bind: ws.func('int __stdcall bind(intptr_t s, const void *name, int namelen)'),
    listen: ws.func('int __stdcall listen(intptr_t s, int backlog)'),
    setsockopt: ws.func('int __stdcall setsockopt(intptr_t s, int level, int optname, const void *optval, int optlen)'),
    getsockname: ws.func('int __stdcall getsockname(intptr_t s, _Out_ uint8_t *name, _Inout_ int *namelen)'),
    getpeername: ws.func('int __stdcall getpeername(intptr_t s, _Out_ uint8_t *name, _Inout_ int *namelen)'),
    closesocket: ws.func('int __stdcall closesocket(intptr_t s)'),
    shutdown: ws.func('int __stdcall shutdown(intptr_t s, int how)'),
    WSAIoctl: ws.func(
      'int __stdcall WSAIoctl(intptr_t s, uint32_t dwIoControlCode, const void *lpvInBuffer, uint32_t cbInBuffer, _Out_ uint8_t *lpvOutBuffer, uint32_t cbOutBuffer, _Out_ uint32_t *lpcbBytesReturned, void *lpOverlapped, void *lpCompletionRoutine)'
    ),
    // Overlapped calls take every pointer as native memory (BigInt): it must outlive the call.
    WSARecv: ws.func(
      'int __stdcall WSARecv(intptr_t s, void *lpBuffers, uint32_t dwBufferCount, void *lpNumberOfBytesRecvd, void *lpFlags, void *lpOverlapped, void *lpCompletionRoutine)'
    ),
    WSASend: ws.func(
      'int __stdcall WSASend(intptr_t s, void *lpBuffers, uint32_t dwBufferCount, void *lpNumberOfBytesSent, uint32_t dwFlags, void *lpOverlapped, void *lpCompletionRoutine)'
    ),
    WSAGetLastError: ws.func('int __stdcall WSAGetLastError(void)'),
    ioctlsocket: ws.func('int __stdcall ioctlsocket(intptr_t s, uint32_t cmd, _Inout_ uint32_t *argp)'),

    /** OVERLAPPED.Internal holds an NTSTATUS; this gives the Win32 error GetQueuedCompletionStatus would have. */
    RtlNtStatusToDosError: nt.func('uint32_t __stdcall RtlNtStatusToDosError(uint32_t Status)'),

    /**
     * Timeouts of waits (GetQueuedCompletionStatusEx among them) expire on the system timer tick,
     * 15.6 ms by default; timeBeginPeriod(1) asks for 1 ms while a port is open (per process
     * since Windows 10 2004). Returns TIMERR_NOERROR (0) on success.
     */
    timeBeginPeriod: mm.func('uint32_t __stdcall timeBeginPeriod(uint32_t uPeriod)'),
    timeEndPeriod: mm.func('uint32_t __stdcall timeEndPeriod(uint32_t uPeriod)'),
  };
}

/** A koffi function prototype (AcceptExProto, ConnectExProto), for callers that pass one through. */
export type FunctionProto = TypeObject;

/** Extension functions, fetched per socket provider through WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER). */
export const AcceptExProto = koffi.proto(
  'int __stdcall AcceptEx_t(intptr_t sListenSocket, intptr_t sAcceptSocket, void *lpOutputBuffer, uint32_t dwReceiveDataLength, uint32_t dwLocalAddressLength, uint32_t dwRemoteAddressLength, void *lpdwBytesReceived, void *lpOverlapped)'
);
export const ConnectExProto = koffi.proto(
  'int __stdcall ConnectEx_t(intptr_t s, const void *name, int namelen, const void *lpSendBuffer, uint32_t dwSendDataLength, void *lpdwBytesSent, void *lpOverlapped)'
);
export type AcceptExFn = (
  listen: number,
  accept: number,
  out: bigint,
  recvLen: number,
  localLen: number,
  remoteLen: number,
  bytes: bigint | null,
  ov: bigint
) => number;
export type ConnectExFn = (s: number, name: bigint, namelen: number, send: null, sendLen: number, bytes: null, ov: bigint) => number;

type Win32 = ReturnType<typeof bind>;
let bound: Win32 | undefined;
let started = false;

/** The bindings, loaded on first use (per thread: koffi bindings belong to an isolate), Winsock started. */
export function win32(): Win32 {
  if (!bound) bound = bind();
  if (!started) {
    const r = bound.WSAStartup(0x0202, new Uint8Array(WSADATA_SIZE));
    if (r !== 0) throw new Error(`WSAStartup failed: ${r}`);
    started = true;
  }
  return bound;
}

/** Looks up a Winsock extension function (AcceptEx, ConnectEx) for the provider behind `s`. */
export function extensionFunction<T>(s: number, id: Uint8Array, proto: TypeObject): T {
  const w = win32();
  const out = new Uint8Array(8);
  const bytes = new Uint32Array(1);
  if (w.WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, id, 16, out, 8, bytes, null, null) !== 0) {
    throw new Error(`WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER): error ${w.WSAGetLastError()}`);
  }
  const ptr = new DataView(out.buffer).getBigUint64(0, true);
  return koffi.decode(ptr, proto) as T;
}

/** A Uint8Array over native memory (no copy). */
export function nativeView(p: bigint, len: number): Uint8Array {
  return new Uint8Array(koffi.view(p, len));
}

// --- sockaddr (Windows' AF_INET6 is 23; the layouts match the BSD ones)
/** Fills a SOCKADDR_IN/SOCKADDR_IN6 in `dst` (at least 28 bytes); returns its length. */
export function writeSockaddr(dst: Uint8Array, ip: string, port: number): number {
  return encodeSockaddr(dst, ip, port, AF_INET6);
}

export function readSockaddr(src: Uint8Array): { family: 4 | 6; ip: string; port: number } {
  return decodeSockaddr(src, AF_INET6);
}
