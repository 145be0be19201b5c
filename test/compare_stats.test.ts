// The statistics under `compare`, against known values: Holm's correction against R's p.adjust and
// HistogramGroup's percentiles against hdr-histogram-js's own (Student's t: compare_verdicts.test.ts).
import * as assert from 'node:assert/strict';
import { mergeHistograms } from '../src/engine/stats/histograms';
import { HistogramGroup } from '../src/report/stats/histogram_group';
import { holmAdjust } from '../src/report/stats/holm';
import { histogramOf, latencies } from './support/resultRuns';

const close = (actual: number, expected: number, tol: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} is not within ${tol} of ${expected}`);

describe("Holm's correction", () => {
  it("matches R's p.adjust(c(0.01, 0.04, 0.03, 0.005), 'holm') = 0.03 0.06 0.06 0.02", () => {
    const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((e, i) => close(adj[i], e, 1e-12, `p[${i}]`));
    assert.deepEqual(holmAdjust([]), []);
    assert.deepEqual(holmAdjust([0.5, 0.9]), [1, 1]);
  });
});

describe('HistogramGroup', () => {
  const parts = [latencies(1, 3000, 2000, 0.5), latencies(2, 500, 2500, 0.8), latencies(3, 1, 900, 0.1), latencies(4, 20_000, 300, 0.3)];
  const ps = [0, 50, 90, 99, 99.9, 99.99, 100];

  it("percentiles of the samples added are hdr-histogram-js's percentiles of the merged histogram", () => {
    const hists = parts.map(histogramOf);
    const g = new HistogramGroup([...hists, undefined]);
    const merged = mergeHistograms(hists);
    const got = g.percentiles([1, 1, 1, 1, 1], ps.slice(1));
    ps.slice(1).forEach((p, i) => assert.equal(got[i], merged.getValueAtPercentile(p), `p${p}`));
    // Each sample alone, and an encoded copy, the same.
    hists.forEach((h, s) => {
      const own = g.samplePercentiles(s, [50, 99]);
      assert.deepEqual(own, [h.getValueAtPercentile(50), h.getValueAtPercentile(99)]);
    });
    assert.deepEqual(g.samplePercentiles(4, [50]), [NaN]);
  });

  it('a sample drawn twice weighs twice: the same as merging it twice', () => {
    const hists = parts.map(histogramOf);
    const g = new HistogramGroup(hists.map((h) => h));
    const twice = mergeHistograms([hists[0], hists[0], hists[1]]);
    const got = g.percentiles([2, 1, 0, 0], [50, 90, 99]);
    assert.deepEqual(got, [twice.getValueAtPercentile(50), twice.getValueAtPercentile(90), twice.getValueAtPercentile(99)]);
    assert.equal(g.samples[3].total, 20_000);
  });
});
