// The scan's one full OpenSSL handshake (the verified certificate chain, as `connect` gets it),
// run on a thread of its own: building a verifying context loads the trust store (50-80 ms of
// synchronous work) and the loop blocks in its port between turns, and either would stall the
// main thread's probe sockets, whose timing is the scan's critical path.
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { loadOpenSSL } from '../../../native/openssl';
import { ConnectClient } from '../connect';
import { IocptlsError } from '../errors';
import type { Backend } from '../port/types';

export interface ScanCertRequest {
  /** The libssl to load (undefined: the one inside node), as the main thread did. */
  libssl?: string;
  backend: Backend;
  ip: string;
  port: number;
  servername?: string;
  verifyHost: string;
  ca?: string;
  timeoutMs: number;
}

export interface ScanCertResult {
  der: Buffer[];
  keyTypes: string[];
  signatureAlgorithms: string[];
  protocol: string;
  alpn?: string;
  verify: { ok: boolean; message: string };
  trust?: string;
  /** One reconnect offering the session (ticket or id) the first handshake left. */
  resumption: { resumed: boolean; tickets: number; error?: string };
}

/** Runs the handshake on a new thread; resolves undefined (with the reason) when it fails. */
export function scanCertificate(req: ScanCertRequest): Promise<{ result?: ScanCertResult; error?: string }> {
  return new Promise((resolve) => {
    const w = new Worker(path.join(__dirname, 'scan_cert.js'), { workerData: { scanCert: req } });
    let done = false;
    // The handshake has its own timeout; this one guards against a thread that never answers.
    const guard = setTimeout(() => {
      finish({ error: `certificate handshake did not finish in ${2 * req.timeoutMs + 2000} ms` });
      void w.terminate();
    }, 2 * req.timeoutMs + 2000);
    const finish = (v: { result?: ScanCertResult; error?: string }) => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      resolve(v);
    };
    w.once('message', (m: { result?: ScanCertResult; error?: string }) => {
      if (m.result) m.result.der = m.result.der.map((d) => Buffer.from(d));
      finish(m);
    });
    w.once('error', (e) => finish({ error: e.message }));
    w.once('exit', () => finish({ error: 'certificate thread exited' }));
  });
}

async function main(req: ScanCertRequest): Promise<{ result?: ScanCertResult; error?: string }> {
  loadOpenSSL(req.libssl);
  let client: ConnectClient | undefined;
  try {
    client = new ConnectClient({ backend: req.backend, tls: { verify: false, reportVerify: true, ca: req.ca, alpn: ['h2', 'http/1.1'] } });
    const r = await client.probe(
      { ip: req.ip, port: req.port },
      // One reconnect tries resumption; a TLS 1.3 server's ticket is waited for at most 250 ms.
      { servername: req.servername, verifyHost: req.verifyHost, timeoutMs: req.timeoutMs, quietMs: 0, ticketWaitMs: 250, reconnect: 1 }
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
  } finally {
    client?.close();
  }
}

if (!isMainThread && parentPort && workerData?.scanCert) {
  const port = parentPort;
  void main(workerData.scanCert as ScanCertRequest).then((m) => port.postMessage(m));
}
