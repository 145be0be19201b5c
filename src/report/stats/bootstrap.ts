// Percentile bootstrap of a relative change between two groups of samples.
//
// Each replicate draws, in each group independently, as many samples as it has, with
// replacement (as multiplicities: weights[i] = how often sample i was drawn), computes the
// statistic of each group from its weighted samples, and records next/base - 1. The interval
// is the replicates' alpha/2 and 1 - alpha/2 quantiles. The statistic sees whole samples
// (a round, or a second), never single events: events within a second share its machine
// state, so resampling them one by one would claim a precision the run does not have.

import { mulberry32 } from './rng';

export interface ChangeInterval {
  /** Relative change, percent: (next / base - 1) · 100. */
  low: number;
  high: number;
  /** e.g. 0.95 */
  level: number;
  resamples: number;
}

/** A group's statistics (one or several, e.g. five percentiles) from the multiplicity of each of its samples in one replicate. */
export type WeightedStatistics = (weights: Uint32Array) => number[];

export interface BootstrapOptions {
  resamples: number;
  level: number;
  seed: number;
}

/** Linear interpolation between order statistics (R's type 7, numpy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function draw(weights: Uint32Array, rand: () => number): void {
  weights.fill(0);
  const n = weights.length;
  for (let k = 0; k < n; k++) weights[Math.floor(rand() * n)]++;
}

/**
 * The bootstrap confidence intervals of next/base - 1 (percent) of `k` statistics computed
 * from the same replicates. An entry is null when a group has no samples, or when the base
 * statistic is 0 or undefined in more than a tenth of the replicates (a ratio then means nothing).
 */
export function bootstrapChanges(
  baseN: number,
  nextN: number,
  baseStats: WeightedStatistics,
  nextStats: WeightedStatistics,
  k: number,
  o: BootstrapOptions
): Array<ChangeInterval | null> {
  if (baseN === 0 || nextN === 0) return new Array(k).fill(null);
  const rand = mulberry32(o.seed);
  const wb = new Uint32Array(baseN);
  const wn = new Uint32Array(nextN);
  const changes = Array.from({ length: k }, () => new Float64Array(o.resamples));
  const kept = new Array<number>(k).fill(0);
  for (let r = 0; r < o.resamples; r++) {
    draw(wb, rand);
    draw(wn, rand);
    const b = baseStats(wb);
    const n = nextStats(wn);
    for (let j = 0; j < k; j++) if (b[j] > 0 && Number.isFinite(n[j])) changes[j][kept[j]++] = (n[j] / b[j] - 1) * 100;
  }
  const tail = (1 - o.level) / 2;
  return changes.map((c, j) => {
    if (kept[j] < o.resamples * 0.9) return null;
    const sorted = c.subarray(0, kept[j]).sort();
    return { low: quantile(sorted, tail), high: quantile(sorted, 1 - tail), level: o.level, resamples: kept[j] };
  });
}
