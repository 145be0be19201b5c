// Chooses and creates a completion port: --io flag, else IOCPTLS_IO, else auto. Auto takes the
// best facility this process can actually use (io_uring is often disabled in containers), and
// says why when it had to fall back, so callers can print one line about it.
import { EpollPort } from './epoll';
import { IoUringPort } from './io_uring';
import { defaultBackendChoice, type BackendChoice } from '../backend_choice';
import { Backend, CompletionPort } from './types';

export { BACKEND_CHOICES, IO_ENV, defaultBackendChoice, parseBackendChoice, type BackendChoice } from '../backend_choice';

export interface BackendResolution {
  backend: Backend;
  /** What was asked for (flag, IOCPTLS_IO, or the 'auto' default). */
  choice: BackendChoice;
  /** Set when auto had to skip a better backend: one line for stderr, e.g. "iocptls: io_uring unavailable (…), using epoll". */
  notice?: string;
}

export class BackendUnavailableError extends Error {
  readonly code = 'IOCPTLS_ERR_IO_BACKEND';
  constructor(
    readonly backend: Backend,
    readonly reason: string
  ) {
    super(`--io ${backend}: unavailable (${reason})`);
    this.name = 'BackendUnavailableError';
  }
}

/** The order auto tries on this platform. */
function preference(): Backend[] {
  return process.platform === 'win32' ? ['iocp'] : process.platform === 'linux' ? ['io_uring', 'epoll'] : [];
}

/** Opens a port of this backend, or says in a few words why it cannot. */
function tryOpen(backend: Backend): CompletionPort | string {
  if (!preference().includes(backend)) return `not on ${process.platform}`;
  try {
    switch (backend) {
      case 'io_uring': {
        const port = new IoUringPort();
        const missing = port.unsupportedOps();
        if (missing.length === 0) return port;
        port.close();
        return `kernel lacks ${missing.join(', ')}`;
      }
      case 'epoll':
        return new EpollPort();
      case 'iocp': {
        // IOCP backend (Windows): src/engine/port/iocp.ts, written separately. Loaded lazily so
        // that Linux never loads kernel32/ws2_32 bindings.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { IocpPort } = require('./iocp') as { IocpPort: new () => CompletionPort };
        return new IocpPort();
      }
    }
  } catch (e) {
    return (e as Error).message;
  }
}

// Availability does not change within a process; probing io_uring costs a ring setup.
const probed = new Map<Backend, string | null>();

/** null if the backend works in this process, else the reason it does not. */
export function backendUnavailableReason(backend: Backend): string | null {
  let reason = probed.get(backend);
  if (reason === undefined) {
    const r = tryOpen(backend);
    reason = typeof r === 'string' ? r : null;
    if (typeof r !== 'string') r.close();
    probed.set(backend, reason);
  }
  return reason;
}

/** Every backend that can run in this process, best first. */
export function availableBackends(): Backend[] {
  return preference().filter((b) => backendUnavailableReason(b) === null);
}

/**
 * Picks the backend for `choice` (default: IOCPTLS_IO, else auto). Auto falls back and explains
 * why in `notice`; an explicit choice that cannot run throws BackendUnavailableError.
 */
export function resolveBackend(choice: BackendChoice = defaultBackendChoice()): BackendResolution {
  if (choice !== 'auto') {
    const reason = backendUnavailableReason(choice);
    if (reason !== null) throw new BackendUnavailableError(choice, reason);
    return { backend: choice, choice };
  }
  const skipped: string[] = [];
  for (const b of preference()) {
    const reason = backendUnavailableReason(b);
    if (reason === null) {
      const notice = skipped.length ? `iocptls: ${skipped.join('; ')}, using ${b}` : undefined;
      return { backend: b, choice, notice };
    }
    skipped.push(`${b} unavailable (${reason})`);
  }
  throw new Error(`no I/O backend available on ${process.platform}${skipped.length ? `: ${skipped.join('; ')}` : ''}`);
}

/**
 * A new port (one per thread). Workers should be handed the concrete backend the main thread
 * resolved (and announced), so that every thread runs the same one.
 */
export function createPort(choice: BackendChoice = defaultBackendChoice()): CompletionPort {
  const backend = resolveBackend(choice).backend;
  const r = tryOpen(backend);
  if (typeof r === 'string') throw new BackendUnavailableError(backend, r);
  return r;
}
