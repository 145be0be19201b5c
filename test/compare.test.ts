import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CompareError, compareResults } from '../src/report/compare';
import { renderComparisonMarkdown } from '../src/report/compareRender';
import { ResultDocument, writeResult } from '../src/report/result';
import { compareSamples, SampleSet } from '../src/report/significance';
import { samplesOf } from '../src/report/samples';
import { mulberry32 } from '../src/report/stats/rng';
import { RunSpec, exactPercentile, latencies, simulateRounds, simulateRun } from './support/resultRuns';

const BIN = path.resolve(__dirname, '../../bin/run.js');


const baseLatency = latencies(51, 20_000, 2_000, 0.5);
const connectLatency = latencies(52, 20_000, 100, 0.3);
const baseSpec: RunSpec = { perInterval: 1000, intervals: 5, tailMs: 300, handshakeUs: baseLatency, connectUs: connectLatency };

/** The same latencies with everything above the 95th percentile 20% slower: p99 rises 20%, p50 does not move. */
function slowerTail(values: readonly number[], factor: number): number[] {
  const p95 = exactPercentile([...values].sort((a, b) => a - b), 95);
  return values.map((v) => (v > p95 ? Math.round(v * factor) : v));
}

const base = simulateRun(baseSpec);
const same = simulateRun(baseSpec);
const rateDrop = simulateRun({ ...baseSpec, perInterval: 800 });
const throughput = simulateRun({ ...baseSpec, kind: 'throughput', bytesPerEvent: 1024 });

/**
 * A --rounds document of quiet rounds (1% run-to-run noise): `rate` events per round, each round
 * its own latencies (log-normal around 2 ms), transformed by `latency` (a slower tail...).
 */
function quietRounds(seed: number, o: { rate?: number; latency?: (v: number[]) => number[]; rounds?: number } = {}) {
  const rand = mulberry32(seed);
  return simulateRounds(
    Array.from({ length: o.rounds ?? 6 }, (_, i) => {
      const n = Math.round((o.rate ?? 12_000) * (1 + 0.01 * (rand() - 0.5)));
      const hs = latencies(seed * 100 + i, n, 2000, 0.5);
      return { perInterval: Math.round(n / 2), intervals: 1, handshakeUs: o.latency ? o.latency(hs) : hs, connectUs: latencies(seed * 100 + 50 + i, n, 100, 0.3) };
    })
  );
}

const rBase = quietRounds(1);
const rSame = quietRounds(2);
const rRateDrop = quietRounds(3, { rate: 9600 });
const rP99Rise = quietRounds(4, { latency: (v) => slowerTail(v, 1.2) });
const rBetter = quietRounds(5, { rate: 14_400, latency: (v) => v.map((x) => Math.round(x * 0.8)) });

describe('compareResults', () => {
  it('two identical documents of seconds: every change 0, and inconclusive (seconds of one run carry no run-to-run noise)', () => {
    const cmp = compareResults(base, same, { thresholdPct: 5 });
    assert.deepEqual(cmp.regressions, []);
    assert.equal(cmp.verdict, 'inconclusive');
    assert.ok(cmp.rows.every((r) => r.changePct === 0 || r.changePct === null));
    assert.ok(cmp.rows.some((r) => r.id === 'latency.handshake.p99_99'));
    assert.ok(cmp.rows.some((r) => r.id === 'totals.handshakes'));
  });

  it('two quiet --rounds runs of the same thing: no regression', () => {
    const cmp = compareResults(rBase, rSame, { thresholdPct: 5 });
    assert.equal(cmp.verdict, 'no regression', JSON.stringify(cmp.inconclusive));
    assert.deepEqual(cmp.regressions, []);
  });

  it('flags a 20% rate drop, naming the metric', () => {
    const cmp = compareResults(rBase, rRateDrop, { thresholdPct: 5 });
    const ids = cmp.regressions.map((r) => r.id);
    assert.deepEqual(ids, ['rates.handshakesPerSec.mean']);
    const row = cmp.regressions[0];
    assert.ok(Math.abs(row.changePct! + 20) < 1, `change ${row.changePct}`);
    assert.equal(cmp.verdict, 'regressed');
  });

  it('flags a 20% p99 rise and leaves p50 alone', () => {
    const cmp = compareResults(rBase, rP99Rise, { thresholdPct: 5 });
    const ids = cmp.regressions.map((r) => r.id);
    assert.ok(ids.includes('latency.handshake.p99'), ids.join());
    assert.ok(!ids.includes('latency.handshake.p50'));
    assert.ok(!ids.some((id) => id.startsWith('rates.')));
  });

  it('does not flag a change within the threshold', () => {
    assert.deepEqual(compareResults(rBase, rP99Rise, { thresholdPct: 25 }).regressions, []);
  });

  it('reports improvements as improvements (and no regression)', () => {
    const cmp = compareResults(rBase, rBetter, { thresholdPct: 5 });
    assert.deepEqual(cmp.regressions, []);
    assert.equal(cmp.verdict, 'no regression');
    const status = (id: string) => cmp.rows.find((r) => r.id === id)!.status;
    assert.equal(status('rates.handshakesPerSec.mean'), 'improved');
    assert.equal(status('latency.handshake.p99'), 'improved');
    assert.equal(status('totals.handshakes'), 'info');
  });

  it('names the settings that differ between the runs (not like for like), and only those', () => {
    assert.deepEqual(compareResults(base, same, { thresholdPct: 5 }).differences, []);
    const other: ResultDocument = { ...same, params: { ...same.params, connections: 4 }, backend: base.backend === 'epoll' ? 'io_uring' : 'epoll' };
    const d = compareResults(base, other, { thresholdPct: 5 }).differences;
    assert.deepEqual(d, [`connections: ${base.params.connections ?? '-'} -> 4`, `backend: ${base.backend} -> ${other.backend}`]);
  });

  it('names a different key exchange group (Node 20 vs 24: X25519 vs X25519MLKEM768)', () => {
    const pq: ResultDocument = { ...same, negotiated: { ...same.negotiated, group: 'X25519MLKEM768' } };
    const classic: ResultDocument = { ...same, negotiated: { ...same.negotiated, group: 'X25519' } };
    assert.deepEqual(compareResults(classic, pq, { thresholdPct: 5 }).differences, ['group: X25519 -> X25519MLKEM768']);
  });

  it('refuses to compare different kinds', () => {
    assert.throws(() => compareResults(base, throughput, { thresholdPct: 5 }), CompareError);
  });

  it('renders markdown with one row per metric and the regressions', () => {
    const cmp = compareResults(rBase, rRateDrop, { thresholdPct: 5 });
    const md = renderComparisonMarkdown(cmp);
    assert.equal(md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Metric')).length, cmp.rows.length);
    assert.match(md, /\| Handshakes\/s mean \| .* \| -20\.\d% \| \[-2\d\.\d%, -(19|20)\.\d%\] \| <0\.001 \| 6\+6 \| ❌ regressed \|/);
    assert.match(md, /Samples: 6 vs 6 rounds/);
    assert.match(md, /\*\*REGRESSED: 1 gated metric\(s\) of NEW worse beyond 5%:\*\*/);
    const sec = renderComparisonMarkdown(compareResults(base, rateDrop, { thresholdPct: 5 }));
    assert.match(sec, /\| Handshakes\/s mean \| .* \| -20\.0% \| .* \| ❔ inconclusive \|/);
  });
});

/**
 * A --rounds document of a noisy machine: each round's rate and latency scale drawn afresh
 * (log-normal, `noise` = sigma), as rounds that land on a busier or quieter moment do.
 */
function noisyRounds(seed: number, o: { rounds?: number; perRound?: number; scale?: number; noise?: number } = {}) {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const rounds = o.rounds ?? 6;
  const perRound = o.perRound ?? 600;
  const scale = o.scale ?? 1;
  const noise = o.noise ?? 0.15;
  return simulateRounds(
    Array.from({ length: rounds }, (_, i) => {
      const load = Math.exp(noise * gauss());
      const n = Math.max(10, Math.round(perRound / (scale * load)));
      return { perInterval: Math.round(n / 2), intervals: 1, handshakeUs: latencies(seed * 100 + i, n, 2000 * scale * load, 0.4), connectUs: latencies(seed * 100 + 50 + i, n, 100, 0.3) };
    })
  );
}

describe('compare: significance over rounds', function () {
  this.timeout(60_000);

  it('two noisy runs of the same thing: no gated metric regressed, whatever the moves', () => {
    const cmp = compareResults(noisyRounds(1), noisyRounds(2), { thresholdPct: 5 });
    assert.equal(cmp.method.samples, 'rounds');
    assert.deepEqual(cmp.method.n, { base: 6, next: 6 });
    const gated = cmp.rows.filter((r) => r.gated);
    assert.deepEqual(gated.map((r) => r.id), ['rates.handshakesPerSec.mean', 'latency.handshake.p50', 'latency.handshake.p90']);
    for (const r of gated) {
      assert.notEqual(r.verdict, 'regressed', `${r.id}: ${JSON.stringify(r.significance)}`);
      assert.ok(r.significance!.pAdjusted! >= r.significance!.p!);
      assert.ok(r.significance!.ci!.low < r.changePct! && r.changePct! < r.significance!.ci!.high, `${r.id} change inside its interval`);
    }
    assert.deepEqual(cmp.regressions, []);
    // p99 needs 1,000 events per round: shown, not tested, not gated, and says why.
    const p99 = cmp.rows.find((r) => r.id === 'latency.handshake.p99')!;
    assert.equal(p99.gated, false);
    assert.match(p99.significance!.note!, /too few events per sample to test p99 \(needs 1,000, has \d+\)/);
    // Connect latency and connects/s are tested and shown, never gated.
    const connect = cmp.rows.find((r) => r.id === 'latency.connect.p50')!;
    assert.equal(connect.gated, false);
    assert.equal(connect.status, 'info');
    assert.notEqual(connect.significance!.p, null);
  });

  it('a 2x slower server is flagged on the rate and the latency, with intervals that exclude no change', () => {
    const cmp = compareResults(noisyRounds(3), noisyRounds(4, { scale: 2 }), { thresholdPct: 5 });
    const ids = cmp.regressions.map((r) => r.id);
    assert.deepEqual(ids, ['rates.handshakesPerSec.mean', 'latency.handshake.p50', 'latency.handshake.p90']);
    for (const r of cmp.regressions) {
      const s = r.significance!;
      assert.ok(s.p! < 0.01, `${r.id} p ${s.p}`); // 6 vs 6 rounds completely apart would be 2/924, the smallest there is
      assert.ok(s.pAdjusted! < 0.05);
      assert.ok(r.better === 'higher' ? s.ci!.high < 0 : s.ci!.low > 0, `${r.id} ${JSON.stringify(s.ci)}`);
    }
  });

  it('3 rounds each, 2x slower: regressed (a rank test could never reach p < 0.05 with 3 vs 3; the t on logs can)', () => {
    const cmp = compareResults(noisyRounds(5, { rounds: 3 }), noisyRounds(6, { rounds: 3, scale: 2 }), { thresholdPct: 5 });
    assert.equal(cmp.verdict, 'regressed');
    assert.equal(cmp.rows.find((r) => r.id === 'rates.handshakesPerSec.mean')!.verdict, 'regressed');
  });

  it('keeps the family-wise false alarm rate at alpha: 60 pairs of same-vs-same, threshold 0', () => {
    let alarms = 0;
    for (let i = 0; i < 60; i++) {
      const cmp = compareResults(noisyRounds(1000 + 2 * i), noisyRounds(1001 + 2 * i), { thresholdPct: 0 });
      if (cmp.rows.some((r) => r.status === 'regressed' || r.status === 'improved')) alarms++;
    }
    console.log(`      ${alarms} of 60 same-vs-same comparisons had a significant change at threshold 0`);
    assert.ok(alarms <= 5, `${alarms} alarms`);
  });

  it('the same rows from compareSamples as from the documents (what an A/B runner feeds it)', () => {
    const a = noisyRounds(7);
    const b = noisyRounds(8, { scale: 1.5 });
    const pair = samplesOf(a, b);
    const direct = compareSamples('handshake', pair.base, pair.next, { thresholdPct: 5, alpha: 0.05 });
    const viaDocs = compareResults(a, b, { thresholdPct: 5 });
    for (const r of direct) assert.deepEqual(viaDocs.rows.find((x) => x.id === r.id), r);
    // Hand-made samples work too: no documents needed.
    const set = (rate: number): SampleSet => ({
      source: 'rounds',
      histograms: false,
      samples: [0.9, 1, 1.1, 0.95, 1.05].map((k) => ({ durationMs: 1000, counters: { handshakes: rate * k, connects: rate * k, roundTrips: 0, bytesIn: 0, bytesOut: 0 } })),
    });
    const rows = compareSamples('handshake', set(1000), set(500), { thresholdPct: 5, alpha: 0.05 });
    assert.equal(rows.find((r) => r.id === 'rates.handshakesPerSec.mean')!.verdict, 'regressed');
  });

  it('documents whose rounds are on one side only compare their per-second intervals, and say so', () => {
    const cmp = compareResults(noisyRounds(9), simulateRun(baseSpec), { thresholdPct: 5 });
    assert.equal(cmp.method.samples, 'intervals');
    assert.ok(cmp.notes.some((n) => /only BASE has rounds/.test(n)));
  });

  it('older documents without per-interval histograms: rates tested, latency shown, and a note', () => {
    // Documents from before per-interval histograms had no `intervals` at all, only the rates' series.
    const old = simulateRun({ ...baseSpec, intervalHistograms: false });
    const oldDrop = simulateRun({ ...baseSpec, perInterval: 800, intervalHistograms: false });
    delete old.intervals;
    delete oldDrop.intervals;
    const cmp = compareResults(old, oldDrop, { thresholdPct: 5 });
    assert.equal(cmp.method.samples, 'rates');
    // Per-second rates of one run: shown and tested, never deciding.
    assert.equal(cmp.verdict, 'inconclusive');
    const rate = cmp.rows.find((r) => r.id === 'rates.handshakesPerSec.mean')!;
    assert.equal(rate.verdict, 'inconclusive');
    assert.ok(rate.significance!.p! < 0.01);
    const p99 = cmp.rows.find((r) => r.id === 'latency.handshake.p99')!;
    assert.equal(p99.status, 'info');
    assert.equal(p99.significance, undefined);
    assert.ok(cmp.notes.some((n) => /latency significance unavailable: BASE has no per-interval records \(written by an older iocptls\); NEW has no per-interval records/.test(n)), cmp.notes.join());
  });
});

describe('iocptls compare (command)', () => {
  let dir: string;
  const file = (name: string, doc: ResultDocument) => {
    const f = path.join(dir, name);
    writeResult(f, doc);
    return f;
  };
  function run(args: string[], env: Record<string, string> = {}) {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
    if (!('GITHUB_STEP_SUMMARY' in env)) delete childEnv.GITHUB_STEP_SUMMARY;
    const r = spawnSync(process.execPath, [BIN, 'compare', ...args], { env: childEnv, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  /** The error output must be a single line of ours and no stack trace. */
  function assertOneLineError(stderr: string, expected: RegExp) {
    const ours = stderr.split('\n').filter((l) => expected.test(l));
    assert.equal(ours.length, 1, stderr);
    assert.ok(!/^\s+at /m.test(stderr), `stack trace in: ${stderr}`);
  }

  let paths: Record<string, string>;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-compare-'));
    paths = {
      base: file('base.json', rBase),
      same: file('same.json', rSame),
      rateDrop: file('rate-drop.json', rRateDrop),
      p99Rise: file('p99-rise.json', rP99Rise),
      better: file('better.json', rBetter),
      throughput: file('throughput.json', throughput),
    };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('exits 0 for two quiet runs of the same thing', () => {
    const r = run([paths.base, paths.same]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Handshakes\/s mean/);
    assert.match(r.stdout, /No regression of NEW beyond 5%/);
    assert.match(r.stdout, /Handshakes\/s mean .* [-+]?0\.\d% .* no regression /);
  });

  it('exits 1 on a 20% rate drop and names the metric', () => {
    const r = run([paths.base, paths.rateDrop]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /REGRESSED: 1 gated metric\(s\) of NEW worse beyond 5%:\n {2}Handshakes\/s mean: .* \(-20\.\d%, 90% CI \[.*\], p<0\.001, threshold 5%\)/);
  });

  it('exits 1 on a 20% p99 rise', () => {
    const r = run([paths.base, paths.p99Rise, '--threshold', '10']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^ {2}Handshake p99: .*threshold 10%\)$/m);
  });

  it('exits 0 on improvements', () => {
    const r = run([paths.base, paths.better]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /improved/);
  });

  it('prints the comparison as JSON with --json: change, interval, p, verdict and n per row, the verdict and the exit code', () => {
    const r = run([paths.base, paths.rateDrop, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const cmp = JSON.parse(r.stdout);
    const row = cmp.rows.find((x: { id: string }) => x.id === 'rates.handshakesPerSec.mean');
    assert.equal(row.verdict, 'regressed');
    assert.ok(Math.abs(row.changePct + 20) < 1);
    assert.deepEqual(row.significance.n, { base: 6, next: 6 });
    assert.ok(row.significance.p <= row.significance.pAdjusted && row.significance.pAdjusted < 0.05);
    assert.equal(row.significance.ci.level, 0.9);
    assert.equal(row.significance.test, 'welch');
    assert.equal(typeof row.significance.detectablePct, 'number');
    assert.equal(cmp.verdict, 'regressed');
    assert.equal(cmp.exitCode, 1);
    assert.equal(cmp.method.samples, 'rounds');
    assert.equal(cmp.method.alpha, 0.05);
    assert.ok(cmp.regressions.some((x: { id: string }) => x.id === 'rates.handshakesPerSec.mean'));
  });

  it('--alpha sets the level (intervals at 1 - 2 alpha: each end a one-sided 1 - alpha bound); a bad --alpha exits 2', () => {
    const r = run([paths.base, paths.rateDrop, '--alpha', '0.01']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /98% CI/);
    assert.match(r.stdout, /one-sided 99% bounds/);
    const bad = run([paths.base, paths.rateDrop, '--alpha', '2']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--alpha must be a probability between 0 and 0\.5/);
  });

  it('prints a markdown table with --markdown', () => {
    const r = run([paths.base, paths.same, '--markdown']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\| Metric \| Base \| New \| Change \| 90% CI \| p \| n \| \|$/m);
  });

  it('appends the markdown to $GITHUB_STEP_SUMMARY, with or without --markdown', () => {
    const summary = path.join(dir, 'step-summary.md');
    fs.writeFileSync(summary, 'earlier step\n');
    const r = run([paths.base, paths.rateDrop], { GITHUB_STEP_SUMMARY: summary });
    assert.equal(r.code, 1, r.stderr);
    const text = fs.readFileSync(summary, 'utf8');
    assert.ok(text.startsWith('earlier step\n'), 'appended, not overwritten');
    assert.match(text, /\| Handshakes\/s mean \| .* ❌ regressed \|/);
    assert.ok(!r.stdout.includes('| Metric |'), 'terminal output stays a table');
  });

  it('exits 2 with one line for mismatched kinds', () => {
    const r = run([paths.base, paths.throughput]);
    assert.equal(r.code, 2);
    assertOneLineError(r.stderr, /cannot compare a handshake result with a throughput result/);
  });

  it('exits 2 with one line for a missing file', () => {
    const r = run([paths.base, path.join(dir, 'nope.json')]);
    assert.equal(r.code, 2);
    assertOneLineError(r.stderr, /cannot read .*nope\.json: no such file/);
  });

  it('exits 2 with one line for a file that is not a result', () => {
    const bad = path.join(dir, 'package.json');
    fs.writeFileSync(bad, JSON.stringify({ name: 'iocptls' }));
    const r = run([bad, paths.base]);
    assert.equal(r.code, 2);
    assertOneLineError(r.stderr, /package\.json is not an iocptls result document/);
  });

  it('exits 2 for a bad --threshold', () => {
    const r = run([paths.base, paths.same, '--threshold', 'lots']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--threshold must be a percentage/);
  });
});
