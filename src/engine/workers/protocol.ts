// The tiny command protocol between the main thread and workers (autocannon's shape):
// workers post {cmd, data | error}; the main thread stops them through a shared flag, which a
// worker blocked in its completion port sees at its next turn without needing its event loop.
import type { Backend } from '../port/types';

export type WorkerMessage<R = unknown, T = unknown, Y = unknown> =
  | { cmd: 'READY'; worker: number; data: Y }
  | { cmd: 'TICK'; worker: number; data: T }
  | { cmd: 'RESULT'; worker: number; data: R }
  | { cmd: 'ERROR'; worker: number; error: { code?: string; message: string; reason?: string; [k: string]: unknown } };

export interface WorkerInit<J = unknown> {
  worker: number;
  kind: 'serve' | 'bench';
  backend: Backend;
  /** libssl path, or undefined for node's own OpenSSL. */
  openssl?: string;
  /** Int32Array over it: [STOP]. */
  control: SharedArrayBuffer;
  job: J;
}

export const CONTROL_STOP = 0;
/** Values of the CONTROL_STOP slot: 0 run; STOP finish as usual; STOP_INTERRUPT finish now (a signal), with a short drain. */
export const STOP = 1;
export const STOP_INTERRUPT = 2;
export const CONTROL_SLOTS = 4;
