// Runs `iocptls serve --port 0 ... --json` as a child process: waits for its listening line on
// stderr (which names the port the kernel chose), and stops it with a signal to collect the
// JSON totals it prints on exit. Every server still running is killed when mocha exits.
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { ROOT, RUN_JS, fixture } from './cli';

export interface ServeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The --json document (undefined when stdout was not one JSON document). */
  doc: any;
  /** Signal to exit, ms. */
  stopMs: number;
}

export interface ServeProcess {
  proc: ChildProcess;
  pid: number;
  host: string;
  port: number;
  /** The whole `iocptls serve: listening on ...` line. */
  listening: string;
  /** Spawn to listening line, ms. */
  startupMs: number;
  stderr(): string;
  /** Open file descriptors of the serve process right now (Linux /proc). */
  fdCount(): number;
  /** Resolves once stderr matches (e.g. a --stats line). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends the signal and waits for the exit (SIGKILL after timeoutMs). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ServeExit>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export interface StartServeOptions {
  /** Add --json (default true). */
  json?: boolean;
  /** Add --port 0 (default true). */
  port0?: boolean;
  startTimeoutMs?: number;
  /** Start it with this many file descriptors at most (`ulimit -n`; Linux). */
  ulimitFiles?: number;
}

export function startServe(args: string[], o: StartServeOptions = {}): Promise<ServeProcess> {
  const full = ['serve', ...(o.port0 === false ? [] : ['--port', '0']), ...args, ...(o.json === false ? [] : ['--json'])];
  const t0 = performance.now();
  // Through sh for ulimit, which then execs node: the pid is still serve's own.
  const proc =
    o.ulimitFiles !== undefined
      ? spawn('/bin/sh', ['-c', `ulimit -n ${o.ulimitFiles} && exec "$0" "$@"`, process.execPath, RUN_JS, ...full], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(process.execPath, [RUN_JS, ...full], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString('utf8');
    for (let i = waiters.length - 1; i >= 0; i--) {
      const m = err.match(waiters[i].re);
      if (m) waiters.splice(i, 1)[0].resolve(m);
    }
  });
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  const exited = new Promise<void>((r) =>
    proc.once('close', (code, signal) => {
      live.delete(proc);
      exitInfo = { code, signal, at: performance.now() };
      r();
    })
  );

  const waitFor = (re: RegExp, timeoutMs = 5000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const m = err.match(re);
      if (m) return resolve(m);
      const t = setTimeout(() => reject(new Error(`serve never printed ${re}; stderr:\n${err.slice(-3000)}`)), timeoutMs);
      waiters.push({ re, resolve: (x) => (clearTimeout(t), resolve(x)) });
      void exited.then(() => {
        clearTimeout(t);
        if (!err.match(re)) reject(new Error(`serve exited (${exitInfo?.code}/${exitInfo?.signal}) before printing ${re}; stderr:\n${err.slice(-3000)}`));
      });
    });

  const stop = async (signal: NodeJS.Signals = 'SIGINT', timeoutMs = 10_000): Promise<ServeExit> => {
    const sent = performance.now();
    if (!exitInfo) proc.kill(signal);
    const killer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(killer);
    let doc: any;
    try {
      doc = JSON.parse(out);
    } catch {
      doc = undefined;
    }
    return { code: exitInfo!.code, signal: exitInfo!.signal, stdout: out, stderr: err, doc, stopMs: exitInfo!.at - sent };
  };

  // 40 s: how long a start may take is serve_cli's 'starts quickly' test; here it only has to come
  // (two serves starting at once took over 15 s at load 19 on the 2-core machine).
  return waitFor(/iocptls serve: listening on (\[([^\]]+)\]|([^:\s]+)):(\d+)[^\n]*/, o.startTimeoutMs ?? 40_000).then(
    (m) => ({
      proc,
      pid: proc.pid!,
      host: m[2] ?? m[3],
      port: Number(m[4]),
      listening: m[0],
      startupMs: performance.now() - t0,
      stderr: () => err,
      fdCount: () => fs.readdirSync(`/proc/${proc.pid}/fd`).length,
      waitFor,
      stop,
    }),
    async (e) => {
      proc.kill('SIGKILL');
      await exited;
      throw e;
    }
  );
}

/** A readable dump of a serve exit, for assertion messages. */
/**
 * startServe for the tests of one describe: every server a test starts is SIGKILLed after that
 * test, whether it passed or not (call it in the describe's body, where mocha hooks belong).
 */
export function servesEachTest(): (args: string[], o?: StartServeOptions) => Promise<ServeProcess> {
  let servers: ServeProcess[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL', 2000)));
    servers = [];
  });
  return async (args, o) => {
    const s = await startServe(args, o);
    servers.push(s);
    return s;
  };
}

export function dumpServe(x: ServeExit): string {
  return `exit ${x.code}${x.signal ? ` (${x.signal})` : ''} after ${Math.round(x.stopMs)} ms\n--- stdout\n${x.stdout.slice(0, 3000)}\n--- stderr\n${x.stderr.slice(-3000)}`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until cond() holds (or throws after timeoutMs with `what`). */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// --- Node.js TLS clients (an independent peer: Node's own TLS stack), each doing one thing and
// reporting byte counts from the client's side.

export const CA = fs.readFileSync(fixture('ca.pem'));

export interface ClientOptions extends tls.ConnectionOptions {
  host?: string;
  port: number;
}

function base(o: ClientOptions): tls.ConnectionOptions {
  return { host: '127.0.0.1', ca: CA, servername: 'localhost', ...o };
}

/** Connects and resolves once the handshake is done (rejects on error or timeout). */
export function connectTls(o: ClientOptions, timeoutMs = 5000): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect(base(o));
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('TLS connect timed out'));
    }, timeoutMs);
    s.once('secureConnect', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** Sends `data`, reads exactly data.length bytes back (checking they are the same), then closes. */
export async function echoOnce(o: ClientOptions, data: Buffer, timeoutMs = 10_000): Promise<{ sent: number; received: number }> {
  const s = await connectTls(o, timeoutMs);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`echo timed out after ${received}/${data.length} bytes`));
    }, timeoutMs);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      if (received >= data.length) {
        clearTimeout(t);
        const back = Buffer.concat(chunks);
        s.end();
        s.once('close', () => {
          if (!back.equals(data)) reject(new Error(`echoed bytes differ (${back.length} vs ${data.length})`));
          else resolve({ sent: data.length, received });
        });
      }
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.once('end', () => {
      clearTimeout(t);
      if (received < data.length) reject(new Error(`the server closed after ${received}/${data.length} echoed bytes`));
    });
    s.write(data);
  });
}

/** Sends `data` then ends, waiting until the server closed too (so it has read everything). */
export async function sendAll(o: ClientOptions, data: Buffer, timeoutMs = 10_000): Promise<{ sent: number; received: number }> {
  const s = await connectTls(o, timeoutMs);
  return new Promise((resolve, reject) => {
    let received = 0;
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('sendAll timed out'));
    }, timeoutMs);
    s.on('data', (d: Buffer) => (received += d.length));
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.once('close', () => {
      clearTimeout(t);
      resolve({ sent: data.length, received });
    });
    s.end(data);
  });
}

/**
 * Reads at least n bytes, then leaves with a reset (RST); resolves with the bytes actually read.
 * A reset, not destroy(): destroy() sends a FIN when the kernel has nothing unread at that instant
 * and a RST otherwise, so a server's count of how its clients left changed from run to run.
 */
export async function readN(o: ClientOptions, n: number, timeoutMs = 10_000): Promise<number> {
  const raw = net.connect({ host: o.host ?? '127.0.0.1', port: o.port });
  raw.on('error', () => {}); // the TLS socket reports it
  const s = await connectTls({ ...o, socket: raw }, timeoutMs);
  return new Promise((resolve, reject) => {
    let received = 0;
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`readN timed out after ${received}/${n} bytes`));
    }, timeoutMs);
    s.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= n) {
        clearTimeout(t);
        raw.resetAndDestroy();
        s.destroy();
        resolve(received);
      }
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}
