// The standard HdrHistogram percentile distribution text (.hgrm), as Java's
// AbstractHistogram.outputPercentileDistribution prints it, readable by the usual plotters
// (hdrhistogram.github.io/HdrHistogram/plotFiles.html).
//
// Written here rather than calling hdr-histogram-js's outputPercentileDistribution: its
// footer prints the raw recorded maximum (e.g. 99.999) where Java prints getMaxValue(), the
// highest equivalent value of the max's bucket (100.031), so the footer disagrees with the
// last percentile row and with the same histogram after an encode/decode round trip.

import { Histogram } from '../engine/stats/histograms';

const formats = new Map<number, Intl.NumberFormat>();

// Java's %.Nf rounds the shortest decimal form of the double half-up (0.15 -> 0.2), as Intl
// does; toFixed rounds the exact binary value (0.15 -> 0.1) and would differ in the last digit.
function fixed(value: number, decimals: number, width: number): string {
  let f = formats.get(decimals);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals, useGrouping: false });
    formats.set(decimals, f);
  }
  return f.format(value).padStart(width);
}

/**
 * @param unitRatio divides every value on output: 1000 turns our µs into ms, as wrk2 and
 *   the HdrHistogram plotter expect.
 * @param ticksPerHalfDistance percentile rows per halving of the distance to 100% (Java's default 5).
 */
export function toHgrm(h: Histogram, unitRatio = 1, ticksPerHalfDistance = 5): string {
  const digits = h.numberOfSignificantValueDigits;
  let out = '       Value     Percentile TotalCount 1/(1-Percentile)\n\n';
  const it = h.percentileIterator;
  it.reset(ticksPerHalfDistance);
  while (it.hasNext()) {
    const v = it.next();
    const line =
      fixed(v.valueIteratedTo / unitRatio, digits, 12) +
      ' ' +
      fixed(v.percentileLevelIteratedTo / 100, 12, 14) +
      ' ' +
      String(v.totalCountToThisValue).padStart(10);
    out +=
      v.percentileLevelIteratedTo < 100
        ? `${line} ${fixed(1 / (1 - v.percentileLevelIteratedTo / 100), 2, 14)}\n`
        : `${line}\n`;
  }
  const max = h.maxValue === 0 ? 0 : h.highestEquivalentValue(h.maxValue);
  const f = (x: number) => fixed(x / unitRatio, digits, 12);
  const i = (n: number) => String(n).padStart(12);
  out += `#[Mean    = ${f(h.mean)}, StdDeviation   = ${f(h.stdDeviation)}]\n`;
  out += `#[Max     = ${f(max)}, Total count    = ${i(h.totalCount)}]\n`;
  out += `#[Buckets = ${i(h.bucketCount)}, SubBuckets     = ${i(h.subBucketCount)}]\n`;
  return out;
}
