// The main thread's side of the thread that runs a host's full-handshake scan probes
// (src/engine/scan/session_probes.ts; the thread itself is scan_session_worker.ts, whose loop,
// TLS sessions and probes the main thread does not load): SessionProber sends the requests
// (through the host's probe limiter) and guards each with a timeout of its own, so a thread that
// stops answering costs a probe error, never a hung scan.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Backend } from '../port/types';
import { takePrestartedThread } from './scan_prestart';
import type { Reply as CertReply, ScanCertRequest } from './scan_cert';
import type {
  ForgetRequest,
  HandshakeRequest,
  HandshakeResult,
  ResumeRequest,
  ResumeResult,
  ResumptionRequest,
  ResumptionResult,
  SessionRequest,
} from '../scan/session_probes';

export interface SessionProberOptions {
  libssl?: string;
  backend: Backend;
  ip: string;
  port: number;
  timeoutMs: number;
}

/** The certificate handshake of scan_cert.ts, asked of this thread by a full scan. */
export interface CertificateRequest {
  kind: 'certificate';
  req: ScanCertRequest;
}

export type Result = HandshakeResult | ResumptionResult | ResumeResult | CertReply | { ok: true };
type Reply = { id: number; result?: Result; error?: string };

/** Main thread: one worker per host, started on the first request, ended by close(). */
export class SessionProber {
  #worker: Worker | undefined;
  #next = 1;
  #waiting = new Map<number, (r: Reply) => void>();
  #dead: string | undefined;
  constructor(readonly o: SessionProberOptions) {}

  #start(): Worker {
    const early = takePrestartedThread();
    early?.postMessage({ scanSession: this.o });
    const w = early ?? new Worker(path.join(__dirname, 'scan_session_worker.js'), { workerData: { scanSession: this.o } });
    w.on('message', (m: Reply) => {
      const f = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      f?.(m);
    });
    const fail = (why: string) => {
      this.#dead ??= why;
      for (const [id, f] of this.#waiting) f({ id, error: why });
      this.#waiting.clear();
    };
    w.on('error', (e) => fail(`session probe thread failed: ${e.message}`));
    w.on('exit', () => fail('session probe thread exited'));
    // Requests in flight keep the process alive; an idle prober does not.
    w.unref();
    return w;
  }

  /** Starts the thread now (it takes a few hundred ms to load OpenSSL's bindings), so it is ready when the first request comes. */
  warm(): void {
    if (!this.#dead) this.#worker ??= this.#start();
  }

  request(r: HandshakeRequest): Promise<HandshakeResult>;
  request(r: ResumptionRequest): Promise<ResumptionResult>;
  request(r: ResumeRequest): Promise<ResumeResult>;
  request(r: ForgetRequest): Promise<{ ok: true }>;
  request(r: CertificateRequest): Promise<CertReply>;
  request(r: SessionRequest | CertificateRequest): Promise<Result> {
    if (this.#dead) return Promise.reject(new Error(this.#dead));
    const w = (this.#worker ??= this.#start());
    const id = this.#next++;
    // Connect and handshake, then a ticket or renegotiation wait, each within the timeout.
    const limit = 2 * this.o.timeoutMs + 2000;
    return new Promise((resolve, reject) => {
      const guard = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`no answer from the session probe thread in ${limit} ms`));
      }, limit);
      this.#waiting.set(id, (m) => {
        clearTimeout(guard);
        if (m.result) resolve(m.result);
        else reject(new Error(m.error ?? 'session probe failed'));
      });
      w.ref();
      w.postMessage({ id, request: r });
    }).finally(() => {
      if (!this.#waiting.size) this.#worker?.unref();
    }) as Promise<Result>;
  }

  /** The verified certificate chain, as the CertPool's threads get it (CertPool.fetch's contract: never rejects). */
  certificate(req: ScanCertRequest): Promise<CertReply> {
    return this.request({ kind: 'certificate', req }).then(
      (r) => {
        if (r.result) r.result.der = r.result.der.map((d) => Buffer.from(d));
        return r;
      },
      (e: Error) => ({ error: e.message })
    );
  }

  /** Asks the thread to end once its probes have (never Worker.terminate(): see the thread's 'quit'), waiting at most `ms`. */
  async close(ms = 5_000): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    this.#dead ??= 'closed';
    if (!w) return;
    const ended = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.postMessage({ quit: true });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
    w.unref(); // one still busy past its probes' timeouts is left to end on its own
  }
}
