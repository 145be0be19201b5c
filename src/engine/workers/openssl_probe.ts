// What another libssl is, asked on a thread of its own: a thread loads one OpenSSL (koffi
// bindings are per thread), and this process's main thread already has its own. `bench ab` runs
// one side with a different --openssl in its worker threads and reports that side's library.
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { loadOpenSSL } from '../../../native/openssl';
import type { OpensslInfo } from '../../report/facts';
import { ConfigError } from '../errors';
import { opensslInfo } from '../openssl_info';

/** Loads `libssl` on a new thread and returns what it says it is; a library that does not load is a ConfigError. */
export function probeOpenssl(libssl: string): Promise<OpensslInfo> {
  return new Promise((resolve, reject) => {
    const w = new Worker(path.join(__dirname, 'openssl_probe.js'), { workerData: { libssl } });
    w.once('message', (m: { info?: OpensslInfo; error?: string }) => {
      if (m.info) resolve(m.info);
      else reject(new ConfigError(m.error ?? `--openssl: cannot load ${libssl}`));
    });
    w.once('error', (e) => reject(new ConfigError(e.message)));
    w.once('exit', () => reject(new ConfigError(`--openssl: cannot load ${libssl}`)));
  });
}

if (!isMainThread && parentPort && workerData?.libssl !== undefined) {
  try {
    loadOpenSSL(workerData.libssl as string);
    parentPort.postMessage({ info: opensslInfo() });
  } catch (e) {
    parentPort.postMessage({ error: (e as Error).message });
  }
}
