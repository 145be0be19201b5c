// Interval snapshots: each worker cuts its counters once a second (when the main thread
// asks, or on its own timer), the main thread adds up the cuts that share an index, and the
// resulting series gives per-second rates (mean/stdev/min/max), as autocannon's per-second
// request counts do.

import { addCounters, CounterSnapshot, Counters, emptyCounters } from './counters';
import type { EncodedHistograms } from './recorder';

export const INTERVAL_MS = 1000;

/** The counts of one interval. Times are epoch milliseconds (Date.now(), or performance.timeOrigin + performance.now()). */
export interface IntervalSample {
  /** 0, 1, 2...: the tick number; samples of different workers with the same index are merged. */
  index: number;
  startMs: number;
  endMs: number;
  /** The interval's real length. For a merged sample, the mean of the workers' lengths (see mergeIntervalSamples). */
  durationMs: number;
  counters: CounterSnapshot;
  /** The interval's own latency histograms (µs, encoded), for per-interval statistics; bench only. */
  histograms?: EncodedHistograms;
  /** bench --rounds: the round it belongs to (its index then counts across rounds). */
  round?: number;
  /** bench connections: connections established and open when the interval was cut (workers' counts added). */
  open?: number;
}

/** Worker side: cuts a Counters into consecutive samples. */
export class IntervalTicker {
  #index = 0;
  #startMs: number;

  constructor(
    readonly counters: Counters,
    startMs: number
  ) {
    this.#startMs = startMs;
  }

  /** The counts since the previous tick (or since start); the counters restart from zero. */
  tick(nowMs: number): IntervalSample {
    const sample: IntervalSample = {
      index: this.#index++,
      startMs: this.#startMs,
      endMs: nowMs,
      durationMs: Math.max(0, nowMs - this.#startMs),
      counters: this.counters.take(),
    };
    this.#startMs = nowMs;
    return sample;
  }
}

/**
 * Merges the samples that different workers took for the same tick.
 *
 * Counts are added. The duration is the mean of the workers' durations: workers cut at
 * slightly different moments, and the union of their spans (max end - min start) would be
 * longer than any of them and understate the rate.
 */
export function mergeIntervalSamples(samples: readonly IntervalSample[]): IntervalSample {
  if (samples.length === 0) throw new Error('mergeIntervalSamples: no samples');
  const counters = emptyCounters();
  let durationSum = 0;
  let open: number | undefined;
  for (const s of samples) {
    addCounters(counters, s.counters);
    durationSum += s.durationMs;
    if (s.open !== undefined) open = (open ?? 0) + s.open;
  }
  return {
    index: samples[0].index,
    startMs: Math.min(...samples.map((s) => s.startMs)),
    endMs: Math.max(...samples.map((s) => s.endMs)),
    durationMs: durationSum / samples.length,
    counters,
    ...(open !== undefined ? { open } : {}),
  };
}

/** Per-second rate statistics over a run's intervals. */
export interface RateSummary {
  mean: number;
  stdev: number;
  min: number;
  max: number;
  /** The rate of each interval, per second, in order (a short last interval included, scaled to its real length). */
  intervals: number[];
}

/**
 * Per-second rate statistics of one counter (or any function of the counters).
 *
 * A partial interval (typically the last one, cut when the run stops) is kept and weighted
 * by its real duration: each interval's rate is its count divided by its own length, and
 * mean and stdev are duration-weighted, so `mean` is exactly total count / total time and a
 * 0.2 s tail neither drags the mean down (as a per-1-s count would) nor counts as much as a
 * full second. min and max only consider intervals at least half the nominal length, since
 * the rate over a few milliseconds is noise; if there are none, all intervals count.
 */
export function summarizeRate(
  samples: readonly IntervalSample[],
  select: (c: CounterSnapshot) => number,
  nominalMs: number = INTERVAL_MS
): RateSummary {
  const timed = samples.filter((s) => s.durationMs > 0);
  if (timed.length === 0) return { mean: 0, stdev: 0, min: 0, max: 0, intervals: [] };

  const rates = timed.map((s) => (select(s.counters) * 1000) / s.durationMs);
  let totalCount = 0;
  let totalMs = 0;
  for (const s of timed) {
    totalCount += select(s.counters);
    totalMs += s.durationMs;
  }
  const mean = (totalCount * 1000) / totalMs;
  let sq = 0;
  timed.forEach((s, i) => (sq += s.durationMs * (rates[i] - mean) ** 2));
  const stdev = Math.sqrt(sq / totalMs);

  const long = rates.filter((_, i) => timed[i].durationMs >= nominalMs / 2);
  const extremes = long.length > 0 ? long : rates;
  return { mean, stdev, min: Math.min(...extremes), max: Math.max(...extremes), intervals: rates };
}
