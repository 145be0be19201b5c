// The one place that fixes histogram bounds and precision (autocannon's histUtil.js).
// Workers record into their own histograms, ship them encoded, and the main thread adds
// them: percentiles of a merge are exact for the union of samples, averages of percentiles
// would not be.

import * as hdr from 'hdr-histogram-js';

/** The concrete histogram type we use everywhere: the plain-JS implementation. */
export type Histogram = hdr.JsHistogram;

/** All latency histograms record microseconds. */
export const LOWEST_US = 1;
/** Pre-sized for 60 s; larger values grow the histogram instead of throwing (see createHistogram). */
export const HIGHEST_US = 60_000_000;
export const SIGNIFICANT_DIGITS = 3;
// 64-bit (float64) counts: exact to 2^53. Coordinated-omission correction synthesises many
// samples per stall, which can overflow 32-bit counts on long constant-rate runs.
const BIT_BUCKET_SIZE = 64;

/**
 * A new empty latency histogram (µs, 1 µs .. 60 s, 3 significant digits).
 *
 * Plain JS, never WebAssembly: the wasm build needs an async init per thread, and we create
 * histograms inside worker threads. autoResize is on so that a value past 60 s (a stalled
 * connection, or a coordinated-omission correction of one) is recorded rather than throwing
 * in a worker's completion loop.
 */
export function createHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: LOWEST_US,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
    bitBucketSize: BIT_BUCKET_SIZE,
    autoResize: true,
    useWebAssembly: false,
  }) as Histogram;
}

/** The compressed base64 V2 encoding (HdrHistogram's interchange format, "HISTF..."). */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(encoded: string): Histogram {
  const h = hdr.decodeFromCompressedBase64(encoded, BIT_BUCKET_SIZE, false) as Histogram;
  h.autoResize = true;
  return h;
}

/** Adds every histogram (or encoded histogram) into a new one. Inputs are not modified. */
export function mergeHistograms(list: ReadonlyArray<Histogram | string>): Histogram {
  const merged = createHistogram();
  for (const item of list) merged.add(typeof item === 'string' ? decodeHistogram(item) : item);
  return merged;
}

/** Latency statistics in the histogram's unit (µs for ours). */
export interface LatencySummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  stdev: number;
  p50: number;
  p90: number;
  p99: number;
  p99_9: number;
  p99_99: number;
}

export const PERCENTILES: ReadonlyArray<readonly [keyof LatencySummary, number]> = [
  ['p50', 50],
  ['p90', 90],
  ['p99', 99],
  ['p99_9', 99.9],
  ['p99_99', 99.99],
];

/**
 * min and max are reported as HdrHistogram's Java getMinValue/getMaxValue do (the lowest /
 * highest equivalent value of the bucket), not the raw recorded value that hdr-histogram-js
 * keeps: the raw value does not survive encoding, so the summary of a histogram and of its
 * decoded copy would otherwise differ.
 */
export function summarizeHistogram(h: Histogram): LatencySummary {
  const count = h.totalCount;
  if (count === 0) {
    return { count: 0, min: 0, max: 0, mean: 0, stdev: 0, p50: 0, p90: 0, p99: 0, p99_9: 0, p99_99: 0 };
  }
  const min = h.getCountAtIndex(0) > 0 ? 0 : h.lowestEquivalentValue(h.minNonZeroValue);
  const max = h.maxValue === 0 ? 0 : h.highestEquivalentValue(h.maxValue);
  return {
    count,
    min,
    max,
    mean: h.mean,
    stdev: h.stdDeviation,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p99_9: h.getValueAtPercentile(99.9),
    p99_99: h.getValueAtPercentile(99.99),
  };
}
