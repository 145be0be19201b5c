// The HTML report's entry points: check where it goes before a run starts, write it after.

import * as fs from 'node:fs';
import * as path from 'node:path';
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

/** Fails now, with one line, if `file` cannot be written: before a run, not after minutes of load. */
export function checkHtmlOutput(file: string): void {
  if (file === '') throw new ConfigError('--html needs a file name');
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(file);
  } catch {
    // does not exist yet: its directory must
  }
  if (stat?.isDirectory()) throw new ConfigError(`cannot write the HTML report to ${file}: is a directory`);
  const target = stat ? file : path.dirname(path.resolve(file));
  try {
    fs.accessSync(target, fs.constants.W_OK);
  } catch (err) {
    throw new ConfigError(`cannot write the HTML report to ${file}: ${why(err)}`);
  }
}

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
