// `iocptls serve` holding a wave of idle TLS 1.3 connections from an independent client (Python's
// ssl module, bench/lib/idle_client.py): while they sit idle, its --stats line says no connection
// holds a BIO pair and its native memory is what it was before the wave (no receive buffer pinned
// per connection); after they leave, the process's resident memory (read from /proc, not from
// iocptls) is back near its baseline, and the totals say nothing leaked.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './helpers/cli';
import { ServeProcess, startServe } from './helpers/serve';

const N = Number(process.env.IOCPTLS_SERVE_WAVE ?? 2000);
const CLIENT = path.join(ROOT, 'bench', 'lib', 'idle_client.py');

function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'import ssl, asyncio'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
  return Number(m![1]) * 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The stats lines printed after `from` (an offset into stderr). */
function statsAfter(s: ServeProcess, from: number): string[] {
  return s.stderr().slice(from).split('\n').filter((l) => l.startsWith('open '));
}
/** `native 1.11 MB` of a stats line, in bytes (formatBytes' decimal units; three significant digits). */
function nativeOf(line: string): number {
  const m = /native ([\d.]+) (B|kB|MB|GB)/.exec(line);
  assert.ok(m, `no native figure in: ${line}`);
  return Number(m[1]) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2] as 'B']!;
}

describe(`serve: a wave of ${N} idle connections from Python's ssl`, function () {
  this.timeout(600_000);
  let serve: ServeProcess | undefined;
  afterEach(async () => {
    await serve?.stop('SIGKILL').catch(() => {});
    serve = undefined;
  });

  before(function () {
    if (process.platform !== 'linux') this.skip();
    if (!hasPython()) {
      console.log('      skipped: python3 with ssl and asyncio is needed');
      this.skip();
    }
  });

  /** Opens n connections from the Python client, runs whileHeld, closes them; resolves with how many were held. */
  async function wave(port: number, n: number, source: string, whileHeld: () => Promise<void>): Promise<number> {
    const c = spawn('python3', [CLIENT, '127.0.0.1', String(port), String(n), '50', source], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    const exited = new Promise<void>((r) => c.on('close', () => r()));
    try {
      const t0 = Date.now();
      while (!/held \d+ \d+/.test(out)) {
        if (c.exitCode !== null) throw new Error(`the Python client exited: ${err}`);
        if (Date.now() - t0 > 400_000) throw new Error(`the Python client did not open ${n} connections (${out})`);
        await sleep(100);
      }
      const [, ok, failed] = /held (\d+) (\d+)/.exec(out)!.map(Number);
      assert.equal(failed, 0, out);
      await whileHeld();
      c.stdin.write('go\n');
      await exited;
      assert.match(out, /closed/, err);
      return ok;
    } finally {
      c.kill();
    }
  }

  it('idle connections hold no pair and no receive buffer; RSS comes back after the wave; nothing leaks', async () => {
    const s = (serve = await startServe(['-w', '1', '--mode', 'echo', '--tls-min', '1.3', '--no-tickets', '--no-session-cache', '--stats']));
    // A small wave first: what is allocated once (JIT, the first slabs, OpenSSL's tables) is not per connection.
    await wave(s.port, 100, '127.0.0.1', async () => {});
    await sleep(3000);
    const base = rss(s.pid);
    const baseLines = statsAfter(s, 0);
    const baseNative = nativeOf(baseLines[baseLines.length - 1]);

    let held = 0;
    let idleLine = '';
    const ok = await wave(s.port, N, '127.0.0.2', async () => {
      // Quiet for a second: each connection gives its pair back; the next stats line shows it.
      const from = s.stderr().length;
      const end = Date.now() + 30_000;
      for (;;) {
        const l = statsAfter(s, from).find((x) => x.startsWith(`open ${N} `) && x.includes(`pairs 0/${N} 0 B`));
        if (l) {
          idleLine = l;
          break;
        }
        if (Date.now() > end) throw new Error(`no stats line with ${N} open and no pair: ${statsAfter(s, from).slice(-2).join(' | ')}`);
        await sleep(200);
      }
      held = rss(s.pid);
    });
    assert.equal(ok, N);
    // Until at least half of what the wave took is handed back (the check below), for at most 10 s:
    // a fixed 4 s waited for nothing when the trim came at once.
    let after = rss(s.pid);
    for (const end = Date.now() + 10_000; after - base > (held - base) / 2 && Date.now() < end; after = rss(s.pid)) await sleep(250);
    const mb = (b: number) => (b / 1e6).toFixed(1);
    console.log(`      RSS ${mb(base)} -> ${mb(held)} MB held (${((held - base) / N / 1024).toFixed(1)} KiB per idle connection) -> ${mb(after)} MB after; idle: ${idleLine.replace(/^.*(native)/, '$1')}`);
    // The native memory of its own an idle connection holds: none. What is in use is at most the
    // baseline's (the provided ring may have shrunk since), far below one receive buffer per connection.
    assert.ok(nativeOf(idleLine) <= baseNative, `native memory while ${N} sit idle (${idleLine}) vs ${baseNative} before`);
    assert.ok(held > base, 'holding connections costs something');
    // Generous: at least half of what the wave took is handed back to the system.
    assert.ok(after - base <= (held - base) / 2, `RSS ${mb(base)} -> ${mb(held)} -> ${mb(after)} MB: not handed back`);

    const exit = await s.stop();
    serve = undefined;
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.doc.memory.leakedBuffers, 0);
    assert.deepEqual(exit.doc.leftover, { connections: 0, recvBuffers: 0, pendingOps: 0, listeners: 0 });
    assert.equal(exit.doc.totals.handshakes, N + 100);
  });
});
