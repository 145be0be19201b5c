// A scan's first session probe thread, started by bin/run.js before @oclif/core loads: a Node
// worker's start and the engine's modules are ~100 ms of CPU, and on loopback the scan waited for
// them (its full handshakes ended ~100 ms after its wire probes). The thread loads its modules and
// waits; the first SessionProber takes it and sends it the host's options (scan_session.ts).
// Nothing else is loaded here (this runs before the command line is even parsed); a start whose
// command turns out not to need it (bad flags, --help) leaves it unreferenced, and exit ends it.
import path from 'node:path';
import { Worker } from 'node:worker_threads';

let waiting: Worker | undefined;

/** bin/run.js: the command line is a full scan (not --quick, not help); a wrong guess costs only CPU on another core. */
export function prestartScanThread(argv: readonly string[]): void {
  if (argv[0] !== 'scan' || argv.some((a) => a === '--quick' || a === '--help' || a === '-h')) return;
  const w = new Worker(path.join(__dirname, 'scan_session_worker.js'), { workerData: { scanSessionLater: true } });
  // Until taken, a failure to start only means the prober starts a thread of its own.
  const dropped = () => {
    if (waiting === w) waiting = undefined;
  };
  w.once('error', dropped);
  w.once('exit', dropped);
  w.unref();
  waiting = w;
}

/** The thread started by prestartScanThread, once (the first host's prober); undefined otherwise. */
export function takePrestartedThread(): Worker | undefined {
  const w = waiting;
  waiting = undefined;
  return w;
}
