import * as fs from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { AbSide, extractSideFlags, parseSideFlags, runAb } from '../../cli/bench_ab';
import { EXIT_FAILURE, EXIT_USAGE } from '../../cli/base';
import { BenchCommand, commonBenchFlags, parsePercent, verdict } from '../../cli/bench_command';
import { durationFlag } from '../../cli/duration_flag';
import { reportUnwritten, writeOutputs } from '../../cli/files';
import { signalExitCode, stopOnSignals } from '../../cli/stop_on_signals';
import { handshakeFlags, handshakeOptions } from '../../cli/handshake_flags';
import { significanceFlags } from '../../cli/significance_flags';
import { BenchControl } from '../../engine/bench';
import { probeOpenssl } from '../../engine/workers/openssl_probe';
import { AbDocument, renderAb, sideLabel } from '../../report/ab';
import { exitCodeFor } from '../../report/compare';
import { RECIPE_ROUNDS, roundsWarning } from '../../report/significance';
import { renderComparisonMarkdown } from '../../report/compareRender';
import { renderCompareHtml } from '../../report/html';

/** bench handshake's flags without those that do not fit an A/B run (counted runs, one histogram file, shards). */
function benchHandshakeFlagsExcept(names: string[]) {
  const all = { ...commonBenchFlags, ...handshakeFlags };
  return Object.fromEntries(Object.entries(all).filter(([n]) => !names.includes(n))) as Omit<typeof all, 'count' | 'hgrm' | 'plot' | 'shard' | 'start-at' | 'rendezvous' | 'rendezvous-bind' | 'rendezvous-timeout'>;
}

export default class BenchAb extends BenchCommand {
  static summary = 'A/B handshake benchmark in alternating rounds (A B B A ...), with a verdict.';
  static description = [
    'Runs the handshake benchmark for side A and side B in --rounds alternating rounds (ABBA order, so that a drift of the machine lands on both sides alike), each round --warmup + --duration seconds, --round-pause apart, then compares B against A exactly as `compare A.json B.json` would: per gated metric the change, its interval and a one-sided p from Welch\'s t on the logs of the rounds\' figures, and a verdict.',
    'Exit 1 when B regressed (significantly worse and beyond --threshold) or a side failed; 0 when the rounds show no regression beyond --threshold; 3 (or as --inconclusive says) when they cannot tell; 2 for bad input. Fewer rounds than the default recipe (8 per side) get a warning with the smallest change they can detect at 5% round-to-round noise.',
    'Targets: A B (two servers), A (the same server for both), or none (each side its own embedded server, on 127.0.0.1). Flags on the command line apply to both sides; --a-flags and --b-flags add or override bench handshake flags for one side (e.g. --b-flags=\'-c 16\', --b-flags=\'--groups X25519MLKEM768\', or another OpenSSL build: --b-flags=\'--openssl /path/to/libssl.so.3\').',
    'See docs/commands/bench-ab.md.',
  ].join('\n\n');
  static examples = [
    `<%= config.bin %> bench ab --a-flags='-c 1' --b-flags='-c 16'`,
    '<%= config.bin %> bench ab 127.0.0.1:8443 127.0.0.1:9443 -c 32 --rounds 8 --markdown',
    `<%= config.bin %> bench ab 127.0.0.1:8443 --a-flags='--groups X25519' --b-flags='--groups X25519MLKEM768' --json > ab.json`,
  ];
  static args = {
    a: Args.string({ description: 'HOST:PORT of side A [default: an embedded server]' }),
    b: Args.string({ description: 'HOST:PORT of side B [default: the same as A]' }),
  };
  static flags = {
    ...benchHandshakeFlagsExcept(['count', 'hgrm', 'plot', 'shard', 'start-at', 'rendezvous', 'rendezvous-bind', 'rendezvous-timeout']),
    duration: durationFlag({ char: 'd', description: 'measured time of each round: seconds, or with a unit (500ms, 2s) [default: 2]', min: 0.1 }),
    rounds: Flags.integer({
      description: `Rounds per side, each a sample of the comparison; an even number keeps ABBA balanced. The default (${RECIPE_ROUNDS}) sees a 10% change at 5% round-to-round noise; 1 round has no noise estimate and is refused.`,
      default: RECIPE_ROUNDS,
      min: 2,
      max: 500,
    }),
    'a-flags': Flags.string({ description: "side A's own bench handshake flags, e.g. '-c 1'", helpValue: 'FLAGS' }),
    'b-flags': Flags.string({ description: "side B's own bench handshake flags, e.g. '-c 16'", helpValue: 'FLAGS' }),
    ...significanceFlags,
    markdown: Flags.boolean({ description: 'print a GitHub markdown table instead of the terminal table' }),
    html: Flags.string({ description: "also write compare's self-contained HTML page (both sides' spectra, rates, the changes) to this file", helpValue: 'FILE' }),
  };

  async run(): Promise<AbDocument> {
    // The side flags' values start with a dash, which oclif's parser would take for a missing value.
    const side = extractSideFlags(this.argv);
    const { args, flags } = await this.parse(BenchAb, side.argv);
    const texts = [side.a?.trim() ?? '', side.b?.trim() ?? ''];
    const given = await Promise.all([parseSideFlags('--a-flags', texts[0]), parseSideFlags('--b-flags', texts[1])]);
    const targets = [args.a, args.b ?? args.a];
    const sides = [] as unknown as [AbSide, AbSide];
    for (const i of [0, 1]) {
      // This thread keeps the command line's OpenSSL; a side's own --openssl is loaded by its worker threads.
      const merged: Record<string, any> = { ...flags, ...given[i].flags, openssl: flags.openssl };
      const extra = { ...handshakeOptions(merged), durationSec: flags.duration ?? 2, rounds: 1 };
      const { options } = await this.prepareBench('handshake', targets[i], merged, extra);
      const own = given[i].flags.openssl as string | undefined;
      let openssl;
      if (own !== undefined) {
        openssl = await probeOpenssl(own);
        options.openssl = openssl.path ?? undefined;
      }
      sides.push({
        name: i === 0 ? 'A' : 'B',
        targetArg: targets[i],
        flagsText: texts[i],
        options,
        maxErrorRate: parsePercent(merged['max-error-rate'], '--max-error-rate'),
        openssl,
      });
    }
    const backend = sides[0].options.backend;

    const few = roundsWarning(flags.rounds, flags.threshold, flags.alpha);
    if (few) process.stderr.write(`iocptls: WARNING: ${few}\n`);

    const tty = process.stderr.isTTY && !this.jsonEnabled();
    const control = new BenchControl();
    const release = stopOnSignals(control, { clearLine: tty, covers: 'the comparison covers the rounds measured' });
    let doc: AbDocument;
    try {
      doc = await runAb({
        sides,
        backend,
        rounds: flags.rounds,
        roundPauseSec: flags['round-pause'],
        thresholdPct: flags.threshold,
        alpha: flags.alpha,
        inconclusive: flags.inconclusive,
        control,
        documentOf: (run, o, maxErrorRate) => this.documentOf('handshake', run, o, backend, maxErrorRate),
        progress: tty ? (line) => process.stderr.write(`\r  ${line}\x1b[K`) : undefined,
      });
    } finally {
      release();
    }
    if (tty) process.stderr.write('\r\x1b[K');

    const cmp = doc.comparison;
    const names = { base: `A: ${sideLabel(doc.a)}`, next: `B: ${sideLabel(doc.b)}` };
    // --html was checked before the rounds (prepareBench); a write that fails now still leaves the comparison printed.
    const unwritten = writeOutputs([{ flag: '--html', file: flags.html, write: (f) => fs.writeFileSync(f, renderCompareHtml(doc.a.document, doc.b.document, cmp, names)) }]);
    const summaryFile = process.env.GITHUB_STEP_SUMMARY;
    if (summaryFile) {
      try {
        fs.appendFileSync(summaryFile, renderComparisonMarkdown(cmp, { base: sideLabel(doc.a), next: sideLabel(doc.b) }, { title: 'iocptls bench ab', headings: ['A', 'B'] }) + '\n');
      } catch (err) {
        this.warn(`cannot append to GITHUB_STEP_SUMMARY (${summaryFile}): ${(err as Error).message}`);
      }
    }
    if (cmp.differences.length) this.logToStderr(`iocptls: B differs from A in ${cmp.differences.join(', ')}`);
    if (!this.jsonEnabled()) this.log(renderAb(doc, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR, markdown: flags.markdown }));

    const failures = (['a', 'b'] as const).flatMap((s) => verdict('handshake', doc[s].document).map((v) => `side ${s.toUpperCase()}: ${v.message}`));
    for (const line of failures) process.stderr.write(`iocptls: ${line}\n`);
    reportUnwritten(unwritten);
    if (doc.interrupted) process.exitCode = signalExitCode(doc.interrupted.signal as NodeJS.Signals);
    else if (failures.length > 0) process.exitCode = EXIT_FAILURE;
    else {
      // A verdict outranks a file that could not be written; the document was printed either way.
      const code = cmp.exitCode ?? exitCodeFor(cmp.verdict, flags.inconclusive);
      process.exitCode = code === 0 && unwritten.length ? EXIT_USAGE : code;
    }
    return doc;
  }
}
