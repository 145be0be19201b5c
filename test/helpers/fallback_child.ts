// Child process for io_fallback.test.ts: resolves the I/O backend the way a command does
// (IOCPTLS_IO or auto, one stderr line on fallback), then proves the chosen port works with
// real loopback I/O, here and in a worker thread. Prints one JSON line on stdout.
import { Worker } from 'node:worker_threads';
import { availableBackends, createPort, resolveBackend } from '../../src/engine/port/index';
import { PortHarness } from './port_harness';

async function pingPong(backend: ReturnType<typeof resolveBackend>['backend']): Promise<string> {
  const h = new PortHarness(createPort(backend));
  try {
    const l = h.listener();
    const client = h.socket();
    const [server, rc] = await h.wait([h.accept(l.fd), h.connect(client, l.addr)]);
    if (server < 0 || rc !== 0) throw new Error(`accept ${server}, connect ${rc}`);
    h.track(server);
    const out = h.buffer(4);
    out.view.set(Buffer.from('ping'));
    const inb = h.buffer(16);
    const [n] = await h.wait([h.recv(server, inb.ptr, 16), h.send(client, out.ptr, 4)]);
    return Buffer.from(inb.view.subarray(0, n)).toString();
  } finally {
    await h.dispose();
  }
}

function workerBackends(): Promise<string[]> {
  const src = `const { parentPort } = require('node:worker_threads');
    parentPort.postMessage(require(${JSON.stringify(require.resolve('../../src/engine/port/index'))}).availableBackends());`;
  return new Promise((resolve, reject) => {
    const w = new Worker(src, { eval: true });
    w.once('message', (m: string[]) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

async function main(): Promise<void> {
  let resolution;
  try {
    resolution = resolveBackend();
  } catch (e) {
    process.stderr.write(`iocptls: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (resolution.notice) process.stderr.write(resolution.notice + '\n');
  const received = await pingPong(resolution.backend);
  const result = { backend: resolution.backend, available: availableBackends(), worker: await workerBackends(), received };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stderr.write(`child failed: ${(e as Error).stack}\n`);
  process.exitCode = 1;
});
