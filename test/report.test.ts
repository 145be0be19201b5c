import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeHistogram, summarizeHistogram } from '../src/engine/stats/histograms';
import { toHgrm } from '../src/report/hgrm';
import { plotLatency } from '../src/report/plot';
import { ResultFileError, SCHEMA, readResult, writeResult } from '../src/report/result';
import { renderResult } from '../src/report/table';
import { formatMicros } from '../src/report/units';
import { exactPercentile, histogramOf, latencies, simulateRun } from './support/resultRuns';

describe('result document', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-report-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const handshakeUs = latencies(11, 20_000, 2_000, 0.6);
  const connectUs = latencies(12, 20_000, 120, 0.3);
  const doc = simulateRun({ perInterval: 1000, intervals: 5, tailMs: 400, handshakeUs, connectUs, errors: { refused: 4, timeout: 1 }, requestedRate: 2500 });

  it('survives a JSON round trip through a file', () => {
    const file = path.join(dir, 'run.json');
    writeResult(file, doc);
    assert.deepEqual(readResult(file), JSON.parse(JSON.stringify(doc)));
    assert.deepEqual(readResult(file), doc);
  });

  it('carries histograms whose decoded summary is the summary in the document', () => {
    for (const lat of [doc.latency.handshake!, doc.latency.connect!]) {
      const { encoded, ...summary } = lat;
      assert.deepEqual(summarizeHistogram(decodeHistogram(encoded)), summary);
    }
    assert.equal(doc.latency.handshake!.count, handshakeUs.length);
  });

  it('derives totals, duration and rates from the intervals', () => {
    assert.equal(doc.schema, SCHEMA);
    // 2 workers x (5 x 1000 + 400 in the 0.4 s tail)
    assert.equal(doc.totals.handshakes, 2 * 5400);
    assert.equal(doc.totals.full + doc.totals.resumed, doc.totals.handshakes);
    assert.equal(doc.totals.errors, 5);
    assert.deepEqual(doc.errors, { refused: 4, timeout: 1 });
    assert.ok(Math.abs(doc.duration - 5.4) < 0.01, `duration ${doc.duration}`);
    const hps = doc.rates.handshakesPerSec!;
    assert.ok(Math.abs(hps.mean - doc.totals.handshakes / doc.duration) < 1e-6);
    assert.equal(hps.intervals.length, 6);
    assert.ok(Math.abs(doc.rateTarget!.shortfallPct - ((2500 - hps.mean) / 2500) * 100) < 1e-9);
    assert.equal(doc.rates.bitsPerSec, undefined, 'a handshake run has no throughput rate');
  });

  it('gives throughput runs bit rates and a per-connection spread', () => {
    const t = simulateRun({ kind: 'throughput', perInterval: 100, intervals: 3, bytesPerEvent: 16_384, perConnectionGbps: [1, 4, 2, 3] });
    assert.ok(Math.abs(t.rates.bitsPerSec!.mean - ((t.totals.bytesIn + t.totals.bytesOut) * 8) / t.duration) < 1e-3);
    assert.ok(Math.abs(t.rates.bitsInPerSec!.mean - (t.totals.bytesIn * 8) / t.duration) < 1e-3);
    assert.deepEqual(t.perConnection, { gbps: { min: 1, median: 2.5, max: 4 } });
    assert.equal(t.rates.handshakesPerSec, undefined);
  });

  describe('readResult', () => {
    const cases: Array<[string, string | null, RegExp]> = [
      ['missing.json', null, /^cannot read .*missing\.json: no such file$/],
      ['garbage.json', 'not json at all', /garbage\.json is not JSON \(/],
      ['other.json', '{"name": "something else"}', /other\.json is not an iocptls result document/],
      ['future.json', '{"schema": "iocptls.result/2"}', /future\.json has schema "iocptls.result\/2"; this iocptls reads "iocptls.result\/1"/],
      ['array.json', '[1, 2]', /array\.json is not an iocptls result document/],
    ];
    for (const [name, content, expected] of cases) {
      it(`rejects ${name} with one clear line`, () => {
        const file = path.join(dir, name);
        if (content !== null) fs.writeFileSync(file, content);
        assert.throws(
          () => readResult(file),
          (err: unknown) => err instanceof ResultFileError && expected.test(err.message) && !err.message.includes('\n')
        );
      });
    }
  });
});

describe('renderResult', () => {
  const handshakeUs = latencies(21, 5_000, 1_500, 0.5);
  const doc = simulateRun({ perInterval: 500, intervals: 3, handshakeUs, connectUs: latencies(22, 5_000, 90, 0.2), errors: { 'alert: handshake failure': 3 } });

  it('prints latency, rate, totals, errors and the facts, without colour codes when color is off', () => {
    const text = renderResult(doc, { color: false });
    assert.ok(!text.includes('\x1b'), 'no escape codes');
    const s = doc.latency.handshake!;
    for (const v of [s.p50, s.p90, s.p99, s.p99_9, s.max]) assert.ok(text.includes(formatMicros(v)), `latency ${formatMicros(v)}`);
    assert.match(text, /Handshake/);
    assert.match(text, /TCP connect/);
    assert.match(text, /Handshakes │ +\d[\d,]*\/s/);
    assert.match(text, /alert: handshake failure │ +3 │/);
    assert.match(text, /OpenSSL \S+ \(node\)/);
    assert.match(text, /backend epoll · 2 workers · 64 connections/);
    assert.match(text, /TLSv1\.3 · TLS_AES_128_GCM_SHA256 · X25519/);
    assert.ok(text.includes(doc.machine.cpuModel));
    assert.match(text, /127\.0\.0\.1:8443 \(embedded server\)/);
  });

  it('has no error table without errors, and colours when asked', () => {
    const clean = simulateRun({ perInterval: 500, intervals: 2, handshakeUs });
    assert.ok(!/│ Error +│/.test(renderResult(clean, { color: false })));
    assert.match(renderResult(doc, { color: false }), /│ Error +│/);
    assert.ok(renderResult(clean, { color: true }).includes('\x1b['));
  });
});

describe('plotLatency', () => {
  const values = latencies(31, 10_000, 3_000, 1.0);
  const h = histogramOf(values);

  for (const width of [80, 60]) {
    it(`fits in ${width} columns and accounts for every sample`, () => {
      const lines = plotLatency(h, { title: 'Handshake latency', width }).trimEnd().split('\n');
      assert.ok(lines.length > 3);
      for (const l of lines) assert.ok(l.length <= width, `${l.length} > ${width}: ${l}`);
      const counts = lines.slice(1).map((l) => Number(/ ([\d,]+) +[\d.]+%$/.exec(l)![1].replace(/,/g, '')));
      assert.equal(counts.reduce((a, b) => a + b, 0), values.length);
    });
  }

  it('puts each sample in the band that contains it', () => {
    const two = histogramOf([...Array<number>(30).fill(100), ...Array<number>(70).fill(10_000)]);
    const rows = plotLatency(two, { ascii: true }).trimEnd().split('\n').slice(1);
    const nonEmpty = rows.filter((l) => !/ 0 +0\.0%$/.test(l));
    assert.equal(nonEmpty.length, 2);
    assert.match(nonEmpty[0], /^ +100 µs – .* 30 +30\.0%$/);
    assert.match(nonEmpty[1], /10\.0 ms │#+ +70 +70\.0%$/);
  });

  it('says so when there is nothing to draw', () => {
    assert.match(plotLatency(histogramOf([])), /no samples/);
  });
});

describe('toHgrm', () => {
  const values = latencies(41, 30_000, 5_000, 0.7);
  const h = histogramOf(values);
  const text = toHgrm(h, 1000);
  const rows = text
    .split('\n')
    .filter((l) => /^\s+\d/.test(l))
    .map((l) => l.trim().split(/\s+/).map(Number));

  it('is the standard layout: header, Value/Percentile/TotalCount/1/(1-Percentile) rows, footer', () => {
    assert.ok(text.startsWith('       Value     Percentile TotalCount 1/(1-Percentile)\n\n'));
    assert.ok(rows.length > 20);
    for (const r of rows.slice(0, -1)) {
      assert.equal(r.length, 4);
      assert.ok(Math.abs(r[3] - 1 / (1 - r[1])) < 0.01, `1/(1-p) column for p=${r[1]}`);
    }
    assert.equal(rows[rows.length - 1].length, 3, 'the 100% row has no 1/(1-p)');
    assert.equal(rows[rows.length - 1][1], 1);
    assert.equal(rows[rows.length - 1][2], values.length);
    const footer = /#\[Mean    = +([\d.]+), StdDeviation   = +([\d.]+)\]\n#\[Max     = +([\d.]+), Total count    = +(\d+)\]\n#\[Buckets = +(\d+), SubBuckets     = +(\d+)\]\n$/.exec(text);
    assert.ok(footer, 'footer');
    const s = summarizeHistogram(h);
    assert.equal(Number(footer[1]), Number((s.mean / 1000).toFixed(3)));
    assert.equal(Number(footer[3]), Number((s.max / 1000).toFixed(3)));
    assert.equal(Number(footer[3]), rows[rows.length - 1][0], 'Max agrees with the 100% row');
    assert.equal(Number(footer[4]), values.length);
  });

  it('has percentiles that agree with the raw values', () => {
    const sorted = [...values].sort((a, b) => a - b);
    for (const [valueMs, pct, totalCount] of rows) {
      if (pct === 0) continue;
      const exact = exactPercentile(sorted, pct * 100);
      assert.ok(Math.abs(valueMs * 1000 - exact) <= exact * 0.001 + 1, `p${pct * 100}: ${valueMs} ms vs ${exact} µs`);
      assert.ok(totalCount >= Math.ceil(pct * values.length) - 1, `count at p${pct * 100}`);
    }
  });

  it('has the same rows as hdr-histogram-js outputPercentileDistribution', () => {
    const body = (t: string) => t.split('\n').filter((l) => !l.startsWith('#'));
    assert.deepEqual(body(text), body(h.outputPercentileDistribution(5, 1000)));
  });
});
