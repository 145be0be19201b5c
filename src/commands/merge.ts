import { Args, Flags } from '@oclif/core';
import { EXIT_USAGE, IocptlsCommand } from '../cli/base';
import { assertWritable, reportUnwritten, writeOutputs } from '../cli/files';
import { ConfigError } from '../engine/errors';
import { decodeHistogram } from '../engine/stats/histograms';
import { MergeError, mergeResults } from '../report/merge';
import { plotLatency } from '../report/plot';
import { ResultDocument, ResultFileError, writeResult } from '../report/result';
import { readResults } from '../report/result_stream';
import { renderShards } from '../report/shards_table';
import { renderResult } from '../report/table';

export default class Merge extends IocptlsCommand {
  static summary = 'Merge the result documents of a run\'s shards (--shard I/N) into one.';
  static description = [
    'Counts are summed and HDR histograms added; each shard keeps a row. Shards that ran together (their windows ' +
      'overlap) give rates that are the sum of each shard\'s own, whatever their skew; inputs that did not run ' +
      'together are merged as consecutive parts of one run (docs/result-schema.md). Reads result documents (bench ' +
      '--json) from files, or from standard input with "-"; a file may hold several, one after the other, as ' +
      '`kubectl logs` prints an Indexed Job\'s pods (other lines in between are skipped).',
    'Refuses documents that are not what the schema says, of different kinds or targets, a shard given twice, and ' +
      'shards of different runs (exit 2). The merged document is a result document like bench\'s: `iocptls compare` reads it.',
    'See docs/commands/merge.md.',
  ].join('\n\n');
  static examples = [
    '<%= config.bin %> merge shard0.json shard1.json',
    '<%= config.bin %> merge shard*.json --out merged.json',
    'kubectl logs -l job-name=iocptls-bench --prefix=false --tail=-1 | <%= config.bin %> merge - --json',
  ];
  static enableJsonFlag = true;
  static strict = false;
  static args = {
    files: Args.string({ description: 'result documents (- for standard input)', required: true }),
  };
  static flags = {
    out: Flags.string({ char: 'o', description: 'also write the merged document to this file' }),
    plot: Flags.boolean({ description: 'draw the merged latency distribution', default: true, allowNo: true }),
  };

  async run(): Promise<ResultDocument> {
    const { argv, flags } = await this.parse(Merge);
    const files = argv as string[];
    if (flags.out !== undefined) assertWritable('--out', flags.out);
    let merged;
    try {
      const inputs = files.flatMap((f) => readResults(f)).map((r) => ({ doc: r.doc, file: r.name }));
      merged = mergeResults(inputs);
    } catch (e) {
      // Files that cannot be merged are a usage error (exit 2), like a bad flag.
      if (e instanceof ResultFileError || e instanceof MergeError) throw new ConfigError(e.message);
      throw e;
    }
    for (const w of merged.warnings) process.stderr.write(`iocptls: warning: ${w}\n`);
    const unwritten = writeOutputs([{ flag: '--out', file: flags.out, write: (f) => writeResult(f, merged.doc) }]);
    if (!this.jsonEnabled()) {
      const color = process.stdout.isTTY === true;
      const d = merged.doc;
      this.log(renderResult(d, { color }));
      this.log(renderShards(d, { color }) ?? '');
      const primary = d.kind === 'pingpong' ? d.latency.rtt : d.kind === 'http' ? d.latency.request : d.latency.handshake;
      if (flags.plot && primary && primary.count > 0) {
        this.log('\n' + plotLatency(decodeHistogram(primary.encoded), { title: d.kind === 'pingpong' ? 'Round-trip latency' : d.kind === 'http' ? 'Request latency' : 'Handshake latency' }));
      }
    }
    reportUnwritten(unwritten);
    if (unwritten.length) process.exitCode = EXIT_USAGE;
    return merged.doc;
  }
}
