// Latency histograms of a group of samples (one per round or per second), in a form that
// makes "add up a resample of them and take percentiles" cheap enough to do thousands of
// times: each sample keeps only its non-empty HDR buckets, indexed into one sorted grid of
// bucket values shared by the group.
//
// Percentiles follow HdrHistogram's own rule (getValueAtPercentile: the highest equivalent
// value of the first bucket whose cumulative count reaches ceil(p · total)), so the percentile
// of all samples added is exactly the one in the result document, which came from the same
// histograms added by hdr-histogram-js.

import { decodeHistogram, Histogram } from '../../engine/stats/histograms';

interface SparseSample {
  /** Grid positions of the non-empty buckets, and their counts. */
  at: Uint32Array;
  counts: Float64Array;
  total: number;
}

/** hdr-histogram-js's ulp, used the same way so that the count at a percentile rounds as it does. */
function ulp(x: number): number {
  return Math.pow(2, Math.floor(Math.log2(x)) - 52);
}

export function countAtPercentile(total: number, percentile: number): number {
  const fp = (Math.min(percentile, 100) / 100) * total;
  return Math.max(fp > 0 ? Math.ceil(fp - ulp(fp)) : 0, 1);
}

export class HistogramGroup {
  /** Sorted bucket values (µs) that any sample uses. */
  readonly grid: Float64Array;
  readonly samples: SparseSample[];
  #acc: Float64Array;

  constructor(histograms: ReadonlyArray<Histogram | string | undefined>) {
    const decoded = histograms.map((h) => (h === undefined ? undefined : typeof h === 'string' ? decodeHistogram(h) : h));
    const buckets = decoded.map((h) => {
      const values: number[] = [];
      const counts: number[] = [];
      if (h && h.totalCount > 0) {
        for (let i = 0; i < h.countsArrayLength; i++) {
          const c = h.getCountAtIndex(i);
          if (c > 0) {
            values.push(h.highestEquivalentValue(h.valueFromIndex(i)));
            counts.push(c);
          }
        }
      }
      return { values, counts };
    });
    const grid = Float64Array.from(new Set(buckets.flatMap((b) => b.values))).sort();
    const position = new Map<number, number>();
    grid.forEach((v, i) => position.set(v, i));
    this.grid = grid;
    this.samples = buckets.map((b) => ({
      at: Uint32Array.from(b.values.map((v) => position.get(v)!)),
      counts: Float64Array.from(b.counts),
      total: b.counts.reduce((t, c) => t + c, 0),
    }));
    this.#acc = new Float64Array(grid.length);
  }

  get size(): number {
    return this.samples.length;
  }

  /** Events per sample, for deciding which percentiles the samples can speak for. */
  sampleTotals(): number[] {
    return this.samples.map((s) => s.total);
  }

  /** Percentiles of one sample's own histogram (NaN when it recorded nothing). */
  samplePercentiles(index: number, percentiles: readonly number[]): number[] {
    const w = new Uint32Array(this.samples.length);
    w[index] = 1;
    return this.percentiles(w, percentiles);
  }

  /**
   * Percentiles (sorted ascending) of the samples added with these multiplicities (a bootstrap
   * replicate; all ones for the whole group). NaN when the weighted samples recorded nothing.
   */
  percentiles(weights: ArrayLike<number>, percentiles: readonly number[]): number[] {
    const acc = this.#acc;
    acc.fill(0);
    let total = 0;
    for (let s = 0; s < this.samples.length; s++) {
      const w = weights[s];
      if (w === 0) continue;
      const { at, counts } = this.samples[s];
      for (let k = 0; k < at.length; k++) acc[at[k]] += w * counts[k];
      total += w * this.samples[s].total;
    }
    if (total === 0) return percentiles.map(() => NaN);
    const targets = percentiles.map((p) => countAtPercentile(total, p));
    const out = new Array<number>(percentiles.length).fill(NaN);
    let next = 0;
    let cum = 0;
    for (let i = 0; i < acc.length && next < targets.length; i++) {
      cum += acc[i];
      while (next < targets.length && cum >= targets[next]) out[next++] = this.grid[i];
    }
    return out;
  }

  /** Cost of one replicate, in bucket additions: for sizing the number of resamples. */
  get workPerReplicate(): number {
    return this.samples.reduce((t, s) => t + s.at.length, 0) + this.grid.length;
  }
}
