// The HTML report's entry points: check where it goes before a run starts, write it after.

import * as fs from 'node:fs';
import { ConfigError } from '../../engine/errors';
import { Comparison } from '../compare';
import { ResultDocument } from '../result';
import { CompareNames, renderCompareHtml } from './compare_page';
import { RunPageOptions, renderRunHtml } from './run_page';

export { renderCompareHtml, renderRunHtml };

function why(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such directory';
  if (e.code === 'EISDIR') return 'is a directory';
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
  return e.code ?? String(e.message).split('\n')[0];
}

// Where the page goes is checked before any work by the commands (cli/files.ts assertWritable).
export function writeHtmlFile(file: string, html: string): void {
  try {
    fs.writeFileSync(file, html);
  } catch (err) {
    throw new ConfigError(`cannot write the HTML report to ${file}: ${why(err)}`);
  }
}

export function writeRunHtml(file: string, doc: ResultDocument, opts: RunPageOptions = {}): void {
  writeHtmlFile(file, renderRunHtml(doc, opts));
}

export function writeCompareHtml(file: string, base: ResultDocument, next: ResultDocument, cmp: Comparison, names: CompareNames): void {
  writeHtmlFile(file, renderCompareHtml(base, next, cmp, names));
}
