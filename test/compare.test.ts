import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CompareError, compareResults } from '../src/report/compare';
import { renderComparisonMarkdown } from '../src/report/compareRender';
import { ResultDocument, writeResult } from '../src/report/result';
import { RunSpec, exactPercentile, latencies, simulateRun } from './support/resultRuns';

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
const p99Rise = simulateRun({ ...baseSpec, handshakeUs: slowerTail(baseLatency, 1.2) });
const better = simulateRun({ ...baseSpec, perInterval: 1200, handshakeUs: baseLatency.map((v) => Math.round(v * 0.8)) });
const throughput = simulateRun({ ...baseSpec, kind: 'throughput', bytesPerEvent: 1024 });

describe('compareResults', () => {
  it('finds nothing between two identical runs', () => {
    const cmp = compareResults(base, same, { thresholdPct: 5 });
    assert.deepEqual(cmp.regressions, []);
    assert.ok(cmp.rows.every((r) => r.changePct === 0 || r.changePct === null));
    assert.ok(cmp.rows.some((r) => r.id === 'latency.handshake.p99_99'));
    assert.ok(cmp.rows.some((r) => r.id === 'totals.handshakes'));
  });

  it('flags a 20% rate drop, naming the metric', () => {
    const cmp = compareResults(base, rateDrop, { thresholdPct: 5 });
    const ids = cmp.regressions.map((r) => r.id);
    assert.ok(ids.includes('rates.handshakesPerSec.mean'), ids.join());
    const row = cmp.regressions.find((r) => r.id === 'rates.handshakesPerSec.mean')!;
    assert.ok(Math.abs(row.changePct! + 20) < 0.01, `change ${row.changePct}`);
    assert.ok(!ids.some((id) => id.startsWith('latency.')), 'latency did not change');
  });

  it('flags a 20% p99 rise and leaves p50 alone', () => {
    const cmp = compareResults(base, p99Rise, { thresholdPct: 5 });
    const ids = cmp.regressions.map((r) => r.id);
    assert.ok(ids.includes('latency.handshake.p99'), ids.join());
    assert.ok(!ids.includes('latency.handshake.p50'));
    assert.ok(!ids.some((id) => id.startsWith('rates.')));
  });

  it('does not flag a change within the threshold', () => {
    assert.deepEqual(compareResults(base, p99Rise, { thresholdPct: 25 }).regressions, []);
  });

  it('reports improvements as improvements', () => {
    const cmp = compareResults(base, better, { thresholdPct: 5 });
    assert.deepEqual(cmp.regressions, []);
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

  it('refuses to compare different kinds', () => {
    assert.throws(() => compareResults(base, throughput, { thresholdPct: 5 }), CompareError);
  });

  it('renders markdown with one row per metric and the regressions', () => {
    const cmp = compareResults(base, rateDrop, { thresholdPct: 5 });
    const md = renderComparisonMarkdown(cmp);
    assert.equal(md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Metric')).length, cmp.rows.length);
    assert.match(md, /\| Handshakes\/s mean \| .* \| -20\.0% \| ❌ regressed \|/);
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
      base: file('base.json', base),
      same: file('same.json', same),
      rateDrop: file('rate-drop.json', rateDrop),
      p99Rise: file('p99-rise.json', p99Rise),
      better: file('better.json', better),
      throughput: file('throughput.json', throughput),
    };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('exits 0 for equal runs', () => {
    const r = run([paths.base, paths.same]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Handshakes\/s mean/);
    assert.match(r.stdout, /No regressions beyond 5%/);
  });

  it('exits 1 on a 20% rate drop and names the metric', () => {
    const r = run([paths.base, paths.rateDrop]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /regression\(s\) beyond 5%:\n {2}Handshakes\/s mean: .* \(-20\.0%, threshold 5%\)/);
  });

  it('exits 1 on a 20% p99 rise', () => {
    const r = run([paths.base, paths.p99Rise, '--threshold', '10']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^ {2}Handshake p99: .*threshold 10%\)$/m);
  });

  it('exits 0 on improvements', () => {
    const r = run([paths.base, paths.better]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /improved/);
  });

  it('prints the comparison as JSON with --json', () => {
    const r = run([paths.base, paths.rateDrop, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const cmp = JSON.parse(r.stdout);
    assert.ok(cmp.regressions.some((x: { id: string }) => x.id === 'rates.handshakesPerSec.mean'));
  });

  it('prints a markdown table with --markdown', () => {
    const r = run([paths.base, paths.same, '--markdown']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\| Metric \| Base \| New \| Change \| \|$/m);
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
