// Main thread: merges the interval samples of several workers by tick index, emitting each
// merged interval once every worker has reported it.
import { IntervalSample, mergeIntervalSamples } from './stats/intervals';

export class IntervalMerger<X = unknown> {
  #pending = new Map<number, { samples: IntervalSample[]; extra: X[] }>();

  constructor(
    private workers: number,
    private readonly onMerged: (sample: IntervalSample, extra: X[]) => void
  ) {}

  add(sample: IntervalSample, extra: X): void {
    let p = this.#pending.get(sample.index);
    if (!p) this.#pending.set(sample.index, (p = { samples: [], extra: [] }));
    p.samples.push(sample);
    p.extra.push(extra);
    if (p.samples.length >= this.workers) {
      this.#pending.delete(sample.index);
      this.onMerged(mergeIntervalSamples(p.samples), p.extra);
    }
  }

  /** A worker stopped: intervals it will never report are merged without it. */
  setWorkers(n: number): void {
    this.workers = n;
  }
}
