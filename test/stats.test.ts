import * as assert from 'node:assert/strict';
import { Counters, emptyCounters, mergeCounters, totalErrors } from '../src/engine/stats/counters';
import {
  HIGHEST_US,
  createHistogram,
  decodeHistogram,
  encodeHistogram,
  mergeHistograms,
  summarizeHistogram,
} from '../src/engine/stats/histograms';
import { IntervalTicker, mergeIntervalSamples, summarizeRate } from '../src/engine/stats/intervals';
import { IntervalSeries } from '../src/engine/stats/interval_series';
import { constructorFromBucketSize } from 'hdr-histogram-js/dist/JsHistogramFactory';
import { exactPercentile, histogramOf, latencies } from './support/resultRuns';

/** Within HdrHistogram's promise for 3 significant digits (and 1 µs resolution). */
function near(actual: number, expected: number, what: string, rel = 0.001): void {
  assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * rel + 1, `${what}: ${actual} is not within ${rel * 100}% of ${expected}`);
}

describe('histograms', () => {
  const values = latencies(1, 50_000, 1500, 0.8);

  it('merging encoded per-worker histograms equals one histogram fed every value', () => {
    const workers = [0, 1, 2, 3].map(() => createHistogram());
    values.forEach((v, i) => workers[i % 4].recordValue(v));
    const encoded = workers.map(encodeHistogram);
    const merged = mergeHistograms(encoded);
    const single = histogramOf(values);

    assert.equal(merged.totalCount, values.length);
    assert.deepEqual(summarizeHistogram(merged), summarizeHistogram(single));
    for (let i = 0; i < single.countsArrayLength; i++) {
      if (merged.getCountAtIndex(i) !== single.getCountAtIndex(i)) assert.fail(`bucket ${i} differs`);
    }
    assert.equal(encodeHistogram(merged), encodeHistogram(single));
    // Live histograms merge the same way, and the inputs are left alone.
    assert.deepEqual(summarizeHistogram(mergeHistograms(workers)), summarizeHistogram(single));
    assert.equal(workers[0].totalCount, values.length / 4);
  });

  it('merging adds counts rather than averaging them', () => {
    const low = histogramOf(latencies(2, 1000, 100, 0.1));
    const high = histogramOf(latencies(3, 9000, 10_000, 0.1));
    const merged = mergeHistograms([low, high]);
    assert.equal(merged.totalCount, 10_000);
    // 10% of samples are ~100 µs: p5 is in the low group, p50 in the high one.
    assert.ok(merged.getValueAtPercentile(5) < 200);
    assert.ok(summarizeHistogram(merged).p50 > 5000);
  });

  it('summaries agree with statistics computed from the raw values', () => {
    const s = summarizeHistogram(histogramOf(values));
    const sorted = [...values].sort((a, b) => a - b);
    const mean = values.reduce((t, v) => t + v, 0) / values.length;
    const stdev = Math.sqrt(values.reduce((t, v) => t + (v - mean) ** 2, 0) / values.length);

    assert.equal(s.count, values.length);
    assert.equal(s.min, sorted[0]);
    near(s.max, sorted[sorted.length - 1], 'max');
    near(s.mean, mean, 'mean');
    near(s.stdev, stdev, 'stdev', 0.005);
    near(s.p50, exactPercentile(sorted, 50), 'p50');
    near(s.p90, exactPercentile(sorted, 90), 'p90');
    near(s.p99, exactPercentile(sorted, 99), 'p99');
    near(s.p99_9, exactPercentile(sorted, 99.9), 'p99.9');
    near(s.p99_99, exactPercentile(sorted, 99.99), 'p99.99');
  });

  it('a summary survives an encode/decode round trip unchanged, max included', () => {
    const h = createHistogram();
    // Fractional µs (performance.now() * 1000) and values in coarse buckets, where the raw
    // maximum and its bucket's highest equivalent value differ.
    for (const v of [0.4, 12.5, 3_999.9, 99_999, 1_234_567.8]) h.recordValue(v);
    const before = summarizeHistogram(h);
    assert.deepEqual(summarizeHistogram(decodeHistogram(encodeHistogram(h))), before);
    assert.equal(before.min, 0);
    assert.ok(before.max >= 1_234_567.8 && before.max <= 1_234_567.8 * 1.001);
  });

  it('handles coordinated-omission-corrected recording', () => {
    // One 10 ms stall at an expected 1 ms interval stands for the 9 requests that could not
    // be sent meanwhile: 10, 9, ... 1 ms.
    const h = createHistogram();
    h.recordValueWithExpectedInterval(10_000, 1000);
    for (let i = 0; i < 90; i++) h.recordValueWithExpectedInterval(500, 1000);
    const expected = [...Array.from({ length: 10 }, (_, i) => (i + 1) * 1000), ...Array<number>(90).fill(500)].sort((a, b) => a - b);

    const s = summarizeHistogram(decodeHistogram(encodeHistogram(h)));
    assert.equal(s.count, 100);
    assert.equal(s.min, 500);
    near(s.max, 10_000, 'max');
    near(s.p90, exactPercentile(expected, 90), 'p90');
    near(s.p99, exactPercentile(expected, 99), 'p99');
    near(s.mean, expected.reduce((t, v) => t + v, 0) / expected.length, 'mean');
  });

  it('records past the 60 s pre-sized range instead of throwing', () => {
    const h = createHistogram();
    h.recordValue(HIGHEST_US * 2);
    const s = summarizeHistogram(mergeHistograms([encodeHistogram(h), createHistogram()]));
    near(s.max, HIGHEST_US * 2, 'max');
  });

  it('records exactly as hdr-histogram-js itself (integer bucket arithmetic instead of log2/pow): same encoding, same percentiles', () => {
    const Library = constructorFromBucketSize(64);
    const lib = new Library(1, HIGHEST_US, 3);
    lib.autoResize = true;
    const ours = createHistogram();
    // Integers and fractions across every bucket, powers of two and their neighbours, 0, and past 2^31 (the library's own path).
    const xs: number[] = [0, 0.5, 1, 1.5, 2047, 2048, 2049, 4095.9, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 0.5, 2 ** 33, HIGHEST_US * 3];
    for (let k = 0; k <= 36; k++) xs.push(2 ** k - 1, 2 ** k, 2 ** k + 1);
    let seed = 7;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const v = (seed / 2 ** 31) * 2 ** ((i % 34) + 1);
      xs.push(i % 2 ? Math.round(v) : v);
    }
    for (const v of xs) {
      lib.recordValue(v);
      ours.recordValue(v);
    }
    assert.equal(encodeHistogram(ours), lib.encodeIntoCompressedBase64());
    for (const p of [0, 50, 90, 99, 99.9, 100]) assert.equal(ours.getValueAtPercentile(p), lib.getValueAtPercentile(p), `p${p}`);
    assert.equal(ours.totalCount, lib.totalCount);
  });

  it('summarizes an empty histogram as zeros', () => {
    const s = summarizeHistogram(decodeHistogram(encodeHistogram(createHistogram())));
    assert.deepEqual(Object.values(s), Array(Object.keys(s).length).fill(0));
  });
});

describe('counters', () => {
  it('take() returns the counts since the last take and restarts from zero', () => {
    const c = new Counters();
    for (let i = 0; i < 7; i++) c.handshake(i < 3);
    c.connects += 7;
    c.bytesIn += 100;
    c.error('refused');
    c.error('refused');
    c.error('timeout', 5);
    const first = c.take();
    assert.deepEqual(first, { ...emptyCounters(), handshakes: 7, resumed: 3, full: 4, connects: 7, bytesIn: 100, errors: { refused: 2, timeout: 5 } });
    assert.deepEqual(c.snapshot(), emptyCounters());
    c.error('refused');
    assert.deepEqual(first.errors, { refused: 2, timeout: 5 }, 'an earlier snapshot must not change');
    assert.equal(totalErrors(first), 7);
  });

  it('merges worker snapshots by adding every field and every error reason', () => {
    const a = new Counters();
    const b = new Counters();
    a.handshake(false);
    a.bytesOut = 10;
    a.error('refused', 2);
    b.handshake(true);
    b.handshake(true);
    b.bytesOut = 5;
    b.roundTrips = 4;
    b.error('refused');
    b.error('alert: handshake failure');
    assert.deepEqual(mergeCounters([a.snapshot(), b.snapshot()]), {
      ...emptyCounters(),
      handshakes: 3,
      resumed: 2,
      full: 1,
      bytesOut: 15,
      roundTrips: 4,
      errors: { refused: 3, 'alert: handshake failure': 1 },
    });
  });
});

describe('intervals', () => {
  it('ticks cut consecutive intervals with their real durations', () => {
    const c = new Counters();
    const t = new IntervalTicker(c, 5000);
    c.connects = 10;
    const a = t.tick(6000);
    c.connects = 3;
    const b = t.tick(6250);
    assert.deepEqual([a.index, a.durationMs, a.counters.connects], [0, 1000, 10]);
    assert.deepEqual([b.index, b.startMs, b.durationMs, b.counters.connects], [1, 6000, 250, 3]);
  });

  it('merges workers by index: counts added, duration averaged', () => {
    const series = new IntervalSeries();
    const workers = [0, 1, 2].map(() => new Counters());
    const tickers = workers.map((c) => new IntervalTicker(c, 0));
    for (let s = 0; s < 3; s++) {
      workers.forEach((c, w) => {
        c.handshakes = 100 * (w + 1);
        series.add(tickers[w].tick((s + 1) * 1000 + w * 3));
      });
    }
    const merged = series.merged();
    assert.equal(merged.length, 3);
    assert.equal(merged[0].counters.handshakes, 600);
    assert.equal(merged[0].durationMs, (1000 + 1003 + 1006) / 3);
    assert.equal(merged[1].durationMs, 1000);
    assert.equal(series.totals().handshakes, 1800);
    assert.throws(() => mergeIntervalSamples([]));
  });

  it('rates: a short last interval is weighted by its real length and kept out of min/max', () => {
    const c = new Counters();
    const t = new IntervalTicker(c, 0);
    const counts = [900, 1100, 1000, 1000];
    const samples = counts.map((n, i) => {
      c.handshakes = n;
      return t.tick((i + 1) * 1000);
    });
    // 100 ms tail at 3000/s: a burst that would set max if it counted.
    c.handshakes = 300;
    samples.push(t.tick(4100));

    const r = summarizeRate(samples, (s) => s.handshakes);
    const total = counts.reduce((a, b) => a + b, 0) + 300;
    assert.ok(Math.abs(r.mean - total / 4.1) < 1e-9, `mean ${r.mean}`);
    assert.deepEqual(r.intervals, [900, 1100, 1000, 1000, 3000]);
    assert.equal(r.min, 900);
    assert.equal(r.max, 1100);
    const rates = [900, 1100, 1000, 1000, 3000];
    const weights = [1, 1, 1, 1, 0.1];
    const variance = rates.reduce((acc, x, i) => acc + weights[i] * (x - r.mean) ** 2, 0) / 4.1;
    assert.ok(Math.abs(r.stdev - Math.sqrt(variance)) < 1e-9);
  });

  it('rates: a constant rate stays constant whatever the tail length', () => {
    const c = new Counters();
    const t = new IntervalTicker(c, 0);
    const samples = [1, 2, 3].map((s) => {
      c.bytesIn = 1e6;
      return t.tick(s * 1000);
    });
    c.bytesIn = 3e5; // same 1 MB/s over 300 ms
    samples.push(t.tick(3300));
    const r = summarizeRate(samples, (s) => s.bytesIn * 8);
    assert.ok(Math.abs(r.mean - 8e6) < 1e-6);
    assert.ok(r.stdev < 1e-6);
    assert.deepEqual([r.min, r.max], [8e6, 8e6]);
  });

  it('rates of a run with no intervals are zeros', () => {
    assert.deepEqual(summarizeRate([], (s) => s.handshakes), { mean: 0, stdev: 0, min: 0, max: 0, intervals: [] });
  });
});
