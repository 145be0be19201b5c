// `iocptls serve` in a child process, on 127.0.0.1 and a port the kernel picks: the embedded
// server of runs that measure the client's own CPU (bench handshake --compare-groups), which
// must not share a process with the server it loads.
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { IocptlsError } from '../engine/errors';
import type { ServeDocument } from '../report/serve';

const RUN_JS = path.resolve(__dirname, '../../../bin/run.js');
const LISTENING = /iocptls serve: listening on 127\.0\.0\.1:(\d+)/;

export interface ServeChild {
  port: number;
  /** Stops it gracefully and returns its totals document (undefined when it had to be killed). */
  stop(): Promise<ServeDocument | undefined>;
}

/** Starts `iocptls serve --port 0 --json ...args`; resolves once it listens. */
export function startServeChild(args: string[], startTimeoutMs = 30_000): Promise<ServeChild> {
  const proc: ChildProcess = spawn(process.execPath, [RUN_JS, 'serve', '--host', '127.0.0.1', '--port', '0', '--json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const closed = new Promise<void>((r) => proc.once('close', () => r()));
  // Never outlive the command, whatever ends it.
  const kill = () => proc.kill('SIGKILL');
  process.once('exit', kill);
  return new Promise((resolve, reject) => {
    let started = false;
    const timer = setTimeout(() => {
      kill();
      reject(new IocptlsError(`the embedded server did not start within ${startTimeoutMs / 1000} s`));
    }, startTimeoutMs);
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      const m = LISTENING.exec(err);
      if (!m || started) return;
      started = true;
      clearTimeout(timer);
      resolve({
        port: Number(m[1]),
        stop: async () => {
          // SIGINT is serve's graceful stop (totals on stdout); Windows has no such signal for a child.
          if (process.platform === 'win32') kill();
          else proc.kill('SIGINT');
          const force = setTimeout(kill, 10_000);
          await closed;
          clearTimeout(force);
          process.off('exit', kill);
          try {
            return JSON.parse(out) as ServeDocument;
          } catch {
            return undefined;
          }
        },
      });
    });
    void closed.then(() => {
      if (started) return;
      clearTimeout(timer);
      process.off('exit', kill);
      // serve's own one-line error (a bad flag, a group it lacks) is the cause.
      const line = err.split('\n').find((l) => l.startsWith('iocptls: '));
      reject(new IocptlsError(line ? line.slice('iocptls: '.length) : `the embedded server exited before listening: ${err.trim().slice(-500)}`));
    });
  });
}
