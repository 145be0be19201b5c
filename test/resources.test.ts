// The engine when the system says no: out of file descriptors on the server (accept) and on the
// client (socket()), and signals arriving all the time (a profiler's SIGPROF). The real commands,
// real limits (ulimit -n), and peers we did not write (Node's TLS clients).
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { ROOT, RUN_JS } from './helpers/cli';
import { dumpServe, sleep, startServe, until } from './helpers/serve';

const linux = process.platform === 'linux';

/** CPU seconds (user + system) a process has used so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime: fields 14 and 15, in clock ticks (USER_HZ 100)
}

/** Runs `sh -c 'ulimit -n N && exec node bin/run.js ARGS'`, collecting its output. */
function runLimited(files: number, args: string[], nodeArgs: string[] = [], timeoutMs = 90_000) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>((resolve, reject) => {
    const cmd = files > 0 ? `ulimit -n ${files} && exec "$0" "$@"` : 'exec "$0" "$@"';
    const p = spawn('/bin/sh', ['-c', cmd, process.execPath, ...nodeArgs, RUN_JS, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const killer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, out, err });
    });
  });
}

describe('out of file descriptors', function () {
  this.timeout(120_000);
  before(function () {
    if (!linux) this.skip();
  });

  it('serve under ulimit -n 256 with 1000 clients: backs off (no spinning), counts EMFILE, and serves everyone once descriptors free up', async () => {
    const CLIENTS = 1000;
    const srv = await startServe(['-w', '1', '--mode', 'echo'], { ulimitFiles: 256 });
    const sockets: tls.TLSSocket[] = [];
    let served = 0;
    let failed = 0;
    let released = false;
    const held: tls.TLSSocket[] = [];
    try {
      for (let i = 0; i < CLIENTS; i++) {
        const s = tls.connect({ port: srv.port, host: '127.0.0.1', rejectUnauthorized: false });
        sockets.push(s);
        s.on('error', () => failed++);
        s.once('secureConnect', () => s.write('ping'));
        s.once('data', () => {
          served++;
          // Served clients hold on to their connection (and the server's descriptor) until released.
          if (released) s.end();
          else held.push(s);
        });
      }
      // The server takes what its descriptors allow, then the rest wait in its listen queue.
      let last = -1;
      await until(() => {
        const settled = served === last && served > 100;
        last = served;
        return settled;
      }, 'the served count to settle', 60_000).catch(() => undefined);
      await sleep(500);
      assert.ok(served > 100 && served < CLIENTS, `served ${served} of ${CLIENTS} before descriptors were freed`);
      // Two seconds with descriptors exhausted and clients waiting: the server must be idle.
      const cpu0 = cpuSeconds(srv.pid);
      await sleep(2000);
      const cpu = cpuSeconds(srv.pid) - cpu0;
      assert.ok(cpu < 0.5, `serve used ${cpu.toFixed(2)} s of CPU in 2 s while out of descriptors (spinning)`);
      // Release: as connections close, the waiting clients are accepted and served.
      released = true;
      for (const s of held.splice(0)) s.end();
      await until(() => served === CLIENTS, `all ${CLIENTS} clients served (${served} so far, ${failed} failed)`, 90_000);
      assert.equal(failed, 0);
      await sleep(200);
      const x = await srv.stop();
      assert.equal(x.code, 0, dumpServe(x));
      assert.equal(x.doc.connections.accepted, CLIENTS, dumpServe(x));
      assert.ok((x.doc.connections.acceptErrors.EMFILE ?? 0) > 0, `EMFILE counted among accept errors: ${dumpServe(x)}`);
      assert.equal(x.doc.totals.handshakes, CLIENTS);
      assert.equal(x.doc.totals.errors['eof in handshake'], undefined, dumpServe(x));
    } finally {
      for (const s of sockets) s.destroy();
      await srv.stop();
    }
  });

  it('bench under ulimit -n 120 asking for 300 connections: counts EMFILE and keeps going with what it can hold', async () => {
    const srv = await startServe(['-w', '1']);
    try {
      const r = await runLimited(120, ['bench', 'handshake', `127.0.0.1:${srv.port}`, '-c', '300', '-w', '1', '-d', '2', '--warmup', '0', '--json']);
      assert.equal(r.code, 0, `exit ${r.code} ${r.signal}\n${r.err.slice(-3000)}`);
      const doc = JSON.parse(r.out);
      assert.ok(doc.totals.handshakes > 50, `handshakes ${doc.totals.handshakes}`);
      assert.ok((doc.errors.emfile ?? 0) >= 1, `errors: ${JSON.stringify(doc.errors)}`);
      // A few failed socket() calls (the first wave, then one probe a second), not a spin.
      assert.ok(doc.errors.emfile < 100, `errors: ${JSON.stringify(doc.errors)}`);
      // The report says the load was smaller than asked.
      assert.equal(doc.connectionLimit.reason, 'emfile');
      assert.equal(doc.connectionLimit.wanted, 300);
      assert.ok(doc.connectionLimit.held > 0 && doc.connectionLimit.held < 300, JSON.stringify(doc.connectionLimit));
    } finally {
      await srv.stop();
    }
  });
});

describe('signals', function () {
  this.timeout(120_000);

  it('node --cpu-prof: bench -d 2 with the embedded server finishes (SIGPROF interrupts every wait)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-prof-'));
    try {
      // A 2 s run takes a few seconds more to start and stop; a wait restarted by every signal
      // took a minute here, or forever.
      const t0 = Date.now();
      const r = await runLimited(0, ['bench', '-d', '2', '--warmup', '0', '--json'], ['--cpu-prof', '--cpu-prof-dir', dir], 40_000);
      assert.equal(r.code, 0, `exit ${r.code} ${r.signal} after ${Date.now() - t0} ms\n${r.err.slice(-3000)}`);
      const doc = JSON.parse(r.out);
      assert.ok(doc.totals.handshakes > 0);
      assert.ok(fs.readdirSync(dir).some((f) => f.endsWith('.cpuprofile')), 'the profiler ran');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
