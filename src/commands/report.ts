import { readResults } from '../report/result_stream';
import { Args, Flags } from '@oclif/core';
import { PlainCommand } from '../cli/base';
import { ConfigError } from '../engine/errors';
import { assertWritable } from '../cli/files';
import { renderReportText } from '../report/reportText';
import { ResultDocument, ResultFileError, readResult } from '../report/result';

export default class Report extends PlainCommand {
  static summary = 'Show a saved result document as a text report, or as an HTML page (--html).';

  static description = [
    'Reads a result document (`iocptls bench ... --json > run.json`, or a merged one). Without --html, prints the ' +
      'same tables and latency plot as bench. With --html FILE, writes one HTML file with the percentile spectrum, ' +
      'the latency distribution, the rate second by second and the errors by reason: no scripts, nothing fetched, ' +
      'fit to attach to a CI job or open offline.',
    'See docs/commands/report.md.',
  ].join('\n\n');

  static examples = ['<%= config.bin %> report run.json', '<%= config.bin %> report run.json --html run.html'];

  // --json prints the document back as read (validated): handy to check a file.
  static enableJsonFlag = true;

  static args = {
    result: Args.string({ description: 'result document (JSON); - reads standard input, where other lines around the document are skipped (a pod\'s log)', required: true }),
  };

  static flags = {
    html: Flags.string({ description: 'write a self-contained HTML report to this file', helpValue: 'FILE' }),
    plot: Flags.boolean({ description: 'draw the latency distribution (text report)', default: true, allowNo: true }),
  };

  async run(): Promise<ResultDocument> {
    const { args, flags } = await this.parse(Report);
    if (flags.html !== undefined) assertWritable('--html', flags.html);
    let doc: ResultDocument;
    try {
      doc = args.result === '-' ? oneFromStdin() : readResult(args.result);
    } catch (err) {
      if (err instanceof ResultFileError) throw new ConfigError(err.message);
      throw err;
    }
    if (flags.html) {
      html().writeRunHtml(flags.html, doc, { source: args.result });
    } else if (!this.jsonEnabled()) {
      const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
      for (const part of renderReportText(doc, { color, plot: flags.plot })) this.log(part);
    }
    return doc;
  }
}

/** The one result document on standard input, among other lines (`kubectl logs` of a rendezvous's shard 0 holds its stderr too). */
function oneFromStdin(): ResultDocument {
  const found = readResults('-');
  if (found.length > 1) throw new ResultFileError(`stdin holds ${found.length} result documents: give report one (iocptls merge adds several up)`);
  return found[0].doc;
}

/** The HTML renderer (two dozen modules), loaded only when --html asks for a page. */
function html(): typeof import('../report/html') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../report/html') as typeof import('../report/html');
}
