// bench --shard I/N --rendezvous: three shard processes on loopback meet at shard 0, start at the
// one instant it announces, and shard 0 prints the merged result — checked against the server's
// own count (`iocptls serve --json` totals), the shards' own documents, and the failures that must
// be loud: a shard that never comes (every waiting shard names it at the deadline) and a shard
// killed mid-run (shard 0's merged result fails, naming it).
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { getFreePort } from './helpers/free_port';
import { ROOT, RUN_JS, runCli, dump } from './helpers/cli';
import { startServe, ServeProcess } from './helpers/serve';

interface Shard {
  proc: ChildProcess;
  index: number;
  stderr(): string;
  waitFor(re: RegExp, ms?: number): Promise<void>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string; ms: number }>;
}

const live = new Set<ChildProcess>();
after(() => {
  for (const p of live) p.kill('SIGKILL');
});

/** One shard process: `iocptls bench TARGET --shard I/N --rendezvous 127.0.0.1:PORT ... --json`. */
function startShard(index: number, n: number, rvPort: number, args: string[]): Shard {
  const t0 = Date.now();
  const proc = spawn(process.execPath, [RUN_JS, ...args, '--shard', `${index}/${n}`, '--rendezvous', `127.0.0.1:${rvPort}`, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let out = '';
  let err = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => {
    err += d;
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i].re.test(err)) waiters.splice(i, 1)[0].resolve();
  });
  const killer = setTimeout(() => proc.kill('SIGKILL'), 90_000);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string; ms: number }>((resolve) =>
    proc.on('close', (code, signal) => {
      clearTimeout(killer);
      live.delete(proc);
      resolve({ code, signal, out, err, ms: Date.now() - t0 });
    })
  );
  const waitFor = (re: RegExp, ms = 60_000) =>
    new Promise<void>((resolve, reject) => {
      if (re.test(err)) return resolve();
      const t = setTimeout(() => reject(new Error(`shard ${index} never printed ${re}; stderr:\n${err}`)), ms);
      waiters.push({ re, resolve: () => (clearTimeout(t), resolve()) });
    });
  return { proc, index, stderr: () => err, waitFor, done };
}

describe('bench --rendezvous: shards that meet, start together and merge at shard 0', function () {
  this.timeout(120_000);

  describe('three shards against iocptls serve', () => {
    let serve: ServeProcess | undefined;
    let results: Array<Awaited<Shard['done']>> = [];
    let merged: any;
    let own: any[] = [];
    let serverHandshakes = 0;
    let rv = 0;

    before(async () => {
      serve = await startServe(['-w', '1']);
      rv = await getFreePort();
      const bench = ['bench', `127.0.0.1:${serve.port}`, '-c', '6', '-w', '1', '-d', '2', '--warmup', '300ms'];
      // Shard 0 last: the others wait for it (retrying), as pods that start before pod 0 do.
      const shards = [2, 1, 0].map((i) => startShard(i, 3, rv, bench));
      results = (await Promise.all(shards.map((s) => s.done))).reverse();
      const exit = await serve.stop();
      serverHandshakes = exit.doc.totals.handshakes;
      merged = JSON.parse(results[0].out);
      own = [1, 2].map((i) => JSON.parse(results[i].out));
    });
    after(async () => serve?.stop());

    it('every shard exits 0; shard 0 prints the merged document of all three, the others their own', () => {
      results.forEach((r, i) => assert.equal(r.code, 0, `shard ${i}: exit ${r.code}\n${r.err}`));
      assert.deepEqual(merged.merged.of, 3);
      assert.equal(merged.merged.inputs, 3);
      assert.equal(merged.merged.missing, undefined);
      assert.deepEqual(merged.shards.map((s: any) => s.shard), [0, 1, 2]);
      assert.equal(merged.params.connections, 6);
      assert.deepEqual(own.map((d) => d.shard.index), [1, 2]);
      assert.match(results[0].err, /rendezvous: all 3 shards ready; starting at/);
      for (const i of [1, 2]) assert.match(results[i].err, new RegExp(`shard ${i}/3 sent its result to shard 0`));
    });

    it('the merged handshakes (warmup, window and drain) are exactly the server\'s own count, and the sums of the shards\'', () => {
      const ours = merged.warmup.totals.handshakes + merged.totals.handshakes + merged.afterWindow.handshakes;
      console.log(`      serve counted ${serverHandshakes} handshakes; merged: warmup ${merged.warmup.totals.handshakes} + window ${merged.totals.handshakes} + drain ${merged.afterWindow.handshakes} = ${ours}`);
      assert.ok(merged.totals.handshakes > 0);
      assert.equal(ours, serverHandshakes);
      const rows = merged.shards;
      assert.equal(merged.totals.handshakes, rows.reduce((t: number, r: any) => t + r.totals.handshakes, 0));
      for (const d of own) assert.equal(rows[d.shard.index].totals.handshakes, d.totals.handshakes);
      assert.equal(merged.latency.handshake.count, merged.totals.handshakes);
    });

    it('all shards were given one instant by shard 0 and none began before it', () => {
      const rows = merged.shards;
      const intended = new Set(rows.map((r: any) => r.startAt.intendedMs));
      assert.equal(intended.size, 1, JSON.stringify(rows.map((r: any) => r.startAt)));
      for (const r of rows) assert.ok(r.startAt.actualMs >= r.startAt.intendedMs, `shard ${r.shard} began ${r.startAt.lateMs} ms after`);
      for (const d of own) assert.equal(d.shard.rendezvous, `127.0.0.1:${rv}`);
    });

    it('all shards start within 100 ms of each other', () => {
      const actual = merged.shards.map((r: any) => r.startAt.actualMs);
      const skew = Math.max(...actual) - Math.min(...actual);
      console.log(`      shards began ${merged.shards.map((r: any) => `${r.startAt.lateMs.toFixed(1)} ms`).join(', ')} after the announced instant: ${skew.toFixed(2)} ms apart`);
      assert.ok(skew <= 100, `start skew ${skew} ms`);
    });
  });

  it('a shard that never comes: each waiting shard fails at the deadline, naming it', async () => {
    const rv = await getFreePort();
    // No target needed to fail: each shard would bench its own embedded server.
    const args = ['bench', '-c', '3', '-w', '1', '-d', '1', '--warmup', '0', '--rendezvous-timeout', '4'];
    const shards = [0, 1].map((i) => startShard(i, 3, rv, args));
    const [r0, r1] = await Promise.all(shards.map((s) => s.done));
    for (const r of [r0, r1]) {
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /shard 2 of 3 did not join within 4 s \(--rendezvous-timeout\)/);
      // The progress lines (listening, joined, waiting for shard 0), then one error line.
      assert.equal(r.err.trim().split('\n').filter((l) => !/^iocptls: rendezvous: shard \d\/3 (listening|joined|waiting)/.test(l)).length, 1, r.err);
      // Within the deadline (plus start-up on a loaded machine), not a hang.
      assert.ok(r.ms < 40_000, `${r.ms} ms`);
    }
    assert.match(JSON.parse(r0.out).error.message, /shard 2 of 3 did not join/);
  });

  it('a shard killed mid-run: shard 0 prints what it merged and exits 1, naming the shard', async () => {
    const rv = await getFreePort();
    const args = ['bench', '-c', '3', '-w', '1', '-d', '3', '--warmup', '0'];
    const shards = [0, 1, 2].map((i) => startShard(i, 3, rv, args));
    await shards[0].waitFor(/all 3 shards ready/);
    await new Promise((r) => setTimeout(r, 1000));
    shards[2].proc.kill('SIGKILL');
    const [r0, r1, r2] = await Promise.all(shards.map((s) => s.done));
    assert.equal(r2.signal, 'SIGKILL');
    assert.equal(r1.code, 0, r1.err);
    assert.equal(r0.code, 1, r0.err);
    assert.match(r0.err, /iocptls: shard 2\/3 disconnected mid-run .*: the merged result lacks it/);
    const d = JSON.parse(r0.out);
    assert.deepEqual(d.merged.missing, [2]);
    assert.deepEqual(d.shards.map((s: any) => s.shard), [0, 1]);
  });

  it('bad --rendezvous use: one line, exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--rendezvous', '127.0.0.1:7946'], /--rendezvous needs --shard/],
      [['--shard', '0/2', '--rendezvous', '127.0.0.1'], /needs a port: HOST:PORT/],
      [['--shard', '0/2', '--rendezvous', '127.0.0.1:7946', '--start-at', new Date(Date.now() + 60_000).toISOString()], /--rendezvous and --start-at both set the start/],
      [['--rendezvous-bind', '0.0.0.0'], /--rendezvous-bind goes with --rendezvous/],
    ];
    await Promise.all(cases.map(async ([args, re]) => {
      const r = await runCli(['bench', '-n', '10', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}\n${dump(r)}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, re);
    }));
  });
});
