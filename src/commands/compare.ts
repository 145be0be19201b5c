import * as fs from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { PlainCommand } from '../cli/base';
import { significanceFlags } from '../cli/significance_flags';
import { ConfigError } from '../engine/errors';
import { CompareError, Comparison, compareResults } from '../report/compare';
import { methodLine, regressionLines, renderComparisonMarkdown, renderComparisonTable, summaryLine } from '../report/compareRender';
import { assertWritable } from '../cli/files';
import { writeCompareHtml } from '../report/html';
import { ResultFileError, readResult } from '../report/result';

export default class Compare extends PlainCommand {
  static summary = 'Compare two benchmark results and fail on a regression.';

  static description =
    'Compare two result documents (from `iocptls bench ... --json`, best with --rounds). For each metric: the change, ' +
    'its bootstrap confidence interval and a Mann-Whitney U p-value over the samples (rounds, else per-second ' +
    'intervals). Exits 1 only when a gated metric (the headline rate, the headline latency percentiles) changes for ' +
    'the worse significantly (Holm-adjusted p < --alpha) and by more than --threshold; 2 when the files cannot be ' +
    'compared. See docs/compare.md.';

  static examples = [
    '<%= config.bin %> compare base.json new.json',
    '<%= config.bin %> compare base.json new.json --threshold 10 --markdown',
    '<%= config.bin %> compare base.json new.json --alpha 0.01 --json',
  ];

  static enableJsonFlag = true;

  static args = {
    base: Args.string({ description: 'the baseline result document', required: true }),
    new: Args.string({ description: 'the result document to check', required: true }),
  };

  static flags = {
    ...significanceFlags,
    markdown: Flags.boolean({ description: 'print a GitHub markdown table instead of the terminal table' }),
    html: Flags.string({ description: 'also write a self-contained HTML page (both spectra, rates over time, the changes) to this file', helpValue: 'FILE' }),
  };

  public async run(): Promise<Comparison> {
    // Usage errors (oclif's parse errors included) exit 2 in PlainCommand's catch: exit 1 means "regressed" only.
    const { args, flags } = await this.parse(Compare);
    let cmp: Comparison;
    try {
      if (flags.html !== undefined) assertWritable('--html', flags.html);
      const docs = [readResult(args.base), readResult(args.new)];
      cmp = compareResults(docs[0], docs[1], { thresholdPct: flags.threshold, alpha: flags.alpha });
      if (flags.html) writeCompareHtml(flags.html, docs[0], docs[1], cmp, { base: args.base, next: args.new });
    } catch (err) {
      if (err instanceof ResultFileError || err instanceof CompareError) {
        // Files that cannot be compared are the command line's problem (exit 2), with their own code under --json.
        const e = new ConfigError(err.message);
        e.code = err.code;
        throw e;
      }
      throw err;
    }

    const markdown = renderComparisonMarkdown(cmp, { base: args.base, next: args.new });
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
        for (const n of cmp.notes) this.log(`Note: ${n}`);
        this.log([summaryLine(cmp), ...regressionLines(cmp).map((l) => `  ${l}`)].join('\n'));
      }
    }
    if (cmp.regressions.length > 0) process.exitCode = 1;
    return cmp;
  }
}
