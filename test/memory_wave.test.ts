// Memory goes only where bytes are, and comes back: a wave of thousands of TLS connections (an
// independent client: Node's tls, in another process) comes, pings, sits idle, and leaves. While
// they sit idle their BIO pairs are given back; once they are gone, the loop's native memory in
// use is back at its baseline, no receive buffer is out or leaked, and the C heap has not kept
// memory per connection. On every Linux receive path: io_uring's provided buffer ring, its
// per-receive fallback, and epoll.
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { heapStats } from '../native/memory';
import { serverAppFactory } from '../src/engine/apps/server_modes';
import { Loop, LoopMemory } from '../src/engine/loop';
import { Counters } from '../src/engine/stats/counters';
import { TlsContext } from '../src/engine/tls/context';
import { fixture } from './helpers/cli';
import { portVariants } from './helpers/port_variants';

// 2,000 a wave (IOCPTLS_WAVE for more): thousands, as a busy server sees, in a third less of the suite's time than 3,000.
const N = Number(process.env.IOCPTLS_WAVE ?? 2000);

/** A Node process that opens `n` TLS connections to port (64 handshakes at a time), pings each, holds them until told, then closes all. */
const CLIENT = `
const tls = require('tls');
const [port, n] = process.argv.slice(1).map(Number);
const socks = [];
let opened = 0, echoed = 0, failed = 0, inFlight = 0;
function next() {
  while (inFlight < 64 && opened < n) {
    opened++; inFlight++;
    const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => s.write('ping'));
    s.once('data', () => { inFlight--; echoed++; socks.push(s); if (echoed + failed === n) console.log('held ' + echoed + ' ' + failed); next(); });
    s.on('error', () => { inFlight--; failed++; if (echoed + failed === n) console.log('held ' + echoed + ' ' + failed); next(); });
  }
}
next();
process.stdin.on('data', () => { for (const s of socks) s.end(); let left = socks.length; if (!left) process.exit(0); for (const s of socks) s.on('close', () => { if (--left === 0) { console.log('closed'); process.exit(0); } }); });
`;

/** Linux's backends (this file's peers and memory figures are Linux's). */
const variants = () => (process.platform === 'linux' ? portVariants() : []);

for (const { name, make } of variants()) {
  describe(`memory after a wave of ${N} connections: ${name}`, function () {
    this.timeout(240_000);
    let loop: Loop;
    let ctx: TlsContext;
    let child: ChildProcess | undefined;
    afterEach(() => {
      child?.kill();
      ctx?.free();
    });

    async function until(done: () => boolean, ms: number, what: string): Promise<void> {
      const end = performance.now() + ms;
      await loop.runAsync(() => done() || performance.now() > end, 5);
      if (!done()) throw new Error(`timed out: ${what}`);
    }

    /**
     * Two memory upkeeps with the loop turning between them, as a running loop has them (a second
     * apart): what the first could not do while completions waited (the last closes), the second does.
     */
    async function upkeep(): Promise<void> {
      loop.maintain();
      const t = performance.now() + 50;
      await until(() => performance.now() >= t, 1000, 'a turn between upkeeps');
      loop.maintain();
    }

    /** One wave: a client process opens n connections, each pings; `whileHeld` runs while they are all open; then they leave. */
    async function wave(port: number, n: number, whileHeld: () => Promise<void>): Promise<number> {
      const c = (child = spawn(process.execPath, ['-e', CLIENT, String(port), String(n)], { stdio: ['pipe', 'pipe', 'inherit'] }));
      let out = '';
      c.stdout!.on('data', (d) => (out += d));
      let exited = false;
      c.on('exit', () => (exited = true));
      await until(() => /held \d+ \d+/.test(out), 180_000, `${n} connections held (${out.trim()})`);
      const [, echoed, failed] = /held (\d+) (\d+)/.exec(out)!.map(Number);
      assert.equal(failed, 0, `${failed} client connections failed`);
      await until(() => loop.stats.open === n, 10_000, `the server holds ${n} (has ${loop.stats.open})`);
      await whileHeld();
      c.stdin!.write('go\n');
      await until(() => exited && loop.stats.open === 0, 60_000, `all ${n} closed (open ${loop.stats.open})`);
      return echoed;
    }

    it('gives idle connections\' pairs back while they are held, and returns to its baseline once they leave, leaking nothing', async () => {
      loop = new Loop(make(), { trimHeap: true, releaseIdleMs: 300 });
      ctx = new TlsContext({ role: 'server', certs: [{ cert: fixture('localhost.pem'), key: fixture('localhost.key') }] });
      const counters = new Counters();
      const l = loop.port.openListener('127.0.0.1', 0, 4096);
      loop.listen(l.fd, ctx, serverAppFactory('echo', { counters, bodySize: 0 }), { depth: 64 });
      // A first small wave settles what is allocated once (the arena's first slab, the ring, JIT).
      await wave(l.port, 50, async () => {});
      await upkeep();
      const base: LoopMemory = loop.memory();
      const heap0 = heapStats();

      let held: LoopMemory | undefined;
      let idle: LoopMemory | undefined;
      const echoed = await wave(l.port, N, async () => {
        held = loop.memory();
        // Quiet for releaseIdleMs: each connection gives its pair's buffers back, still open.
        await until(() => loop.memory().pairs.paired === 0, 15_000, `idle connections release their pairs (paired ${loop.memory().pairs.paired})`);
        idle = loop.memory();
      });
      assert.equal(echoed, N);
      assert.equal(counters.bytesIn, 4 * (N + 50), 'every ping reached the server (and was echoed)');
      assert.ok(held!.pairs.sessions >= N, `sessions while held: ${held!.pairs.sessions}`);
      assert.equal(idle!.pairs.sessions, N, 'all still open while idle');
      assert.equal(idle!.pairs.bytes, 0, 'and none holds pair buffers');
      assert.equal(loop.recvBuffersInUse, 0);
      if (idle!.recv.recvMode === 'pool') {
        // io_uring without buffer rings (before Linux 5.19): each waiting receive owns its buffer, so
        // an idle connection pins exactly one receive buffer (and no pair); they come back below.
        const one = idle!.recv.recvBuffers.bufferSize;
        assert.ok(idle!.inUseBytes - base.inUseBytes <= N * one, `idle connections hold at most their receive buffer (${idle!.inUseBytes - base.inUseBytes} bytes)`);
      } else {
        // Nothing per connection: what is in use beyond the baseline can only be io_uring's provided
        // ring, whose population grows when receives find it empty (a wave of handshakes) and
        // shrinks once load drops; bounded, and far below one buffer per connection.
        const size = idle!.recv.recvBuffers.bufferSize;
        const outsideRing = (m: LoopMemory) => m.inUseBytes - (m.recv.ring?.buffers ?? 0) * size;
        assert.ok(outsideRing(idle!) <= outsideRing(base), `idle connections hold no native buffer of ours (${outsideRing(base)} -> ${outsideRing(idle!)} outside the ring)`);
        assert.ok((idle!.recv.ring?.buffers ?? 0) <= N / 10, `the provided ring holds ${idle!.recv.ring?.buffers} buffers for ${N} idle connections`);
      }
      assert.ok(loop.stats.pairsReleased >= N);

      await upkeep();
      const after = loop.memory();
      assert.equal(after.pairs.sessions, 0);
      assert.equal(after.pairs.bytes, 0);
      assert.equal(loop.recvBuffersInUse, 0, 'no receive buffer out');
      const ring = (m: LoopMemory) => (m.recv.ring ? `; ring ${m.recv.ring.buffers} buffers, target ${m.recv.ring.target}, ${m.recv.ring.retries} retries` : '');
      assert.ok(
        after.inUseBytes <= base.inUseBytes,
        `native memory in use is back at (or below) its baseline (${base.inUseBytes}${ring(base)} -> ${after.inUseBytes}${ring(after)}; ${loop.stats.trims} trims)`
      );
      assert.ok(
        after.recv.recvBuffers.allocated <= base.recv.recvBuffers.allocated + after.recv.recvBuffers.allocated / 2,
        `receive buffers trimmed: ${base.recv.recvBuffers.allocated} -> ${after.recv.recvBuffers.allocated}`
      );
      if (heap0 && after.heap) {
        const grew = after.heap.inUse - heap0.inUse;
        assert.ok(grew < N * 512, `the C heap keeps ${(grew / N).toFixed(0)} bytes per connection that left`);
      }
      loop.closeListeners();
      await until(() => loop.pendingOps === 0, 5000, 'accepts cancelled');
      const report = loop.destroy();
      assert.deepEqual(report, { pendingOps: 0, leakedBuffers: 0, leakedBytes: 0 });
    });
  });
}
