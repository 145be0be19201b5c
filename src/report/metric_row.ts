// One row of a comparison: a metric of two runs, its change, and — for the metrics that have
// samples — the change's confidence interval, the test's p-value and the verdict. Shared by the
// comparison of documents (compare.ts), of sample sets (significance.ts) and by every renderer
// (terminal, markdown, HTML, JSON).

export type MetricUnit = 'perSec' | 'bitsPerSec' | 'us' | 'count' | 'bytes' | 'gbps' | 'seconds' | 'pct';

/**
 * A gated row's verdict, and the comparison's: 'regressed' (worse, significantly and beyond the
 * threshold), 'no regression' (the interval's bad end is within the threshold: no change for the
 * worse beyond it at the stated confidence), 'inconclusive' (the samples cannot tell). null on rows
 * that do not gate.
 */
export type Verdict = 'regressed' | 'no regression' | 'inconclusive' | null;

/** For colour and the HTML page: a gated row's verdict, 'improved' when it is also significantly better beyond the threshold; 'info' for rows that never gate. */
export type MetricStatus = 'regressed' | 'improved' | 'unchanged' | 'inconclusive' | 'info';

/** A confidence interval of a change, percent: each end is a one-sided bound at 1 - alpha, so the pair is a 1 - 2·alpha interval. */
export interface ChangeInterval {
  low: number;
  high: number;
  /** Two-sided level of the pair (1 - 2·alpha). */
  level: number;
}

export interface RowSignificance {
  /** Samples in the test, per side (rounds, runs or seconds; a cut-off one left out). */
  n: { base: number; next: number };
  /** One-sided p-value that NEW is worse (the same t as the change and the interval); null when the metric could not be tested (see note). */
  p: number | null;
  /** p after Holm's correction over the gated rows: what 'regressed' compares with alpha. null on rows that do not gate. */
  pAdjusted: number | null;
  /** 'welch': Welch's t on the logs; 'pooled': pooled-variance t (one side has a single sample). */
  test: 'welch' | 'pooled' | null;
  /** Confidence interval of the change (exp of the log interval, minus 1). */
  ci: ChangeInterval | null;
  /** The run-to-run (or round-to-round) noise the test measured: the standard deviation of one sample's log figure, as a percentage. */
  noisePct?: number | null;
  /** The smallest change for the worse these samples detect with 80% power, percent (positive). */
  detectablePct?: number | null;
  /** The change of the pooled whole-run figures (Base, New): shown for information, not what is tested. */
  pooledChangePct?: number | null;
  /** Why the row was not tested, or does not gate although it has a direction. */
  note?: string;
  /** Inconclusive rows: why, in one line. */
  why?: string;
  /** Inconclusive rows: what would settle it. */
  settle?: string;
}

export interface MetricRow {
  /** Stable path into the result document, e.g. 'rates.handshakesPerSec.mean', 'latency.handshake.p99'. */
  id: string;
  label: string;
  unit: MetricUnit;
  base: number | null;
  next: number | null;
  /**
   * Rows with samples: the tested change, exp(mean log(NEW) − mean log(BASE)) − 1 (ratio of the
   * samples' geometric means). Other rows: (next - base) / base * 100. null when it cannot be computed.
   */
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
