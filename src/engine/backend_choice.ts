// The --io choices and IOCPTLS_IO, without the ports themselves: every command's flags name the
// choices, and a command that never runs the engine (compare, merge, report, a bad command line)
// should not pay for loading koffi, OpenSSL and the port code (20-60 ms of CPU a start) to list them.
import type { Backend } from './port/types';

export type BackendChoice = Backend | 'auto';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'io_uring', 'epoll', 'iocp'];
export const IO_ENV = 'IOCPTLS_IO';

/** The choice when no flag is given: IOCPTLS_IO if set, else 'auto'. Throws on an unknown value. */
export function defaultBackendChoice(env: NodeJS.ProcessEnv = process.env): BackendChoice {
  const v = env[IO_ENV];
  if (v === undefined || v === '') return 'auto';
  return parseBackendChoice(v, IO_ENV);
}

export function parseBackendChoice(value: string, source = '--io'): BackendChoice {
  if ((BACKEND_CHOICES as readonly string[]).includes(value)) return value as BackendChoice;
  throw new Error(`${source}=${value}: expected one of ${BACKEND_CHOICES.join(', ')}`);
}
