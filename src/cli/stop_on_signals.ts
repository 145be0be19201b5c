import os from 'node:os';
import type { BenchControl } from '../engine/bench';

/** 130 for SIGINT, 143 for SIGTERM: what a shell reports for a process those signals ended. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 2);
}

/**
 * The first Ctrl-C (or SIGTERM) ends the measured run and lets the command still report what it
 * measured; a second one exits at once, for a user who does not want to wait for the report.
 * Returns the function that takes the handlers off again.
 */
export function stopOnSignals(control: BenchControl, opts: { clearLine: boolean; covers: string }): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (control.interruptedBy) process.exit(signalExitCode(signal));
    if (opts.clearLine) process.stderr.write('\r\x1b[K');
    process.stderr.write(`iocptls: ${signal}: stopping, ${opts.covers} (again to quit at once)\n`);
    control.interrupt(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
