// Runs the real CLI (`node bin/run.js ...`) as a child process and collects what it printed.
// stdin is 'ignore' unless input is given: `connect` reads piped stdin, and mocha's stdin is a pipe.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

/** The repository root (this file runs from dist/test/helpers). */
export const ROOT = path.resolve(__dirname, '../../..');
export const RUN_JS = path.join(ROOT, 'bin', 'run.js');
export const FIXTURES = path.join(ROOT, 'fixtures');
export const fixture = (name: string) => path.join(FIXTURES, name);

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** Wall-clock time of the whole process, ms. */
  ms: number;
  /** stdout as UTF-8. */
  out: string;
}

export interface CliOptions {
  /** Written to the child's stdin (then closed); without it stdin is 'ignore'. */
  input?: Buffer | string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the child after this long (default 60 s; it then fails the test with what it printed so far). */
  killAfterMs?: number;
  /** Send SIGINT (a user's Ctrl-C) this long after the start. */
  interruptAfterMs?: number;
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [RUN_JS, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    // 60 s unless told: a backstop against a hang, not a bound on speed (a 2-round --compare-groups
    // run passed 20 s at load 19 on the 2-core machine); tests that bound a time say so themselves.
    const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 60_000);
    const interrupter = opts.interruptAfterMs !== undefined ? setTimeout(() => child.kill('SIGINT'), opts.interruptAfterMs) : undefined;
    child.on('error', (e) => {
      clearTimeout(killer);
      clearTimeout(interrupter);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      clearTimeout(interrupter);
      const stdout = Buffer.concat(out);
      resolve({ code, signal, stdout, out: stdout.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: performance.now() - t0 });
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {}); // the child may exit before reading everything (error tests)
      child.stdin!.end(opts.input);
    }
  });
}

/** Runs the CLI with --json and parses stdout as exactly one JSON document. */
export async function runCliJson<T = any>(args: string[], opts: CliOptions = {}): Promise<CliResult & { doc: T }> {
  const r = await runCli([...args, '--json'], opts);
  let doc: T;
  try {
    doc = JSON.parse(r.out) as T;
  } catch (e) {
    throw new Error(`stdout is not one JSON document (exit ${r.code}): ${(e as Error).message}\nstdout: ${r.out.slice(0, 2000)}\nstderr: ${r.stderr}`);
  }
  return { ...r, doc };
}

/** A readable dump of a result, for assertion messages. */
export function dump(r: CliResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.out.slice(0, 3000)}\n--- stderr\n${r.stderr.slice(0, 3000)}`;
}

/**
 * A queue that runs CLI commands at most `width` at a time: call it to queue one, get its result's
 * promise. A file of many independent short commands (each mostly Node.js and oclif starting)
 * queues them all in a `before` hook and awaits each in its own `it`, so it waits about as long
 * as its slowest few, not the sum. Each test still asserts on its own command's result.
 */
export function cliQueue(width: number): (args: string[], opts?: CliOptions) => Promise<CliResult> {
  let running = 0;
  const waiting: (() => void)[] = [];
  const next = () => {
    while (running < width && waiting.length > 0) {
      running++;
      waiting.shift()!();
    }
  };
  return (args, opts) => {
    const result = new Promise<CliResult>((resolve, reject) => {
      waiting.push(() => {
        runCli(args, opts)
          .then(resolve, reject)
          .finally(() => {
            running--;
            next();
          });
      });
    });
    result.catch(() => {}); // awaited by its test; not an unhandled rejection before then
    next();
    return result;
  };
}
