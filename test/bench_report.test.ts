// bench's outputs as files other tools read: the JSON result document (and compare on it), the
// .hgrm percentile text, the default run, and the throughput report.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeHistogram, summarizeHistogram } from '../src/engine/stats/histograms';
import { SCHEMA, validateResult } from '../src/report/result';
import { dump, runCli, runCliJson } from './helpers/cli';

describe('bench reports: JSON document, compare, hgrm, defaults, throughput', function () {
  this.timeout(40_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-bench-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('bench --json --hgrm: a valid result document whose histograms decode to its summaries; hgrm ends at totals.handshakes', async () => {
    const hgrm = path.join(dir, 'hs.hgrm');
    const r = await runCliJson(['bench', '-d', '2', '--warmup', '0', '-c', '8', '--hgrm', hgrm]);
    assert.equal(r.code, 0, dump(r));
    fs.writeFileSync(path.join(dir, 'a.json'), r.out);
    const d = validateResult(JSON.parse(r.out), 'a.json');
    assert.equal(d.schema, SCHEMA);
    assert.equal(d.schema, 'iocptls.result/1');
    assert.equal(d.kind, 'handshake');
    assert.equal(d.target.embedded, true);
    assert.equal(d.params.duration, 2);
    assert.equal(d.params.warmup, 0);
    assert.ok(Math.abs(d.duration - 2) < 0.2, `measured ${d.duration} s`);
    assert.ok(d.totals.handshakes > 100, `${d.totals.handshakes} handshakes`);
    assert.equal(d.totals.errors, 0, JSON.stringify(d.errors));
    for (const name of ['handshake', 'connect'] as const) {
      const l = d.latency[name]!;
      const { encoded, ...summary } = l;
      assert.deepEqual(summarizeHistogram(decodeHistogram(encoded)), summary, `${name} histogram`);
    }
    assert.equal(d.latency.handshake!.count, d.totals.handshakes);
    // The mean rate is the handshakes over the measured time.
    assert.ok(Math.abs(d.rates.handshakesPerSec!.mean - d.totals.handshakes / d.duration) < 1e-6 * d.totals.handshakes);

    const lines = fs.readFileSync(hgrm, 'utf8').trimEnd().split('\n');
    const data = lines.filter((l) => /^\s+[\d.]+\s+[\d.]+\s+\d+/.test(l));
    const lastCount = Number(data[data.length - 1].trim().split(/\s+/)[2]);
    console.log(`      ${d.totals.handshakes} handshakes in ${d.duration} s, p50 ${d.latency.handshake!.p50} µs; hgrm: ${data.length} rows, last count ${lastCount}`);
    assert.equal(lastCount, d.totals.handshakes);
    assert.match(lines[lines.length - 2], new RegExp(`Total count\\s+=\\s+${d.totals.handshakes}\\]`));
    // Values in ms: the last row is the max.
    assert.ok(Math.abs(Number(data[data.length - 1].trim().split(/\s+/)[0]) - d.latency.handshake!.max / 1000) < 0.01);
  });

  it('compare a.json a.json: inconclusive, exit 3 (seconds of one run carry no run-to-run noise); 20% fewer handshakes in each second: still inconclusive, naming the cure', async () => {
    const a = path.join(dir, 'a.json');
    assert.ok(fs.existsSync(a), 'the previous test wrote a.json');
    const same = await runCli(['compare', a, a]);
    assert.equal(same.code, 3, dump(same));
    assert.match(same.out, /Handshakes\/s mean .* 0\.0% .* inconclusive /);
    assert.match(same.out, /INCONCLUSIVE: the samples cannot tell whether NEW regressed beyond 5%/);
    assert.equal((await runCli(['compare', a, a, '--inconclusive', 'pass'])).code, 0);

    // The same run with every measured second 20% slower: a real change, but seconds of one run
    // cannot show it is not noise. Rounds can (compare_runs.test).
    const doc = JSON.parse(fs.readFileSync(a, 'utf8'));
    for (const s of doc.intervals) s.counters.handshakes = Math.round(s.counters.handshakes * 0.8);
    const b = path.join(dir, 'b.json');
    fs.writeFileSync(b, JSON.stringify(doc));
    const j = await runCliJson(['compare', a, b]);
    assert.equal(j.code, 3, dump(j));
    const row = j.doc.rows.find((x: { id: string }) => x.id === 'rates.handshakesPerSec.mean');
    assert.ok(Math.abs(row.changePct + 20) < 0.5, `change ${row.changePct}`);
    assert.equal(row.verdict, 'inconclusive');
    assert.match(row.significance.why, /per-second samples of one run/);
    assert.deepEqual(j.doc.method.n, { base: doc.intervals.length, next: doc.intervals.length });
    assert.equal(j.doc.verdict, 'inconclusive');
    assert.equal(j.doc.exitCode, 3);
  });

  it('the default `bench` (no arguments): 8 s measured after 1 s of warmup, a full report, in about 10 s', async function () {
    const r = await runCli(['bench'], { killAfterMs: 30_000 });
    console.log(`      default bench: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s`);
    assert.equal(r.code, 0, dump(r));
    assert.ok(r.ms > 8500 && r.ms < 20_000, `took ${r.ms} ms`);
    assert.match(r.out, /handshake benchmark · 127\.0\.0\.1:\d+ \(embedded server\)/);
    assert.match(r.out, /Run\s+backend \S+ · \d+ workers? · 32 connections · (7\.\d|8\.\d) s/);
    for (const section of [/│ Latency\s+│\s+50%/, /│ Handshake\s+│/, /│ TCP connect\s+│/, /│ Per second\s+│/, /│ Totals\s+│/, /Handshake latency \([\d,]+ samples\)/, /│ Server saw\s+│ [\d,]+ handshakes \(0 resumed\), warmup and drain included: (agrees with ours|ours: [\d,]+ \(a reset can arrive before the server read our Finished\))/, /│ Warmup\s+│ 1\.0 s: [\d,]+ handshakes/]) {
      assert.match(r.out, section);
    }
    assert.match(r.out, /│ Errors\s+│ 0\s+│/);
  });

  it('bench throughput (embedded, -d 1 -c 2): Gbit/s total and per connection min/median/max', async () => {
    const r = await runCliJson(['bench', 'throughput', '-d', '1', '--warmup', '0', '-c', '2']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    const g = d.perConnection.gbps;
    const total = d.rates.bitsPerSec.mean / 1e9;
    console.log(`      throughput: ${total.toFixed(2)} Gbit/s total; per connection min ${g.min.toFixed(2)}, median ${g.median.toFixed(2)}, max ${g.max.toFixed(2)} Gbit/s`);
    assert.equal(d.kind, 'throughput');
    assert.equal(d.params.direction, 'down');
    assert.ok(total > 0.05, `${total} Gbit/s`);
    assert.ok(g.min > 0 && g.min <= g.median && g.median <= g.max, JSON.stringify(g));
    // Two connections: the median is their mean, and they add up to about the total.
    assert.ok(Math.abs(g.median - (g.min + g.max) / 2) < 1e-9);
    assert.ok(Math.abs(g.min + g.max - total) / total < 0.2, `per connection ${g.min} + ${g.max} vs total ${total}`);
    assert.ok(Math.abs(d.totals.bytesIn * 8 / d.duration / 1e9 - total) / total < 0.01);

    const h = await runCli(['bench', 'throughput', '-d', '1', '--warmup', '0', '-c', '2', '--no-plot']);
    assert.equal(h.code, 0, dump(h));
    assert.match(h.out, /│ Per connection\s+│ min [\d.]+ [GM]bit\/s, median [\d.]+ [GM]bit\/s, max [\d.]+ [GM]bit\/s/);
    assert.match(h.out, /[\d.]+ [GM]bit\/s/);
  });
});
