// Result documents from a file or a stream that may hold several: `kubectl logs` of an Indexed
// Job's pods prints each pod's document one after the other, with whatever the pods wrote on
// stderr (warnings) in between. A document starts with a `{` at the beginning of a line (as
// `--json` prints it); other lines between documents are skipped.
import fs from 'node:fs';
import { ResultDocument, ResultFileError, validateResult } from './result';

export interface NamedResult {
  doc: ResultDocument;
  /** The file, with #n appended when it held more than one document. */
  name: string;
}

/** Reads every result document in `path` ('-': standard input). */
export function readResults(path: string): NamedResult[] {
  let text: string;
  try {
    text = fs.readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : (e.code ?? e.message);
    throw new ResultFileError(`cannot read ${path}: ${why}`);
  }
  return resultsFromText(text, path === '-' ? 'stdin' : path);
}

export function resultsFromText(text: string, name: string): NamedResult[] {
  const values = jsonValues(text, name);
  if (values.length === 0) throw new ResultFileError(`${name} holds no result document`);
  return values.map(({ value, line }, k) => {
    const where = values.length > 1 ? `${name}#${k + 1}` : name;
    const err = (value as { error?: { message?: string } } | null)?.error;
    if (err && typeof err === 'object') throw new ResultFileError(`${where} (line ${line}) is the error of a failed run: ${err.message ?? JSON.stringify(err)}`);
    return { doc: validateResult(value, where), name: where };
  });
}

/** The JSON objects in a text: the whole text if it is one, else each object that starts a line. */
function jsonValues(text: string, name: string): Array<{ value: unknown; line: number }> {
  try {
    const whole = JSON.parse(text) as unknown;
    return Array.isArray(whole) ? whole.map((value) => ({ value, line: 1 })) : [{ value: whole, line: 1 }];
  } catch {
    // several documents, or noise around them
  }
  const out: Array<{ value: unknown; line: number }> = [];
  let i = 0;
  let line = 1;
  while (i < text.length) {
    const atLineStart = i === 0 || text[i - 1] === '\n';
    if (atLineStart && text[i] === '{') {
      const end = objectEnd(text, i);
      if (end < 0) throw new ResultFileError(`${name}: the document starting on line ${line} is cut short`);
      const slice = text.slice(i, end);
      try {
        out.push({ value: JSON.parse(slice), line });
      } catch (e) {
        throw new ResultFileError(`${name}: the document starting on line ${line} is not JSON (${(e as Error).message.split('\n')[0]})`);
      }
      for (let k = i; k < end; k++) if (text[k] === '\n') line++;
      i = end;
      continue;
    }
    if (text[i] === '\n') line++;
    i++;
  }
  return out;
}

/** Index just past the object that opens at `start` (strings and escapes respected), or -1. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}
