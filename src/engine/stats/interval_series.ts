// The main thread's side of the interval snapshots (intervals.ts): the workers' samples of each
// second added up, their histograms too. Apart from intervals.ts so that what only cuts samples
// (serve's workers and its main thread) does not load the histogram library.
import { addCounters, CounterSnapshot, emptyCounters } from './counters';
import { encodeHistogram, Histogram, mergeHistograms } from './histograms';
import { IntervalSample, mergeIntervalSamples } from './intervals';
import type { HistogramName } from './recorder';

/** Main-thread side: collects samples from all workers and merges them by index. */
export class IntervalSeries {
  #byIndex = new Map<number, IntervalSample[]>();

  add(sample: IntervalSample): void {
    const list = this.#byIndex.get(sample.index);
    if (list) list.push(sample);
    else this.#byIndex.set(sample.index, [sample]);
  }

  /** One merged sample per index, in index order, with the workers' histograms of that index added. */
  merged(): IntervalSample[] {
    return [...this.#byIndex.keys()]
      .sort((a, b) => a - b)
      .map((i) => {
        const list = this.#byIndex.get(i)!;
        const m = mergeIntervalSamples(list);
        const names = new Set(list.flatMap((s) => Object.keys(s.histograms ?? {}) as HistogramName[]));
        if (names.size > 0) {
          m.histograms = {};
          for (const n of names) m.histograms[n] = encodeHistogram(mergeHistograms(list.flatMap((s) => s.histograms?.[n] ?? [])));
        }
        return m;
      });
  }

  /** One histogram of the whole run: every interval's, of every worker, added (never averaged). */
  histogram(name: HistogramName): Histogram {
    const parts: string[] = [];
    for (const list of this.#byIndex.values()) for (const s of list) if (s.histograms?.[name]) parts.push(s.histograms[name]!);
    return mergeHistograms(parts);
  }

  /** All counts added up: the run's totals. */
  totals(): CounterSnapshot {
    const sum = emptyCounters();
    for (const list of this.#byIndex.values()) for (const s of list) addCounters(sum, s.counters);
    return sum;
  }

  /** Seconds covered: the sum of the merged intervals' durations. */
  durationS(): number {
    return this.merged().reduce((t, s) => t + s.durationMs, 0) / 1000;
  }
}
