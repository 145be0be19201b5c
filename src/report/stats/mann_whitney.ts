// The Mann-Whitney U test (Wilcoxon rank-sum), two-sided: do two sets of samples come from
// the same distribution, or does one tend to be larger? It only uses ranks, so it assumes no
// shape (benchmark samples are skewed and have outliers) and one stray round cannot dominate
// it — the test Go's benchstat uses for the same job.
//
// p-value as R's wilcox.test and scipy's mannwhitneyu compute it: the exact permutation
// distribution of U when there are no ties and both samples are smaller than 50; otherwise
// the normal approximation with the tie correction of the variance and a continuity
// correction of 0.5.

import { normalSf } from './normal';

export interface MannWhitneyResult {
  /** U of the first sample: pairs (x, y) with x > y, a tie counting 1/2. U(x) + U(y) = n1·n2. */
  u: number;
  /** Two-sided p-value. */
  p: number;
  method: 'exact' | 'normal';
  /** Whether any values were tied (across or within the samples). */
  ties: boolean;
  n1: number;
  n2: number;
}

/** Samples smaller than this (both) with no ties get the exact distribution. */
export const EXACT_BELOW = 50;

/** 'auto' picks as R and scipy do (exact without ties below EXACT_BELOW, else normal); the others force it. */
export function mannWhitneyU(x: readonly number[], y: readonly number[], method: 'auto' | 'exact' | 'normal' = 'auto'): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('mannWhitneyU: both samples need at least one value');
  const all = [...x.map((v) => ({ v, first: true })), ...y.map((v) => ({ v, first: false }))].sort((a, b) => a.v - b.v);
  const n = n1 + n2;
  // Mid-ranks for ties; Σ(t³ - t) over tie groups for the variance correction.
  let rankSumX = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && all[j + 1].v === all[i].v) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (all[k].first) rankSumX += rank;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const u = rankSumX - (n1 * (n1 + 1)) / 2;
  const ties = tieTerm > 0;
  const uMax = Math.max(u, n1 * n2 - u);

  if (method === 'exact' && ties) throw new RangeError('mannWhitneyU: no exact distribution with ties');
  if (method === 'exact' || (method === 'auto' && !ties && n1 < EXACT_BELOW && n2 < EXACT_BELOW)) {
    // The distribution is symmetric about n1·n2/2: P(|U - mean| >= |u - mean|) = 2·P(U >= uMax).
    const p = Math.min(1, 2 * exactUpperTail(n1, n2, uMax));
    return { u, p, method: 'exact', ties, n1, n2 };
  }
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, p: 1, method: 'normal', ties, n1, n2 }; // every value the same
  const z = (uMax - mean - 0.5) / Math.sqrt(variance);
  return { u, p: Math.min(1, 2 * normalSf(z)), method: 'normal', ties, n1, n2 };
}

/**
 * P(U >= u) under the null hypothesis, with no ties: the number of the C(n1+n2, n1) orderings
 * of the two samples whose U is at least u, divided by their number. Counts by the recurrence
 * f(i, j, u) = f(i-1, j, u-j) + f(i, j-1, u) (the largest value comes from x, adding j to U,
 * or from y), one row of i at a time.
 */
export function exactUpperTail(n1: number, n2: number, u: number): number {
  const dist = exactDistribution(n1, n2);
  let total = 0;
  let tail = 0;
  for (let k = 0; k < dist.length; k++) {
    total += dist[k];
    if (k >= u - 1e-9) tail += dist[k];
  }
  return tail / total;
}

const cache = new Map<string, Float64Array>();

/** Number of orderings with U = k, for k = 0..n1·n2. */
export function exactDistribution(n1: number, n2: number): Float64Array {
  const key = `${n1},${n2}`;
  const hit = cache.get(key);
  if (hit) return hit;
  // prev[j] = distribution for (i-1, j); cur[j] = for (i, j).
  let prev: Float64Array[] = Array.from({ length: n2 + 1 }, () => Float64Array.of(1)); // i = 0: U = 0 only
  for (let i = 1; i <= n1; i++) {
    const cur: Float64Array[] = [Float64Array.of(1)]; // j = 0: U = 0 only
    for (let j = 1; j <= n2; j++) {
      const out = new Float64Array(i * j + 1);
      const a = prev[j]; // largest from x: U grows by j
      for (let k = 0; k < a.length; k++) out[k + j] += a[k];
      const b = cur[j - 1]; // largest from y
      for (let k = 0; k < b.length; k++) out[k] += b[k];
      cur.push(out);
    }
    prev = cur;
  }
  const dist = prev[n2];
  if (cache.size > 64) cache.clear();
  cache.set(key, dist);
  return dist;
}

/** The smallest two-sided p-value any result can reach with n1 and n2 untied samples: 2 / C(n1+n2, n1). */
export function smallestP(n1: number, n2: number): number {
  if (n1 === 0 || n2 === 0) return 1;
  let c = 1;
  for (let k = 1; k <= n1; k++) c = (c * (n2 + k)) / k;
  return Math.min(1, 2 / c);
}
