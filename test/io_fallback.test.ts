// Fallback for real: a seccomp filter makes io_uring_setup fail with EPERM in a child process
// (as Docker's default profile does); auto must then run on epoll, say so in one stderr line,
// and do real loopback I/O.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import {
  availableBackends,
  BackendUnavailableError,
  defaultBackendChoice,
  parseBackendChoice,
  resolveBackend,
} from '../src/engine/port/index';
import { envWithoutIoUring } from './helpers/without_io_uring';

const CHILD = path.join(__dirname, 'helpers', 'fallback_child.js');

interface ChildRun {
  code: number;
  stdout: string;
  stderrLines: string[];
  result?: { backend: string; available: string[]; worker: string[]; received: string };
}

function runChild(env: NodeJS.ProcessEnv): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CHILD], { env, timeout: 10_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      const code = err ? (err.code as number) : 0;
      const line = stdout.trim().split('\n').pop();
      resolve({
        code,
        stdout,
        stderrLines: stderr.split('\n').filter((l) => l !== ''),
        result: code === 0 && line ? JSON.parse(line) : undefined,
      });
    });
  });
}

function envWith(extra: Record<string, string | undefined>, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base, ...extra };
  for (const k of Object.keys(extra)) if (extra[k] === undefined) delete env[k];
  return env;
}

describe('I/O backend selection and fallback', function () {
  this.timeout(20_000);
  if (process.platform !== 'linux') return;

  it('auto picks epoll when io_uring_setup is denied, says so once, and does real I/O', async () => {
    const run = await runChild(envWithoutIoUring(envWith({ IOCPTLS_IO: undefined })));
    assert.equal(run.code, 0, run.stderrLines.join('\n'));
    assert.equal(run.stderrLines.length, 1, `exactly one stderr line, got: ${JSON.stringify(run.stderrLines)}`);
    assert.match(run.stderrLines[0], /^iocptls: io_uring unavailable \(io_uring_setup: EPERM\b[^)]*\)+, using epoll$/);
    assert.deepEqual(run.result, { backend: 'epoll', available: ['epoll'], worker: ['epoll'], received: 'ping' });
  });

  it('without the filter, the same child runs io_uring silently (the filter is what made the difference)', async function () {
    if (!availableBackends().includes('io_uring')) this.skip(); // this machine is itself the fallback case
    const run = await runChild(envWith({ IOCPTLS_IO: undefined }));
    assert.equal(run.code, 0, run.stderrLines.join('\n'));
    assert.deepEqual(run.stderrLines, []);
    assert.equal(run.result?.backend, 'io_uring');
    assert.equal(run.result?.received, 'ping');
    assert.deepEqual(run.result?.worker, ['io_uring', 'epoll']);
  });

  it('an explicitly requested io_uring that is denied fails with one clear line', async () => {
    const run = await runChild(envWithoutIoUring(envWith({ IOCPTLS_IO: 'io_uring' })));
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.equal(run.stderrLines.length, 1, JSON.stringify(run.stderrLines));
    assert.match(run.stderrLines[0], /^iocptls: --io io_uring: unavailable \(io_uring_setup: EPERM\b/);
  });

  it('IOCPTLS_IO=epoll is taken as an explicit choice, with no notice', async () => {
    const run = await runChild(envWithoutIoUring(envWith({ IOCPTLS_IO: 'epoll' })));
    assert.equal(run.code, 0, run.stderrLines.join('\n'));
    assert.deepEqual(run.stderrLines, []);
    assert.equal(run.result?.backend, 'epoll');
    assert.equal(run.result?.received, 'ping');
  });

  it('reads IOCPTLS_IO, rejects unknown values, and refuses iocp on Linux', () => {
    assert.equal(defaultBackendChoice({}), 'auto');
    assert.equal(defaultBackendChoice({ IOCPTLS_IO: 'epoll' }), 'epoll');
    assert.throws(() => defaultBackendChoice({ IOCPTLS_IO: 'kqueue' }), /IOCPTLS_IO=kqueue: expected one of auto, io_uring, epoll, iocp/);
    assert.throws(() => parseBackendChoice('uring'), /--io=uring: expected one of/);
    assert.throws(() => resolveBackend('iocp'), (e: unknown) => e instanceof BackendUnavailableError && /--io iocp: unavailable \(not on linux\)/.test(e.message));
    assert.deepEqual(resolveBackend('epoll'), { backend: 'epoll', choice: 'epoll' });
  });
});
