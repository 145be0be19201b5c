// Writes a set of PEM files all-or-nothing with respect to overwriting: every target is checked
// before the first write, so a refused run leaves the directory as it was.
import fs from 'node:fs';
import path from 'node:path';

export interface PkiFile {
  path: string;
  contents: string;
  /** Private keys: owner read/write only. */
  secret: boolean;
}

export function existingFiles(paths: readonly string[]): string[] {
  return paths.filter((p) => fs.existsSync(p));
}

/** Refuses, naming the first culprit, when any of `paths` exists. */
export function refuseOverwrite(paths: readonly string[]): void {
  const existing = existingFiles(paths);
  if (existing.length === 0) return;
  const more = existing.length > 1 ? ` and ${existing.length - 1} more` : '';
  throw new Error(`refusing to overwrite ${shortPath(existing[0])}${more} (use --force)`);
}

/** A path as short as it can be said from the current directory. */
export function shortPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel.length < p.length && !rel.startsWith('..') ? rel : p;
}

export function writePkiFiles(files: readonly PkiFile[], opts: { force: boolean }): void {
  if (!opts.force) refuseOverwrite(files.map((f) => f.path));
  for (const f of files) {
    fs.mkdirSync(path.dirname(f.path), { recursive: true });
    // Unlink rather than truncate: an existing file keeps its old mode on open, and a key must
    // never be briefly readable by others. 'wx' then refuses a file that appeared meanwhile.
    if (opts.force) fs.rmSync(f.path, { force: true });
    const mode = f.secret ? 0o600 : 0o644;
    const fd = fs.openSync(f.path, 'wx', mode);
    try {
      fs.fchmodSync(fd, mode); // the umask may have taken bits from a certificate's 0644
      fs.writeSync(fd, f.contents);
    } finally {
      fs.closeSync(fd);
    }
  }
}
