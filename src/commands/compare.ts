import * as fs from 'node:fs';
import * as path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { EXIT_USAGE, PlainCommand } from '../cli/base';
import { significanceFlags } from '../cli/significance_flags';
import { ConfigError } from '../engine/errors';
import { CompareError, Comparison, compareHistory, compareResults, exitCodeFor } from '../report/compare';
import { detectableLine, methodLine, renderComparisonMarkdown, renderComparisonTable, verdictLines } from '../report/compareRender';
import { assertWritable, reportUnwritten, writeOutputs } from '../cli/files';
import { ResultDocument, ResultFileError, readResult } from '../report/result';
import { paint } from '../report/ansi';
import { compareScans, readScanDocument, renderScanComparison, ScanComparison } from '../report/scan_compare';

/** Both files as scan documents (iocptls.scan/1), or undefined: then they are read as results. */
function scanDocuments(a: string | undefined, b: string | undefined) {
  if (!a || !b) return undefined;
  try {
    const base = readScanDocument(a);
    const next = readScanDocument(b);
    if (base && next) return { base, next };
    if (base || next) throw new ConfigError(`${base ? b : a} is not a scan document (iocptls.scan/1) like ${base ? a : b}: compare needs two of the same kind`);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // Unreadable files are said by the result reader below, as for any compare.
  }
  return undefined;
}

/** The files --history names: each file as given, each directory's *.json files. */
export function historyFiles(entries: readonly string[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(e);
    } catch {
      throw new ConfigError(`--history: cannot read ${e}: no such file or directory`);
    }
    if (!stat.isDirectory()) out.push(e);
    else
      out.push(
        ...fs
          .readdirSync(e)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => path.join(e, f))
      );
  }
  return out;
}

export default class Compare extends PlainCommand {
  static summary = 'Compare results: regressed (exit 1), no regression (0), inconclusive (3).';

  static description = [
    'Compares NEW with BASE (`compare BASE NEW`, both best written by `bench ... --rounds 8 --json`) or with a history of baseline runs (`compare NEW --history DIR`, e.g. the last main-branch runs kept as CI artifacts). Each gated metric (the headline rate, the headline latency percentiles) gets one verdict from Welch\'s t on the logs of the samples\' own figures (rounds, or whole runs of the history): its change, interval and one-sided p all come from that t.',
    'regressed (exit 1): significantly worse (Holm-adjusted p < --alpha) and worse than --threshold by the estimate. no regression (exit 0): the interval shows no change for the worse beyond --threshold. inconclusive (exit 3, or as --inconclusive says): the samples cannot tell, with the reason and what would settle it (rounds or history runs needed at the measured noise). Per-second samples of a single run are always inconclusive: they do not carry run-to-run noise. Exit 2: the files cannot be read or compared.',
    'Two scan documents (`scan --json` or `--jsonl` output, iocptls.scan/1) are compared as configurations instead: each protocol, suite, group or finding that appeared or went, the cipher order, a certificate replaced or nearer expiry, marked better, worse or a neutral change. Exit 1 when any change is for the worse, 0 otherwise.',
    'See docs/commands/compare.md (the command) and docs/compare.md (the method, the default recipe and a CI example).',
  ].join('\n\n');

  static examples = [
    '<%= config.bin %> compare base.json new.json',
    '<%= config.bin %> compare new.json --history history/',
    '<%= config.bin %> compare base.json new.json --threshold 10 --markdown',
    '<%= config.bin %> compare base.json new.json --inconclusive pass --json',
  ];

  static enableJsonFlag = true;

  static args = {
    base: Args.string({ description: 'the baseline result document (with --history: the result document to check)' }),
    new: Args.string({ description: 'the result document to check (not with --history)' }),
  };

  static flags = {
    ...significanceFlags,
    history: Flags.string({
      description:
        'A baseline run or a directory of them (its *.json files), repeatable: NEW is judged against the spread of these runs, each run one sample, so one new run is enough once the history holds enough runs (10 or more, and runs less noisy than about a third of --threshold: see docs/compare.md). Give NEW as the only argument.',
      helpValue: 'DIR|FILE',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'history-last': Flags.integer({
      description: 'Use only the newest N runs of the history (by their finish time), so that it rolls as new runs are added.',
      default: 20,
      min: 2,
      helpValue: 'N',
    }),
    markdown: Flags.boolean({ description: 'print a GitHub markdown table instead of the terminal table' }),
    html: Flags.string({ description: 'Also write a self-contained HTML page (both spectra, rates over time, the changes) to this file.', helpValue: 'FILE' }),
  };

  public async run(): Promise<Comparison | ScanComparison> {
    // Usage errors (oclif's parse errors included) exit 2 in PlainCommand's catch: exit 1 means "regressed" only.
    const { args, flags } = await this.parse(Compare);
    // Two scan documents: what changed in the servers' configuration (src/report/scan_compare.ts).
    const scans = flags.history ? undefined : scanDocuments(args.base, args.new);
    if (scans) {
      if (flags.html !== undefined) throw new ConfigError('--html is for result documents; a scan comparison is text or --json');
      const c = compareScans(scans.base, scans.next, { base: args.base!, next: args.new! });
      if (!this.jsonEnabled()) this.log(renderScanComparison(c, paint(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR)));
      process.exitCode = c.exitCode;
      return c;
    }
    let cmp: Comparison;
    let names: { base: string; next: string };
    let baseDoc: ResultDocument;
    let newDoc: ResultDocument;
    try {
      if (flags.html !== undefined) assertWritable('--html', flags.html);
      if (flags.history) {
        if (!args.base || args.new) throw new ConfigError('with --history, give only NEW: `compare NEW --history DIR`');
        const files = historyFiles(flags.history);
        const docs = files.map((f) => ({ f, d: readResult(f) }));
        const kept = docs.sort((a, b) => Date.parse(a.d.finish) - Date.parse(b.d.finish)).slice(-flags['history-last']);
        newDoc = readResult(args.base);
        if (kept.length < 2) throw new ConfigError(`--history holds ${kept.length} result document(s): it needs 2 or more (10 or more to judge one new run at typical noise)`);
        cmp = compareHistory(kept.map((k) => k.d), newDoc, { thresholdPct: flags.threshold, alpha: flags.alpha, files: kept.map((k) => k.f) });
        baseDoc = kept[kept.length - 1].d;
        names = { base: `history (${kept.length} runs, newest ${kept[kept.length - 1].f})`, next: args.base };
      } else {
        if (!args.base || !args.new) throw new ConfigError('give BASE and NEW (`compare BASE NEW`), or NEW and --history (`compare NEW --history DIR`)');
        baseDoc = readResult(args.base);
        newDoc = readResult(args.new);
        cmp = compareResults(baseDoc, newDoc, { thresholdPct: flags.threshold, alpha: flags.alpha });
        names = { base: args.base, next: args.new };
      }
    } catch (err) {
      if (err instanceof ResultFileError || err instanceof CompareError) {
        // Files that cannot be compared are the command line's problem (exit 2), with their own code under --json.
        const e = new ConfigError(err.message);
        e.code = err.code;
        throw e;
      }
      throw err;
    }
    cmp.exitCode = exitCodeFor(cmp.verdict, flags.inconclusive);
    // --html was checked before the comparison; a write that still fails (a full disk, a directory
    // removed meanwhile) must not cost the verdict: it is said after the table, not thrown.
    const unwritten = writeOutputs([{ flag: '--html', file: flags.html, write: (f) => fs.writeFileSync(f, html().renderCompareHtml(baseDoc, newDoc, cmp, names)) }]);

    const markdown = renderComparisonMarkdown(cmp, names);
    const summaryFile = process.env.GITHUB_STEP_SUMMARY;
    if (summaryFile) {
      try {
        fs.appendFileSync(summaryFile, markdown + '\n');
      } catch (err) {
        this.warn(`cannot append to GITHUB_STEP_SUMMARY (${summaryFile}): ${(err as Error).message}`);
      }
    }

    // Said, not fatal: comparing different settings can be the point (an A/B of a flag).
    if (cmp.differences.length) this.logToStderr(`iocptls: the runs differ in ${cmp.differences.join(', ')}`);
    if (!this.jsonEnabled()) {
      const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
      this.log(flags.markdown ? markdown : renderComparisonTable(cmp, { color }));
      if (!flags.markdown) {
        this.log(methodLine(cmp));
        const detect = detectableLine(cmp);
        if (detect) this.log(detect);
        for (const n of cmp.notes) this.log(`Note: ${n}`);
        this.log(verdictLines(cmp).join('\n'));
      }
    }
    reportUnwritten(unwritten);
    // A verdict's own code (regressed 1, inconclusive 3) outranks a file not written; else 2, a file was wrong.
    process.exitCode = cmp.exitCode === 0 && unwritten.length ? EXIT_USAGE : cmp.exitCode;
    return cmp;
  }
}

/** The HTML renderer (two dozen modules), loaded only when --html asks for a page. */
function html(): typeof import('../report/html') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../report/html') as typeof import('../report/html');
}
