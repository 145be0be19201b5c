// The scan's one full OpenSSL handshake (the verified certificate chain, as `connect` gets it),
// run on threads of their own: building a verifying context loads the trust store (50-80 ms of
// synchronous work) and the loop blocks in its port between turns, and either would stall the
// main thread's probe sockets, whose timing is the scan's critical path.
import path from 'node:path';
//
// This file is what the main thread loads: it starts the threads and nothing more. The handshake
// (the engine, OpenSSL, the trust store) is in scan_cert_worker.ts, loaded only by the threads, so
// a scan's start-up does not pay for modules its main thread never runs.
import { Worker } from 'node:worker_threads';
import type { Backend } from '../port/types';

export interface ScanCertRequest {
  backend: Backend;
  ip: string;
  port: number;
  servername?: string;
  verifyHost: string;
  ca?: string;
  timeoutMs: number;
  /** false: the one handshake only, no reconnect to try resumption (a quick scan). Default true. */
  resumption?: boolean;
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

export type Reply = { result?: ScanCertResult; error?: string };

/**
 * Threads that run the scan's certificate handshakes, started once per scan (before the first
 * target is resolved, so that loading OpenSSL and the trust store overlaps the first probes) and
 * kept for every target: a thread and a verifying context per target would cost more than the
 * scan of a loopback host. Each thread runs its handshakes concurrently on one loop; targets are
 * spread over the threads.
 */
export class CertPool {
  #workers: { w: Worker; busy: number }[] = [];
  #pending = new Map<number, { resolve: (r: Reply) => void; guard: NodeJS.Timeout; w: Worker }>();
  #next = 1;
  #closed = false;
  constructor(readonly size: number, readonly libssl: string | undefined) {
    for (let i = 0; i < size; i++) this.#spawn();
  }

  #spawn(): { w: Worker; busy: number } {
    const w = new Worker(path.join(__dirname, 'scan_cert_worker.js'), { workerData: { scanCertPool: { libssl: this.libssl } } });
    const slot = { w, busy: 0 };
    this.#workers.push(slot);
    w.on('message', (m: Reply & { id: number }) => {
      if (m.result) m.result.der = m.result.der.map((d) => Buffer.from(d));
      this.#settle(m.id, m);
    });
    const fail = (why: string) => {
      this.#workers = this.#workers.filter((x) => x !== slot);
      for (const [id, p] of this.#pending) if (p.w === w) this.#settle(id, { error: why });
    };
    w.on('error', (e) => fail(e.message));
    w.on('exit', () => fail('certificate thread exited'));
    return slot;
  }

  #settle(id: number, r: Reply): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.guard);
    const slot = this.#workers.find((x) => x.w === p.w);
    if (slot) slot.busy--;
    p.resolve(r);
  }

  /** One handshake; resolves with the reason when it fails, never rejects. */
  fetch(req: ScanCertRequest): Promise<Reply> {
    if (this.#closed) return Promise.resolve({ error: 'certificate pool closed' });
    if (!this.#workers.length) this.#spawn();
    const slot = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    const id = this.#next++;
    return new Promise((resolve) => {
      // The handshake has its own timeout (per connection; queued requests wait for the ones
      // before them); this one guards against a thread that never answers: it is replaced, and
      // told to end once what it runs has ended (never terminated: see #retire).
      const ms = (slot.busy + 1) * (2 * req.timeoutMs + 2000);
      const guard = setTimeout(() => {
        this.#settle(id, { error: `certificate handshake did not finish in ${ms} ms` });
        this.#workers = this.#workers.filter((x) => x !== slot);
        void this.#retire(slot.w);
        slot.w.unref();
      }, ms);
      this.#pending.set(id, { resolve, guard, w: slot.w });
      slot.w.postMessage({ id, req });
    });
  }

  /**
   * Asks a thread to end once its handshakes have, and lets the process exit without it.
   * Worker.terminate() stops a thread wherever it is, also inside a koffi call (loading a libc
   * function, closing an io_uring), and koffi's exception there is fatal to the whole process:
   * a scan under load crashed so at its end ("FATAL ERROR: Error::ThrowAsJavaScriptException
   * napi_throw").
   */
  #retire(w: Worker): Promise<void> {
    const ended = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.postMessage({ quit: true });
    return ended;
  }

  /** Ends every thread once its handshakes have ended (they have their own timeouts), waiting at most `ms`. */
  async close(ms = 5_000): Promise<void> {
    this.#closed = true;
    const workers = this.#workers.map((x) => x.w);
    this.#workers = [];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(workers.map((w) => this.#retire(w))), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
    // One still busy past its handshakes' timeouts is left to end on its own: the process may exit without it.
    for (const w of workers) w.unref();
  }
}
