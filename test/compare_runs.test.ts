// compare on real runs, on a shared and noisy machine: two runs of the same configuration are
// never "regressed" (exit 0 or 3: no regression, or inconclusive when the noise is larger than
// the threshold), pair after pair, and the same server with an RSA-3072 certificate instead of
// ECDSA P-256 (several times slower handshakes) is "regressed" (exit 1).
//
// Both runs of a pair are measured at the same time, against `iocptls serve --mode handshake
// -w 1` servers this test starts: a machine whose load doubles between two sequential runs
// makes them really differ, and no statistics over each run's own rounds can call that noise.
// Measuring both at once is the interleaving `bench ab` will do; here it keeps the test about
// the statistics rather than about what else this machine runs. --alpha 0.01: over the pairs
// of a suite run, even a test that holds its level would otherwise fail one run in several.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dump, runCli } from './helpers/cli';
import { ServeProcess, startServe } from './helpers/serve';

// Rounds of 0.3 s: the verdicts need the number of rounds, not their length.
const bench = (rounds: number) => ['-w', '1', '-c', '2', '-d', '300ms', '--rounds', String(rounds), '--warmup', '0', '--round-pause', '0', '--json'];
const LONG = { killAfterMs: 180_000 };

describe('compare on real runs', function () {
  this.timeout(600_000);
  let ecdsa: ServeProcess | undefined;
  let rsa: ServeProcess | undefined;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-compare-runs-'));
    [ecdsa, rsa] = await Promise.all([
      startServe(['--mode', 'handshake', '-w', '1', '--key-type', 'ecdsa-p256']),
      startServe(['--mode', 'handshake', '-w', '1', '--key-type', 'rsa3072']),
    ]);
  });
  after(async () => {
    await Promise.all([ecdsa?.stop(), rsa?.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Two bench runs at once, one against each port; both must succeed with all their rounds. */
  async function pairOfRuns(name: string, portA: number, portB: number, rounds = 8): Promise<[string, string]> {
    const runs = await Promise.all([runCli(['bench', `127.0.0.1:${portA}`, ...bench(rounds)], LONG), runCli(['bench', `127.0.0.1:${portB}`, ...bench(rounds)], LONG)]);
    return runs.map((r, i) => {
      assert.equal(r.code, 0, dump(r));
      const doc = JSON.parse(r.out);
      assert.equal(doc.rounds.length, rounds, 'every round measured');
      const file = path.join(dir, `${name}-${i ? 'b' : 'a'}.json`);
      fs.writeFileSync(file, r.out);
      return file;
    }) as [string, string];
  }

  async function compare(a: string, b: string, alpha = '0.01') {
    const r = await runCli(['compare', a, b, '--alpha', alpha, '--json']);
    const cmp = JSON.parse(r.out);
    const gated = cmp.rows.filter((x: any) => x.gated);
    const line = gated
      .map((x: any) => `${x.id.replace(/^(rates|latency)\./, '')} ${x.changePct >= 0 ? '+' : ''}${x.changePct?.toFixed(1)}% p=${x.significance.p?.toPrecision(2)} (Holm ${x.significance.pAdjusted?.toPrecision(2)}) ${x.verdict}`)
      .join('; ');
    return { code: r.code, cmp, gated, line, stderr: r.stderr };
  }

  // The statistics do not depend on the I/O backend: the repeat runs once, on the default one.
  // (Two pairs, not three: bench/verdicts_real.js measures the A/A rate over many pairs; here each
  // pair is a test that the same configuration is not called regressed.)
  const pairs = process.env.IOCPTLS_IO === 'epoll' ? 1 : 2;

  it(`same configuration, ${pairs} pair(s) of runs: no gated metric regressed, exit 0 or 3, every time`, async () => {
    for (let i = 1; i <= pairs; i++) {
      const [a, b] = await pairOfRuns(`same${i}`, ecdsa!.port, ecdsa!.port);
      const c = await compare(a, b);
      console.log(`      pair ${i}: exit ${c.code}: ${c.line}`);
      assert.equal(c.cmp.method.samples, 'rounds');
      assert.ok(c.gated.length >= 2, 'the rate and the latency p50 gate at least');
      for (const row of c.gated) assert.notEqual(row.verdict, 'regressed', `pair ${i}: ${row.id} ${JSON.stringify(row.significance)}`);
      assert.ok(c.code === 0 || c.code === 3, `exit ${c.code}: ${c.stderr}`);
      assert.equal(c.code, c.cmp.verdict === 'no regression' ? 0 : 3);
    }
  });

  it('the same server with an RSA-3072 certificate: handshakes/s and handshake latency regressed, exit 1', async () => {
    // 8 rounds a side at compare's default alpha: at load 20 on this shared machine 1 s rounds
    // vary by ~50%, and 4 rounds a side left a -51% drop inconclusive (p 0.10); this file runs
    // alone (the timed lane of scripts/run-tests.js), and bench/verdicts_real.js shows 3 rounds of 2 s
    // enough when the machine is calmer.
    const [a, b] = await pairOfRuns('rsa', ecdsa!.port, rsa!.port, 8);
    const c = await compare(a, b, '0.05');
    console.log(`      ECDSA P-256 -> RSA-3072: exit ${c.code}: ${c.line}`);
    assert.equal(c.code, 1, c.stderr);
    const verdict = (id: string) => c.cmp.rows.find((x: any) => x.id === id)?.verdict;
    assert.equal(verdict('rates.handshakesPerSec.mean'), 'regressed');
    assert.equal(verdict('latency.handshake.p50'), 'regressed');
    const rate = c.cmp.rows.find((x: any) => x.id === 'rates.handshakesPerSec.mean');
    assert.ok(rate.significance.ci.high < 0, `the interval excludes no change: ${JSON.stringify(rate.significance.ci)}`);
  });
});
