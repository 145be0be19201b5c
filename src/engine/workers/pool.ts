// Main-thread side of the worker pool: one completion loop per worker thread, shared-nothing.
// Starts workers, relays their READY/TICK/RESULT messages, and stops them.
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { errorFromJSON, IocptlsError } from '../errors';
import { CONTROL_SLOTS, CONTROL_STOP, STOP, STOP_INTERRUPT, WorkerInit, WorkerMessage } from './protocol';

const ENTRY = path.join(__dirname, 'worker_main.js');

export class WorkerPool<J, Y, T, R> extends EventEmitter {
  readonly control = new SharedArrayBuffer(CONTROL_SLOTS * 4);
  #flags = new Int32Array(this.control);
  #workers: Worker[] = [];
  #results = new Map<number, R>();
  #errors: IocptlsError[] = [];
  #exited = 0;

  constructor(readonly base: Omit<WorkerInit<J>, 'worker' | 'control' | 'job'>) {
    super();
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Starts one worker and resolves with its READY data (rejects on its ERROR). */
  start(job: J): Promise<Y> {
    const id = this.#workers.length;
    const init: WorkerInit<J> = { ...this.base, worker: id, control: this.control, job };
    const w = new Worker(ENTRY, { workerData: init, stdout: false, stderr: false });
    this.#workers.push(w);
    return new Promise<Y>((resolve, reject) => {
      let ready = false;
      w.on('message', (m: WorkerMessage<R, T, Y>) => {
        if (m.cmd === 'READY') {
          ready = true;
          resolve(m.data);
        } else if (m.cmd === 'TICK') this.emit('tick', m.worker, m.data);
        else if (m.cmd === 'RESULT') this.#results.set(m.worker, m.data);
        else if (m.cmd === 'ERROR') {
          const e = errorFromJSON(m.error);
          if (!ready) reject(e);
          else {
            this.#errors.push(e);
            this.emit('error-message', e);
          }
        }
      });
      w.on('error', (e) => {
        const err = new IocptlsError(`worker ${id} crashed: ${e.message}`);
        if (!ready) reject(err);
        else this.#errors.push(err);
      });
      w.on('exit', () => {
        this.#exited++;
        if (!ready) reject(new IocptlsError(`worker ${id} exited before it was ready`));
        this.emit('exit', id);
      });
    });
  }

  /** Asks every worker to finish (each closes its connections gracefully) and collects their results. */
  async stop(): Promise<R[]> {
    Atomics.compareExchange(this.#flags, CONTROL_STOP, 0, STOP);
    Atomics.notify(this.#flags, CONTROL_STOP); // wakes workers sleeping on the flag (waiting for --start-at)
    await this.whenAllExited();
    if (this.#errors.length && this.#results.size === 0) throw this.#errors[0];
    return [...this.#results.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
  }

  /** Asks every worker to end its work now (a signal): they still report what they measured. */
  interrupt(): void {
    Atomics.store(this.#flags, CONTROL_STOP, STOP_INTERRUPT);
    Atomics.notify(this.#flags, CONTROL_STOP);
  }

  whenAllExited(): Promise<void> {
    if (this.#exited === this.#workers.length) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.#exited === this.#workers.length) {
          this.off('exit', check);
          resolve();
        }
      };
      this.on('exit', check);
    });
  }

  get errors(): IocptlsError[] {
    return this.#errors;
  }

  /** Ends workers at once (after an error on startup). */
  async terminate(): Promise<void> {
    Atomics.store(this.#flags, CONTROL_STOP, STOP);
    Atomics.notify(this.#flags, CONTROL_STOP);
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
