// The thread side of the scan's certificate handshakes (the main side, CertPool, is in
// scan_cert.ts): loads OpenSSL once, keeps one verifying context per trust setting and one loop,
// and answers requests concurrently on it.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { loadOpenSSL } from '../../../native/openssl';
import { ConnectClient } from '../connect';
import { Loop } from '../loop';
import { createPort } from '../port';
import { IocptlsError } from '../errors';
import type { Reply, ScanCertRequest } from './scan_cert';

const clients = new Map<string, ConnectClient>();
/**
 * One port and loop per backend for every handshake of this thread, several at once: a port per
 * handshake (an io_uring set up and torn down each time) cost more than a loopback handshake, and
 * one at a time left the thread waiting on one server while others had answered.
 */
const loops = new Map<string, Loop>();

/** Frees the verifying contexts (their trust stores): a host's session thread ends with its host, and a scan of many hosts starts many. */
export function closeCertificateClients(): void {
  for (const c of clients.values()) c.close();
  clients.clear();
}

/**
 * One certificate handshake on this thread: on its own loop (the pool's threads), or on `shared`,
 * the loop of a host's session probe thread, which a full scan asks instead (one thread less to
 * start while the scan's first probes fly).
 */
export async function certificateHandshake(req: ScanCertRequest, shared?: Loop): Promise<Reply> {
  try {
    // One verifying context per trust setting, kept for every target this thread handshakes with.
    const key = `${req.backend}\0${req.ca ?? ''}`;
    let client = clients.get(key);
    if (!client) {
      client = new ConnectClient({ backend: req.backend, tls: { verify: false, reportVerify: true, ca: req.ca, alpn: ['h2', 'http/1.1'] } });
      clients.set(key, client);
    }
    let loop = shared ?? loops.get(req.backend);
    if (!loop) loops.set(req.backend, (loop = new Loop(createPort(req.backend))));
    const resume = req.resumption !== false;
    const r = await client.probe(
      { ip: req.ip, port: req.port },
      // One reconnect tries resumption; a TLS 1.3 server's ticket is waited for at most 250 ms.
      { servername: req.servername, verifyHost: req.verifyHost, timeoutMs: req.timeoutMs, quietMs: 0, ticketWaitMs: resume ? 250 : 0, reconnect: resume ? 1 : 0 },
      loop
    );
    return {
      result: {
        der: r.chainDer,
        keyTypes: r.chainKeyTypes,
        signatureAlgorithms: r.chainSignatureAlgorithms,
        protocol: r.negotiated.protocol,
        alpn: r.negotiated.alpn ?? undefined,
        verify: r.verify,
        trust: client.trust,
        resumption: {
          resumed: !!r.reconnects[0]?.negotiated?.resumed,
          tickets: r.tickets,
          error: r.reconnects[0]?.error?.message,
        },
      },
    };
  } catch (e) {
    return { error: e instanceof IocptlsError ? e.message : String((e as Error)?.message ?? e) };
  }
}

if (!isMainThread && parentPort && workerData?.scanCertPool) {
  const port = parentPort;
  loadOpenSSL(workerData.scanCertPool.libssl);
  // Requests run concurrently on the thread's loop.
  const inFlight = new Set<Promise<void>>();
  port.on('message', (m: { id: number; req: ScanCertRequest } | { quit: true }) => {
    if ('quit' in m) {
      // The pool is done with this thread: it ends itself once its handshakes have (each has its
      // own timeout), from JavaScript and between native calls. Worker.terminate() could stop it
      // inside one (koffi then aborts the whole process: "napi_throw" as a fatal error).
      void Promise.allSettled([...inFlight]).then(() => process.exit(0));
      return;
    }
    const job = certificateHandshake(m.req).then((r) => port.postMessage({ id: m.id, ...r }));
    inFlight.add(job);
    void job.finally(() => inFlight.delete(job));
  });
}
