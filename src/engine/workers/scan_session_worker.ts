// The thread that runs a host's full-handshake scan probes (src/engine/scan/session_probes.ts):
// one completion loop and port, OpenSSL loaded once, requests by message, each answered when its
// connection has closed. The main thread asks through SessionProber (scan_session.ts).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { loadOpenSSL } from '../../../native/openssl';
import { Loop } from '../loop';
import { createPort } from '../port';
import { certificateHandshake, closeCertificateClients } from './scan_cert_worker';
import { forget, freeContexts, handshakeProbe, ProbeEnv, resumeProbe, resumptionProbe, SessionRequest } from '../scan/session_probes';
import type { CertificateRequest, Result, SessionProberOptions } from './scan_session';

function serve(o: SessionProberOptions): void {
  loadOpenSSL(o.libssl);
  const loop = new Loop(createPort(o.backend));
  const env: ProbeEnv = { loop, addr: loop.port.sockaddr(o.ip, o.port), timeoutMs: o.timeoutMs, pollers: new Set() };
  let active = 0;
  let running = false;
  const port = parentPort!;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      await loop.runAsync(() => {
        for (const p of env.pollers) p();
        return active === 0;
      });
    } finally {
      running = false;
    }
  };
  const jobs = new Set<Promise<unknown>>();
  port.on('message', (m: { id: number; request: SessionRequest | CertificateRequest } | { quit: true }) => {
    if ('quit' in m) {
      // Asked to end (close()): once the probes have ended, from JavaScript and between native
      // calls; Worker.terminate() could stop the thread inside a koffi call, which aborts the process.
      void Promise.allSettled([...jobs]).then(() => process.exit(0));
      return;
    }
    active++;
    const q = m.request;
    const job: Promise<Result> =
      q.kind === 'handshake'
        ? handshakeProbe(env, q)
        : q.kind === 'resumption'
          ? resumptionProbe(env, q)
          : q.kind === 'resume'
            ? resumeProbe(env, q)
            : q.kind === 'certificate'
              ? certificateHandshake(q.req, loop)
              : Promise.resolve(forget(q));
    void run();
    const answered = job
      .then(
        (result) => port.postMessage({ id: m.id, result }),
        (e) => port.postMessage({ id: m.id, error: String((e as Error)?.message ?? e) })
      )
      .finally(() => {
        active--;
        jobs.delete(answered);
      });
    jobs.add(answered);
  });
  process.on('exit', () => {
    freeContexts();
    closeCertificateClients();
    loop.destroy();
  });
}

if (!isMainThread && parentPort && workerData?.scanSession) serve(workerData.scanSession as SessionProberOptions);
// Started before the command line was parsed (scan_prestart.ts): the modules above are loaded;
// the host's options come as the first message.
if (!isMainThread && parentPort && workerData?.scanSessionLater) parentPort.once('message', (m: { scanSession: SessionProberOptions }) => serve(m.scanSession));
