// Runs node children in which io_uring_setup fails (see deny_io_uring_preload.ts), for tests of
// the epoll fallback at any level: port selection here, commands elsewhere.
import * as path from 'node:path';

/** Absolute path of the compiled preload. */
export const DENY_IO_URING_PRELOAD = path.join(__dirname, 'deny_io_uring_preload.js');

/**
 * `env` plus NODE_OPTIONS that load the preload, so any node process started with it (and
 * every node process that one starts) has no io_uring.
 */
export function envWithoutIoUring(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const prior = env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ` : '';
  return { ...env, NODE_OPTIONS: `${prior}--require ${JSON.stringify(DENY_IO_URING_PRELOAD)}` };
}
