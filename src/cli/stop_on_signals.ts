import os from 'node:os';
import type { BenchControl } from '../engine/bench';

/** 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP: what a shell reports for a process those signals ended. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 2);
}

/**
 * SIGHUP as well: `bench --json > file` in an ssh session that closes gets a hang-up, and must
 * still write the partial document to its file rather than die without a word (the default).
 */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * The first Ctrl-C (or SIGTERM, SIGHUP) ends the measured run and lets the command still report what it
 * measured; a second one exits at once, for a user who does not want to wait for the report.
 * Returns the function that takes the handlers off again.
 */
export function stopOnSignals(control: BenchControl, opts: { clearLine: boolean; covers: string }): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (control.interruptedBy) process.exit(signalExitCode(signal));
    // After a hang-up the terminal may be gone: a write to it (this line, progress, the report)
    // must not turn the stop into a crash (EIO/EPIPE). What goes to a file or pipe still arrives.
    if (signal === 'SIGHUP') for (const s of [process.stdout, process.stderr]) s.on('error', () => {});
    if (opts.clearLine) process.stderr.write('\r\x1b[K');
    process.stderr.write(`iocptls: ${signal}: stopping, ${opts.covers} (again to quit at once)\n`);
    control.interrupt(signal);
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  return () => {
    for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
  };
}
