// The statistics under `compare`, against known values: the Mann-Whitney U test on published
// examples (R's and scipy's documentation) and on values scipy 1.17 computes, Holm's correction
// against R's p.adjust, the bootstrap's coverage on a known distribution with fixed seeds, and
// HistogramGroup's percentiles against hdr-histogram-js's own.
import * as assert from 'node:assert/strict';
import { mergeHistograms } from '../src/engine/stats/histograms';
import { bootstrapChanges, quantile } from '../src/report/stats/bootstrap';
import { HistogramGroup } from '../src/report/stats/histogram_group';
import { holmAdjust } from '../src/report/stats/holm';
import { exactDistribution, mannWhitneyU, smallestP } from '../src/report/stats/mann_whitney';
import { normalSf } from '../src/report/stats/normal';
import { mulberry32, seedFor } from '../src/report/stats/rng';
import { histogramOf, latencies } from './support/resultRuns';

const close = (actual: number, expected: number, tol: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} is not within ${tol} of ${expected}`);

/** Log-normal draws (skewed, like latencies and per-round rates). */
function lognormal(rand: () => number, n: number, median: number, sigma: number): number[] {
  return Array.from({ length: n }, () => median * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())));
}

describe('Mann-Whitney U', () => {
  it("R's wilcox.test example (Hollander & Wolfe): W = 35, one-sided p = 0.1272, so two-sided 0.2544 (exact)", () => {
    const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
    const y = [1.15, 0.88, 0.9, 0.74, 1.21];
    const r = mannWhitneyU(x, y);
    assert.equal(r.u, 35);
    assert.equal(r.method, 'exact');
    close(r.p, 0.2544122544122544, 1e-12, 'p');
  });

  it("scipy's documentation example (males vs females): U = 17, exact p = 0.1111, asymptotic p = 0.11134688653314041", () => {
    const males = [19, 22, 16, 29, 24];
    const females = [20, 11, 17, 12];
    const exact = mannWhitneyU(males, females);
    assert.equal(exact.u, 17);
    assert.equal(exact.method, 'exact');
    close(exact.p, 1 / 9, 1e-12, 'exact p');
    const normal = mannWhitneyU(males, females, 'normal');
    close(normal.p, 0.11134688653314041, 1e-7, 'asymptotic p');
  });

  it('two completely separated groups of 5: p = 2 / C(10, 5) = 0.0079, the smallest possible', () => {
    const r = mannWhitneyU([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
    assert.equal(r.u, 0);
    close(r.p, 2 / 252, 1e-12);
    close(smallestP(5, 5), 2 / 252, 1e-15);
    close(smallestP(4, 4), 2 / 70, 1e-15);
    close(smallestP(3, 3), 0.1, 1e-15);
    close(smallestP(6, 6), 2 / 924, 1e-15);
  });

  it('ties: mid-ranks, tie-corrected variance and continuity correction (scipy/R: U = 10.5, p = 0.14801830727232673)', () => {
    const x = [1, 2, 2, 3, 4, 5];
    const y = [2, 3, 3, 4, 6, 7, 8];
    const r = mannWhitneyU(x, y);
    assert.equal(r.u, 10.5);
    assert.equal(r.ties, true);
    assert.equal(r.method, 'normal');
    close(r.p, 0.14801830727232673, 1e-7);
    assert.throws(() => mannWhitneyU(x, y, 'exact'), RangeError);
  });

  it('every value tied: p = 1; 50 or more samples: the normal approximation (scipy: p = 0.003921883904784639)', () => {
    assert.equal(mannWhitneyU([3, 3, 3, 3], [3, 3, 3]).p, 1);
    const x = Array.from({ length: 60 }, (_, i) => i);
    const y = Array.from({ length: 60 }, (_, i) => i + 10);
    const r = mannWhitneyU(x, y);
    assert.equal(r.method, 'normal');
    assert.equal(r.u, 1250);
    close(r.p, 0.003921883904784639, 1e-7);
  });

  it('is symmetric in its samples: U(x) + U(y) = n1·n2, the same p', () => {
    const rand = mulberry32(7);
    const x = lognormal(rand, 8, 100, 0.3);
    const y = lognormal(rand, 11, 120, 0.3);
    const a = mannWhitneyU(x, y);
    const b = mannWhitneyU(y, x);
    assert.equal(a.u + b.u, 8 * 11);
    close(a.p, b.p, 1e-12);
  });

  it('the exact distribution counts every ordering once and is symmetric', () => {
    const d = exactDistribution(5, 7);
    assert.equal(d.length, 36);
    assert.equal(d.reduce((a, b) => a + b, 0), 792); // C(12, 5)
    for (let k = 0; k < d.length; k++) assert.equal(d[k], d[d.length - 1 - k]);
  });

  it('holds its level: two groups from one distribution are "significant" at 5% in at most 5% of 4,000 trials', () => {
    const rand = mulberry32(2024);
    let hits = 0;
    const trials = 4000;
    for (let t = 0; t < trials; t++) if (mannWhitneyU(lognormal(rand, 6, 100, 0.4), lognormal(rand, 6, 100, 0.4)).p < 0.05) hits++;
    // The exact test's true size for 6 vs 6 at 5% is P(p <= 0.041) = 0.041: a little below alpha.
    assert.ok(hits / trials <= 0.05 && hits / trials >= 0.03, `false positive rate ${hits / trials}`);
  });

  it('normal tail: P(Z > 1.959964) = 0.025', () => {
    close(normalSf(1.959964), 0.025, 1e-6);
    close(normalSf(0), 0.5, 1e-7);
    close(normalSf(-1), 1 - 0.15865525393145707, 1e-7);
  });
});

describe("Holm's correction", () => {
  it("matches R's p.adjust(c(0.01, 0.04, 0.03, 0.005), 'holm') = 0.03 0.06 0.06 0.02", () => {
    const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((e, i) => close(adj[i], e, 1e-12, `p[${i}]`));
    assert.deepEqual(holmAdjust([]), []);
    assert.deepEqual(holmAdjust([0.5, 0.9]), [1, 1]);
  });
});

describe('bootstrap interval of a change', () => {
  const mean = (xs: readonly number[]) => (w: Uint32Array) => {
    let s = 0;
    let n = 0;
    xs.forEach((x, i) => {
      s += w[i] * x;
      n += w[i];
    });
    return [s / n];
  };

  it('quantiles interpolate as R type 7', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([1, 2, 3, 4], 0.25), 1.75);
    assert.equal(quantile([5], 0.9), 5);
  });

  it('is reproducible: the same seed gives the same interval, another seed another one', () => {
    const rand = mulberry32(1);
    const a = lognormal(rand, 10, 100, 0.3);
    const b = lognormal(rand, 10, 110, 0.3);
    const o = { resamples: 1000, level: 0.95, seed: seedFor(1, 'x') };
    const one = bootstrapChanges(10, 10, mean(a), mean(b), 1, o)[0]!;
    assert.deepEqual(bootstrapChanges(10, 10, mean(a), mean(b), 1, o)[0], one);
    assert.notDeepEqual(bootstrapChanges(10, 10, mean(a), mean(b), 1, { ...o, seed: seedFor(1, 'y') })[0], one);
    assert.ok(one.low < one.high);
  });

  /** Share of `trials` experiments whose 95% interval holds the true change. */
  function coverage(n: number, trueRatio: number, trials: number, seed: number): number {
    const rand = mulberry32(seed);
    let hit = 0;
    for (let t = 0; t < trials; t++) {
      const a = lognormal(rand, n, 100, 0.3);
      const b = lognormal(rand, n, 100 * trueRatio, 0.3);
      const ci = bootstrapChanges(n, n, mean(a), mean(b), 1, { resamples: 1000, level: 0.95, seed: t + 1 })[0]!;
      const truth = (trueRatio - 1) * 100;
      if (ci.low <= truth && truth <= ci.high) hit++;
    }
    return hit / trials;
  }

  it('covers the true change of means about 95% of the time with 20 samples (log-normal, fixed seeds)', function () {
    this.timeout(30_000);
    const same = coverage(20, 1, 400, 11);
    const shifted = coverage(20, 1.3, 400, 12);
    console.log(`      coverage, 20 vs 20 samples: ${(same * 100).toFixed(1)}% (no change), ${(shifted * 100).toFixed(1)}% (+30%)`);
    // A percentile bootstrap runs a little narrow on small samples: 92-94% is its known behaviour.
    assert.ok(same >= 0.9 && same <= 0.99, `coverage ${same}`);
    assert.ok(shifted >= 0.9 && shifted <= 0.99, `coverage ${shifted}`);
  });

  it('runs narrower with 6 samples (documented: the interval is a guide, the verdict comes from the rank test)', function () {
    this.timeout(30_000);
    const c = coverage(6, 1, 400, 13);
    console.log(`      coverage, 6 vs 6 samples: ${(c * 100).toFixed(1)}%`);
    assert.ok(c >= 0.8 && c <= 0.97, `coverage ${c}`);
  });

  it('returns null when a side has no samples, or its statistic is mostly 0', () => {
    const o = { resamples: 200, level: 0.95, seed: 3 };
    assert.deepEqual(bootstrapChanges(0, 5, () => [1], () => [1], 1, o), [null]);
    assert.deepEqual(bootstrapChanges(5, 5, () => [0], () => [1], 1, o), [null]);
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
