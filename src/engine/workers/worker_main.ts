// Worker thread entry: loads this thread's own OpenSSL bindings and completion port, then runs
// the job. Errors go back as {cmd: 'ERROR'} with the error's code and fields.
import { parentPort, workerData } from 'node:worker_threads';
import { loadOpenSSL } from '../../../native/openssl';
import { IocptlsError } from '../errors';
import type { WorkerInit, WorkerMessage } from './protocol';

export type Post = (m: WorkerMessage) => void;

const init = workerData as WorkerInit;
const post: Post = (m) => parentPort!.postMessage(m);

try {
  loadOpenSSL(init.openssl);
  if (init.kind === 'serve') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('./serve_worker') as typeof import('./serve_worker')).runServeWorker(init as never, post);
  } else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('./bench_worker') as { runBenchWorker: (i: WorkerInit, p: Post) => void }).runBenchWorker(init, post);
  }
} catch (e) {
  const err = e as IocptlsError;
  post({
    cmd: 'ERROR',
    worker: init.worker,
    error: typeof err.toJSON === 'function' ? (err.toJSON() as never) : { message: String(err?.message ?? err) },
  });
}
