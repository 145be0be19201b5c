// Files named on the command line: checked before any work starts, and failures said in one line
// that names the flag, the path and the cause ("permission denied (EACCES)"), not Node's raw text.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../engine/errors';

/** "permission denied (EACCES)" from a Node fs error ("EACCES: permission denied, mkdir '/x'"). */
export function fsReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const m = /^(E[A-Z0-9]+): ([^,]+)/.exec(err.message ?? '');
  if (m) return `${m[2]} (${m[1]})`;
  return err.code ? `${err.code}` : String(err.message ?? e);
}

/** Throws a ConfigError unless `file` can be read. */
export function assertReadable(flag: string, file: string): void {
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch (e) {
    throw new ConfigError(`${flag} ${file}: cannot read it: ${fsReason(e)}`);
  }
  if (fs.statSync(file).isDirectory()) throw new ConfigError(`${flag} ${file}: is a directory, not a file`);
}

/**
 * Makes sure `dir` is a directory we can write into, creating what is missing, one level at a
 * time: fs.mkdirSync(..., { recursive: true }) never returns on some pseudo file systems (under
 * /proc a new directory is ENOENT while its parent exists, and Node retries forever).
 */
export function prepareOutputDir(flag: string, dir: string): string {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  let p = abs;
  while (!fs.existsSync(p)) {
    missing.unshift(p);
    const parent = path.dirname(p);
    if (parent === p) break;
    p = parent;
  }
  if (fs.existsSync(p) && !fs.statSync(p).isDirectory()) throw new ConfigError(`${flag} ${dir}: ${p} is not a directory`);
  for (const m of missing) {
    try {
      fs.mkdirSync(m);
    } catch (e) {
      throw new ConfigError(`${flag} ${dir}: cannot create ${m}: ${fsReason(e)}`);
    }
  }
  try {
    fs.accessSync(abs, fs.constants.W_OK);
  } catch (e) {
    throw new ConfigError(`${flag} ${dir}: cannot write there: ${fsReason(e)}`);
  }
  return abs;
}
