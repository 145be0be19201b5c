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

/**
 * Throws a ConfigError unless `file` can be written (created, or replaced), naming the flag: checked
 * before a run, so that a typo costs a second, not the measured minutes (whose result a failed
 * write at the end would otherwise lose). Nothing is created: a check must not leave an empty file
 * behind when the run then fails.
 */
export function assertWritable(flag: string, file: string): void {
  if (file === '') throw new ConfigError(`${flag} needs a file name`);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`${flag} ${file}: cannot write it: ${fsReason(e)}`);
  }
  if (stat?.isDirectory()) throw new ConfigError(`${flag} ${file}: is a directory, not a file`);
  if (stat) {
    try {
      fs.accessSync(file, fs.constants.W_OK);
    } catch (e) {
      throw new ConfigError(`${flag} ${file}: cannot write it: ${fsReason(e)}`);
    }
    return;
  }
  const dir = path.dirname(path.resolve(file));
  let dirStat: fs.Stats;
  try {
    dirStat = fs.statSync(dir);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(`${flag} ${file}: cannot create it: ${err.code === 'ENOENT' ? `no such directory ${dir}` : fsReason(e)}`);
  }
  if (!dirStat.isDirectory()) throw new ConfigError(`${flag} ${file}: cannot create it: ${dir} is not a directory`);
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    throw new ConfigError(`${flag} ${file}: cannot create it in ${dir}: ${fsReason(e)}`);
  }
}

/** One output file that could not be written once the work was done: said, while the result is still shown. */
export interface WriteFailure {
  flag: string;
  file: string;
  message: string;
}

/**
 * Writes each output whose flag was given; a failure (the disk filled up, the directory went away
 * during the run) is returned, not thrown, so the caller still prints the result it measured.
 */
export function writeOutputs(outputs: { flag: string; file: string | undefined; write: (file: string) => void }[]): WriteFailure[] {
  const failed: WriteFailure[] = [];
  for (const o of outputs) {
    if (!o.file) continue;
    try {
      o.write(o.file);
    } catch (e) {
      // A ConfigError from a writer already names its file; Node's errors get the usual one-line reason.
      const reason = e instanceof ConfigError ? (e as Error).message : `cannot write it: ${fsReason(e)}`;
      failed.push({ flag: o.flag, file: o.file, message: reason.startsWith(o.flag) ? reason : `${o.flag} ${o.file}: ${reason}` });
    }
  }
  return failed;
}

/**
 * Outputs that could not be written after the run, one line each on stderr. The caller exits 2 (a
 * file was wrong, as when the check before the run fails) unless the run or verdict already says
 * 1 or a signal's code: a CI job notices the missing file while the result is still on stdout.
 */
export function reportUnwritten(failures: readonly WriteFailure[]): void {
  for (const f of failures) process.stderr.write(`iocptls: ${f.message} (the result is printed all the same)\n`);
}
