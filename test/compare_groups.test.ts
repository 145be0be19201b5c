// bench handshake --compare-groups: interleaved rounds (the order is checked, and the reusable
// interleave module on its own), every handshake of a run on its group (the server's own count
// by group agrees), handshake bytes that differ by exactly what the key shares differ by, and
// the flag errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { interleavedOrder, runInterleaved } from '../src/engine/interleave';
import { median } from '../src/engine/stats/median';
import { startCountingServer } from './helpers/bench_peers';
import { dump, ROOT, RUN_JS, runCli, runCliJson } from './helpers/cli';
import { requirePq } from './helpers/openssl_release';
import { dumpServe, startServe } from './helpers/serve';

const QUICK = ['--rounds', '2', '-d', '1', '--warmup', '0', '-c', '4', '-w', '1', '--no-plot'];

describe('interleave', () => {
  it('runs A B C A B C, one at a time, and keeps each round per variant', async () => {
    const seen: string[] = [];
    let running = 0;
    const out = await runInterleaved({
      variants: ['A', 'B', 'C'],
      rounds: 2,
      run: async (v, i, round) => {
        assert.equal(running++, 0, 'runs never overlap');
        await new Promise((r) => setTimeout(r, 5));
        seen.push(`${v}${round}`);
        running--;
        return `${v}:${i}:${round}`;
      },
    });
    assert.deepEqual(seen, ['A0', 'B0', 'C0', 'A1', 'B1', 'C1']);
    assert.deepEqual(out.map((v) => v.results), [['A:0:0', 'A:0:1'], ['B:1:0', 'B:1:1'], ['C:2:0', 'C:2:1']]);
    assert.deepEqual(interleavedOrder(3, 2), [0, 1, 2, 0, 1, 2]);
  });

  it('stops between runs when asked, returning what ran', async () => {
    let n = 0;
    const out = await runInterleaved({ variants: [1, 2], rounds: 5, run: async (v) => (n++, v), shouldStop: () => n >= 3 });
    assert.deepEqual(out.map((v) => v.results.length), [2, 1]);
  });

  it('median', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.equal(median([]), 0);
  });
});

describe('bench handshake --compare-groups', function () {
  this.timeout(120_000);

  it('X25519 vs P-256 on the embedded server (own process): interleaved, counted by group on both sides, bytes differ by the key shares', async () => {
    const r = await runCliJson(['bench', 'handshake', '--groups', 'X25519,P-256', '--compare-groups', ...QUICK]);
    assert.equal(r.code, 0, dump(r));
    const c = r.doc;
    assert.equal(c.schema, 'iocptls.compare-groups/1');
    assert.deepEqual(c.order, ['X25519', 'P-256', 'X25519', 'P-256']);
    assert.equal(c.target.embedded, true);
    assert.deepEqual(c.groups.map((g: any) => g.group), ['X25519', 'P-256']);
    for (const g of c.groups) {
      assert.equal(g.rounds, 2);
      assert.equal(g.handshakesPerSecByRound.length, 2);
      assert.ok(g.handshakes > 0 && g.errors === 0, JSON.stringify(g));
      // Each run offered only its group: every handshake used it.
      assert.deepEqual(g.negotiated, { [g.group]: g.handshakes });
      assert.equal(g.handshakeBytes.full.count, g.handshakes);
      // The server (another process) counted the same handshakes by group: those of the
      // measured windows and those that completed in the drains after them.
      assert.equal(c.server.groups[g.group], g.handshakesAll, JSON.stringify([c.server, g]));
      assert.ok(g.handshakesAll >= g.handshakes);
    }
    const [x, p] = c.groups;
    assert.deepEqual(x.ratios, { handshakesPerSec: 1, clientCpuUsPerHandshake: x.clientCpuUsPerHandshake === null ? null : 1, p50: 1, p99: 1, bytesSent: 1, bytesReceived: 1 });
    // A P-256 key share is an uncompressed point (65 bytes) where X25519's is 32: the ClientHello
    // grows by exactly 33 bytes. The server's reply grows by 33, plus its supported_groups list
    // (EncryptedExtensions, sent to a client whose group is not the server's first choice: 10
    // bytes for two groups), give or take a byte or two of ECDSA signature.
    assert.equal(p.handshakeBytes.full.sent - x.handshakeBytes.full.sent, 33, JSON.stringify([x.handshakeBytes, p.handshakeBytes]));
    assert.ok(Math.abs(p.handshakeBytes.full.received - x.handshakeBytes.full.received - 43) <= 3, JSON.stringify([x.handshakeBytes, p.handshakeBytes]));
    assert.ok(p.ratios.bytesSent > 1);
    // The bench workers' own CPU time (getrusage per thread) where the platform tells it.
    assert.equal(c.clientCpu, 'thread');
    assert.ok(x.clientCpuUsPerHandshake > 0 && p.clientCpuUsPerHandshake > 0, JSON.stringify(c.groups));
  });

  it('Ctrl-C (SIGINT) stops like bench: the runs so far compared and printed, "interrupted" said, exit 130', async function () {
    // A Node TLS server that counts: SIGINT is sent once it has seen handshakes (the first run is
    // measuring), not after a guessed delay that a loaded machine's slow start would outrun.
    const server = await startCountingServer({});
    const interrupt = async (json: boolean) => {
      const args = ['bench', 'handshake', `127.0.0.1:${server.port}`, '--groups', 'X25519,P-256', '--compare-groups', '--rounds', '3', '-d', '3', '--warmup', '0', '-c', '2', '-w', '1', '--no-plot'];
      const child = spawn(process.execPath, [RUN_JS, ...args, ...(json ? ['--json'] : [])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
      child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
      const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
      const killer = setTimeout(() => child.kill('SIGKILL'), 80_000);
      try {
        const seen = server.handshakes;
        while (server.handshakes < seen + 20 && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
        child.kill('SIGINT');
        return { code: await exited, out, err };
      } finally {
        clearTimeout(killer);
        child.kill('SIGKILL');
      }
    };
    try {
      const j = await interrupt(true);
      assert.equal(j.code, 130, `exit ${j.code}\nstderr: ${j.err}\nstdout: ${j.out.slice(0, 500)}`);
      assert.match(j.err, /iocptls: SIGINT: stopping, the comparison covers the runs measured so far/);
      const c = JSON.parse(j.out);
      assert.equal(c.schema, 'iocptls.compare-groups/1');
      assert.deepEqual(c.interrupted, { signal: 'SIGINT' });
      assert.ok(c.order.length >= 1 && c.order.length < 6, `runs: ${c.order.join(' ')}`);
      assert.equal(c.order[0], 'X25519');
      assert.equal(c.groups.reduce((n: number, g: any) => n + g.rounds, 0), c.order.length);
      assert.ok(c.groups[0].handshakes > 0, 'the first group was measured');

      const t = await interrupt(false);
      assert.equal(t.code, 130, `exit ${t.code}\nstderr: ${t.err}`);
      assert.match(t.out, /X25519/);
      assert.match(t.out, /Interrupted \(SIGINT\) after \d of 6 runs: the figures cover the runs measured so far/);
    } finally {
      await server.close();
    }
  });

  it('against a target (serve --groups X25519:P-384), human output: one row per group with ratios', async () => {
    const s = await startServe(['--workers', '1', '--groups', 'X25519:P-384']);
    try {
      const r = await runCli(['bench', 'handshake', `127.0.0.1:${s.port}`, '--groups', 'P-384,X25519', '--compare-groups', ...QUICK]);
      assert.equal(r.code, 0, dump(r));
      assert.match(r.out, /key exchange groups compared · 127\.0\.0\.1:\d+\n/);
      assert.match(r.out, /2 groups × 2 interleaved rounds of 1 s/);
      assert.match(r.out, /│ P-384 +│ +[\d.,]+\/s │/);
      assert.match(r.out, /│ X25519 +│ +[\d.,]+\/s ×\d+\.\d\d │/);
      assert.match(r.out, /Ratios \(×\) are to P-384/);
      const x = await s.stop();
      assert.equal(x.code, 0, dumpServe(x));
      assert.deepEqual(Object.keys(x.doc.totals.groups).sort(), ['P-384', 'X25519']);
    } finally {
      await s.stop('SIGKILL', 2000);
    }
  });

  it('OpenSSL 3.5: X25519 vs X25519MLKEM768: the hybrid sends its 1184-byte key and gets a 1088-byte ciphertext back, byte for byte', async function () {
    requirePq(this);
    const r = await runCliJson(['bench', 'handshake', '--groups', 'X25519,X25519MLKEM768', '--compare-groups', ...QUICK]);
    assert.equal(r.code, 0, dump(r));
    const [x, pq] = r.doc.groups;
    assert.deepEqual(pq.negotiated, { X25519MLKEM768: pq.handshakes });
    // The ClientHello grows by the 1184-byte ML-KEM key, less the ec_point_formats extension (8
    // bytes) OpenSSL leaves out when no elliptic-curve group is offered.
    assert.equal(pq.handshakeBytes.full.sent - x.handshakeBytes.full.sent, 1184 - 8, JSON.stringify([x.handshakeBytes, pq.handshakeBytes]));
    // As above: +10 bytes of supported_groups for the server's second choice.
    assert.ok(Math.abs(pq.handshakeBytes.full.received - x.handshakeBytes.full.received - 1098) <= 3, JSON.stringify([x.handshakeBytes, pq.handshakeBytes]));
    assert.ok(pq.ratios.bytesSent > 3);
  });

  for (const [what, args, cause] of [
    ['no --groups', ['--compare-groups'], /--compare-groups needs --groups A,B,\.\.\. \(two or more groups\)/],
    ['one group', ['--compare-groups', '--groups', 'X25519'], /two or more different groups/],
    // OpenSSL 3.0 refuses the '?' syntax itself; 3.5 takes it, and --compare-groups does not.
    ['a group list with OpenSSL syntax', ['--compare-groups', '--groups', 'X25519:?P-256'], /plain group names, not '\?P-256'|not a valid group list/],
    ['--count', ['--compare-groups', '--groups', 'X25519,P-256', '-n', '10'], /leave out --count/],
  ] as const) {
    it(`${what}: one line, exit 2`, async () => {
      const r = await runCli(['bench', 'handshake', ...args]);
      assert.equal(r.code, 2, dump(r));
      assert.match(r.stderr, /^iocptls: [^\n]+\n$/);
      assert.match(r.stderr, cause);
    });
  }
});
