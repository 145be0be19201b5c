import { Flags } from '@oclif/core';
import { EXIT_FAILURE } from '../../cli/base';
import { BenchCommand, benchArgs, commonBenchFlags, parsePercent } from '../../cli/bench_command';
import { runCompareGroups } from '../../cli/compare_groups';
import { signalExitCode, stopOnSignals } from '../../cli/stop_on_signals';
import { BenchControl } from '../../engine/bench';
import { handshakeFlags, handshakeOptions } from '../../cli/handshake_flags';
import { ConfigError } from '../../engine/errors';
import { GroupComparison, renderGroupComparison } from '../../report/group_compare';
import type { ResultDocument } from '../../report/result';

export default class BenchHandshake extends BenchCommand {
  static summary = 'Load-test TLS handshakes: rate, latency histograms, errors by reason.';
  static description = [
    'Closed loop by default: each of -c connections handshakes, closes and starts again. With --rate, ' +
      'open loop at a constant rate with coordinated-omission correction (as wrk2). Without a target, benchmarks the ' +
      'embedded server on 127.0.0.1 (serve\'s engine, its own workers).',
    'With --compare-groups, runs the same load once per group of --groups (A,B,C), in --rounds interleaved rounds ' +
      '(A B C A B C ...; 3 by default) of --duration seconds each (3 by default), and prints handshakes/s, client CPU ' +
      'per handshake, latency and handshake bytes per group, with ratios to the first. The embedded server then runs ' +
      'in its own process.',
    'See docs/commands/bench.md.',
  ].join('\n\n');
  static examples = [
    '<%= config.bin %> bench handshake',
    '<%= config.bin %> bench handshake 127.0.0.1:4433 -c 64 -d 10 --json > a.json',
    '<%= config.bin %> bench handshake 127.0.0.1:4433 --resume tickets --resume-ratio 0.5',
    '<%= config.bin %> bench handshake 127.0.0.1:4433 --rate 2000 -d 20 --hgrm hs.hgrm',
    '<%= config.bin %> bench handshake --groups X25519,X25519MLKEM768 --compare-groups',
  ];
  static args = benchArgs;
  static flags = {
    ...commonBenchFlags,
    ...handshakeFlags,
    'compare-groups': Flags.boolean({
      description: 'run the load once per group of --groups, in --rounds interleaved rounds (default 3 here), and compare them',
      default: false,
    }),
  };

  async run(): Promise<ResultDocument | GroupComparison> {
    const { args, flags, raw } = await this.parse(BenchHandshake);
    if (!flags['compare-groups']) return this.runBenchFrom('handshake', args.target, flags, handshakeOptions(flags));
    // One histogram or run page per run has no place in a comparison of groups: refused, not silently not written.
    for (const f of ['hgrm', 'html'] as const) if (flags[f] !== undefined) throw new ConfigError(`--${f} writes one run's output: it does not go with --compare-groups (use --json for the comparison)`);
    if (flags.rendezvous !== undefined) throw new ConfigError('--rendezvous merges one run of each shard: it does not go with --compare-groups');
    // --rounds here is the number of runs per group (3 unless given); each run is one round of -d seconds.
    const rounds = raw.some((t) => t.type === 'flag' && t.flag === 'rounds') ? flags.rounds : 3;
    const extra = { ...handshakeOptions(flags), durationSec: flags.duration ?? 3, rounds: 1 };
    const { options, backend } = await this.prepareBench('handshake', args.target, flags, extra);
    const maxErrorRate = parsePercent(flags['max-error-rate'], '--max-error-rate');
    const tty = process.stderr.isTTY && !this.jsonEnabled();
    // Ctrl-C (SIGTERM, SIGHUP) as in bench: the run under way stops, no other starts, and the runs so far are compared.
    const control = (options.control = new BenchControl());
    const release = stopOnSignals(control, { clearLine: tty, covers: 'the comparison covers the runs measured so far' });
    let comparison: GroupComparison;
    try {
      comparison = await runCompareGroups({
        options,
        backend,
        rounds,
        documentOf: (run, o) => this.documentOf('handshake', run, o, backend, maxErrorRate),
        progress: tty ? (line) => process.stderr.write(`\r  ${line}\x1b[K`) : undefined,
      });
    } finally {
      release();
    }
    if (tty) process.stderr.write('\r\x1b[K');
    if (!this.jsonEnabled()) this.log(renderGroupComparison(comparison, { color: process.stdout.isTTY === true }));
    if (comparison.interrupted) {
      process.exitCode = signalExitCode(comparison.interrupted.signal as NodeJS.Signals);
      return comparison;
    }
    const failed = comparison.groups.filter((g) => g.handshakes === 0);
    if (failed.length) {
      process.stderr.write(`iocptls: no handshake succeeded with ${failed.map((g) => g.group).join(', ')}\n`);
      process.exitCode = EXIT_FAILURE;
    }
    return comparison;
  }
}
