// One row of a comparison: a metric of two runs, its change, and — for the metrics that have
// samples — the change's confidence interval, the rank test's p-value and the verdict. Shared
// by the comparison of documents (compare.ts), of sample sets (significance.ts) and by every
// renderer (terminal, markdown, HTML, JSON).

import type { ChangeInterval } from './stats/bootstrap';

export type MetricUnit = 'perSec' | 'bitsPerSec' | 'us' | 'count' | 'bytes' | 'gbps' | 'seconds' | 'pct';
/** 'regressed'/'improved': a significant change beyond the threshold; 'unchanged': any other gated row; 'info': never gates. */
export type MetricStatus = 'regressed' | 'improved' | 'unchanged' | 'info';
/** As benchstat prints it: '~' when the two runs cannot be told apart (or differ by less than the threshold); null for info rows. */
export type Verdict = 'regressed' | 'improved' | '~' | null;

export interface RowSignificance {
  /** Samples in the rank test, per side (rounds or seconds; a cut-off one left out). */
  n: { base: number; next: number };
  /** Two-sided Mann-Whitney U p-value; null when the metric could not be tested (see note). */
  p: number | null;
  /** p after Holm's correction over the gated rows: what the verdict compares with alpha. null on rows that do not gate. */
  pAdjusted: number | null;
  /** 'exact' permutation distribution or 'normal' approximation (ties, or 50+ samples). */
  test: 'exact' | 'normal' | null;
  /** Bootstrap confidence interval of the change, percent. */
  ci: ChangeInterval | null;
  /** Why the row was not tested, or does not gate although it has a direction. */
  note?: string;
}

export interface MetricRow {
  /** Stable path into the result document, e.g. 'rates.handshakesPerSec.mean', 'latency.handshake.p99'. */
  id: string;
  label: string;
  unit: MetricUnit;
  base: number | null;
  next: number | null;
  /** (next - base) / base * 100; null when either side is missing or base is 0 and next is not. */
  changePct: number | null;
  /** Which direction is better; null for rows without one (totals, spreads, maxima). */
  better: 'higher' | 'lower' | null;
  /** Whether this row can fail the comparison (see docs/compare.md for which do). */
  gated: boolean;
  status: MetricStatus;
  verdict: Verdict;
  /** Present on rows computed from samples. */
  significance?: RowSignificance;
}

export function changePct(base: number | null, next: number | null): number | null {
  if (base === null || next === null) return null;
  if (base === 0) return next === 0 ? 0 : null;
  return ((next - base) / Math.abs(base)) * 100;
}
