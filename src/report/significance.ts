// Compares two sets of samples of the same benchmark — rounds, baseline runs, or per-second
// intervals — metric by metric, and gives each gated metric one of three verdicts: regressed,
// no regression, inconclusive (docs/compare.md).
//
// One statistic gives the sign, the size, the interval and the p-value of a change: Welch's t on
// the logs of the samples' own figures (each sample's rate; each sample's percentile). The change
// is exp(mean log NEW − mean log BASE) − 1, its interval the same t's, its p the same t's, so they
// cannot disagree. When one side has a single sample (one new run against a history of baseline
// runs) the pooled-variance t takes the noise from the other side.
//
// The rule, per gated metric, with g the log change in the good direction and thr the log of the
// threshold's limit (log(1 − 5%) for a rate, −log(1 + 5%) for a latency):
//   regressed      g is significantly below 0 (one-sided p, Holm-adjusted over the gated
//                  metrics, below alpha) and the estimate is beyond thr;
//   no regression  the one-sided (1 − alpha) lower bound of g is above thr (each metric at
//                  alpha: "all are fine" is an intersection-union test, which needs no correction);
//   inconclusive   otherwise, and always when the samples are seconds of one run (they do not
//                  carry run-to-run noise) or a side has nothing to measure.
//
// This knows nothing of files or rendering: `compare` feeds it the samples of result documents
// (samples.ts), and `bench ab` the rounds it measured itself. The whole-run figures (Σcount/Σtime;
// the percentile of all histograms added) are kept in the rows for information.

import type { CounterSnapshot } from '../engine/stats/counters';
import { PERCENTILES, type Histogram } from '../engine/stats/histograms';
import { median } from '../engine/stats/median';
import { changePct, MetricRow, MetricUnit, RowSignificance } from './metric_row';
import { LATENCY_NAMES, Rates, ResultKind } from './result';
import { HistogramGroup } from './stats/histogram_group';
import { holmAdjust } from './stats/holm';
import { tCdf, tQuantile, twoSampleT, TwoSampleT } from './stats/student_t';
import { LATENCY_LABELS, RATE_LABELS } from './table';

export type LatencyName = (typeof LATENCY_NAMES)[number];

/** One sample: a round, a whole run (history), or one measured second. */
export interface Sample {
  durationMs: number;
  counters: Pick<CounterSnapshot, 'handshakes' | 'connects' | 'roundTrips' | 'bytesIn' | 'bytesOut'>;
  /** Its own latency histograms (µs), encoded or not; absent when the source has none. */
  histograms?: Partial<Record<LatencyName, Histogram | string>>;
}

/**
 * Where samples came from: rounds (--rounds), whole runs (a history of baseline documents, one
 * sample each), the per-second intervals, or (older documents) per-second rates alone.
 */
export type SampleSource = 'rounds' | 'runs' | 'intervals' | 'rates';

export interface SampleSet {
  source: SampleSource;
  samples: Sample[];
  /** Whether the samples carry latency histograms (false: latency cannot be tested). */
  histograms: boolean;
}

export interface SignificanceOptions {
  thresholdPct: number;
  /** Family-wise significance level of 'regressed'; each 'no regression' is at confidence 1 - alpha. */
  alpha: number;
}

export const DEFAULT_ALPHA = 0.05;
/** The power the "what would settle it" figures and the minimum detectable change are computed for. */
export const POWER = 0.8;
/** The default recipe (docs/compare.md, bench/calibration.js): rounds per run that see a 10% change at 5% run-to-run noise 90% of the time. */
export const RECIPE_ROUNDS = 8;
/**
 * The fewest samples, both sides together, that may decide a verdict: a t-test on 2 vs 2 has 2
 * degrees of freedom, and its noise estimate is so unstable that an A/A pair of a real machine read
 * "regressed" (2 rounds of bench ab, p 0.032): the test is exact only for normal noise, and with two
 * samples a side nothing checks that. 3 vs 3 (the smallest sample the issue's -60% case needs) and
 * a history of 5 runs against one new run decide.
 */
export const MIN_DECISION_SAMPLES = 6;
/** Baseline runs a history needs before one new run can be judged against it (docs/compare.md). */
export const RECIPE_HISTORY = 10;
/** A percentile is tested only when the median sample has at least this many events above it: p99 needs 1,000 events per sample. */
export const MIN_TAIL_EVENTS = 10;
/**
 * The highest headline percentile that gates. p99.9 and p99.99 are tested and shown, never gate:
 * in a round they are its few slowest events, and every extra gated metric costs Holm power.
 */
export const MAX_GATED_PERCENTILE = 99;

interface RateMetric {
  key: keyof Rates;
  count: (c: Sample['counters']) => number;
  /** Gates: the kind's headline rate. The others restate it (connects ≈ handshakes, in + out = total). */
  gate: boolean;
}

const RATE_METRICS: Record<ResultKind, RateMetric[]> = {
  handshake: [
    { key: 'handshakesPerSec', count: (c) => c.handshakes, gate: true },
    { key: 'connectsPerSec', count: (c) => c.connects, gate: false },
  ],
  pingpong: [{ key: 'roundTripsPerSec', count: (c) => c.roundTrips, gate: true }],
  http: [{ key: 'requestsPerSec', count: (c) => c.roundTrips, gate: true }],
  // Capacity is the count reached, not a rate: the ramp's rate is what the flag asked for. Round trips, when sent, gate.
  connections: [{ key: 'roundTripsPerSec', count: (c) => c.roundTrips, gate: true }],
  throughput: [
    { key: 'bitsPerSec', count: (c) => (c.bytesIn + c.bytesOut) * 8, gate: true },
    { key: 'bitsInPerSec', count: (c) => c.bytesIn * 8, gate: false },
    { key: 'bitsOutPerSec', count: (c) => c.bytesOut * 8, gate: false },
  ],
};

/**
 * The latency that gates, per kind: what the benchmark is about. TCP connect time is part of the
 * handshake latency (measured from the connect); uncorrected latencies restate the corrected
 * ones; start lag measures the client. Those are tested and shown, but do not gate.
 */
export const GATED_LATENCY: Record<ResultKind, LatencyName | undefined> = { handshake: 'handshake', pingpong: 'rtt', throughput: undefined, connections: 'rtt', http: 'request' };

/** Samples long enough to test: at least half the group's median length (drops a cut-off last second or an interrupted round). */
function testable(set: SampleSet): number[] {
  const m = median(set.samples.map((s) => s.durationMs));
  return set.samples.flatMap((s, i) => (s.durationMs > 0 && s.durationMs >= m / 2 ? [i] : []));
}

/** The limit of the good-direction log change beyond which a metric has regressed. */
export function logThreshold(better: 'higher' | 'lower', thresholdPct: number): number {
  const t = thresholdPct / 100;
  return better === 'higher' ? (t >= 1 ? -Infinity : Math.log(1 - t)) : -Math.log(1 + t);
}

const pct = (logRatio: number) => (Math.exp(logRatio) - 1) * 100;
const fmtPct = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`;

/** One-sided critical t plus the t for POWER: how many standard errors a change must be to be seen. */
function detectK(level: number, df: number): number {
  return tQuantile(1 - level, df) + tQuantile(POWER, df);
}

/** The smallest change for the worse (percent, positive) detected with POWER at one-sided level `level`. */
export function detectablePct(t: Pick<TwoSampleT, 'se' | 'df'>, level: number): number {
  return (1 - Math.exp(-detectK(level, t.df) * t.se)) * 100;
}

/**
 * Samples needed to tell a change of the threshold's size with POWER at `level`, given the noise
 * of one sample (sd of its log figure): per side for rounds; baseline runs for a history judged
 * against one new run (null: no history is enough, one new run is too noisy for the threshold).
 */
export function samplesNeeded(sd: number, thrLog: number, level: number, mode: 'rounds' | 'runs', max = 500): number | null {
  const limit = Math.abs(thrLog);
  if (!(limit > 0) || !Number.isFinite(limit)) return limit === Infinity ? 2 : null;
  for (let n = 2; n <= max; n++) {
    const se = mode === 'rounds' ? sd * Math.sqrt(2 / n) : sd * Math.sqrt(1 / n + 1);
    const df = mode === 'rounds' ? 2 * n - 2 : n - 1;
    if (detectK(level, df) * se <= limit) return n;
  }
  return null;
}

/** The noise the round-count warning assumes: a quiet runner's round-to-round spread (docs/compare.md). */
export const TYPICAL_NOISE = 0.05;

/**
 * A warning for a round count below the default recipe: the smallest change it detects at
 * TYPICAL_NOISE (Holm over three gated metrics), and what the recipe detects. null at or above it.
 */
export function roundsWarning(rounds: number, thresholdPct: number, alpha: number): string | null {
  if (rounds >= RECIPE_ROUNDS) return null;
  if (2 * rounds < MIN_DECISION_SAMPLES)
    return `${rounds} rounds per side can never decide: a verdict needs ${MIN_DECISION_SAMPLES} rounds or more in all, so every one will be inconclusive (use --rounds ${RECIPE_ROUNDS})`;
  const sd = Math.log(1 + TYPICAL_NOISE);
  const at = (n: number) => detectablePct({ se: sd * Math.sqrt(2 / n), df: 2 * n - 2 }, alpha / 3);
  return (
    `${rounds} rounds per side detect only changes of ${at(rounds).toFixed(0)}% or more at ${TYPICAL_NOISE * 100}% round-to-round noise ` +
    `(${RECIPE_ROUNDS} rounds: ${at(RECIPE_ROUNDS).toFixed(0)}%); smaller changes, and any "no regression" within ${thresholdPct}%, will likely be inconclusive`
  );
}

interface Tested {
  row: MetricRow;
  t: TwoSampleT | null;
  /** Why the row is inconclusive whatever its figures say (no samples, seconds only...). */
  blocked?: { why: string; settle: string };
}

/** The log figures of a metric, per sample (finite only). */
const logs = (values: number[]) => values.filter((v) => v > 0 && Number.isFinite(v)).map(Math.log);

export function compareSamples(kind: ResultKind, base: SampleSet, next: SampleSet, o: SignificanceOptions): MetricRow[] {
  const tb = testable(base);
  const tn = testable(next);
  const source = next.source === 'runs' || base.source === 'runs' ? 'runs' : base.source;
  const pending: Tested[] = [];

  // A side with nothing measured: every gated row of it is inconclusive, never a pass.
  const emptySide = tn.length === 0 ? 'NEW' : tb.length === 0 ? 'BASE' : null;
  const empty = emptySide
    ? {
        why: `${emptySide} measured nothing: ${(emptySide === 'NEW' ? next : base).samples.length === 0 ? 'it has no samples' : 'no sample has a measured window (duration 0)'}`,
        settle: `rerun ${emptySide} (check that its measured window was not empty: --duration, errors, an interrupted run)`,
      }
    : undefined;
  const perSecond =
    source === 'intervals' || source === 'rates'
      ? {
          why: 'only per-second samples of one run on each side: seconds of one run do not carry run-to-run noise',
          settle: `run both with --rounds ${RECIPE_ROUNDS} (docs/compare.md), or judge NEW against a --history of ${RECIPE_HISTORY}+ baseline runs`,
        }
      : undefined;

  for (const m of RATE_METRICS[kind]) {
    const total = (set: SampleSet) => set.samples.reduce((t, s) => t + m.count(s.counters), 0);
    const ms = (set: SampleSet) => set.samples.reduce((t, s) => t + s.durationMs, 0);
    if (!m.gate && total(base) === 0 && total(next) === 0) continue;
    const whole = (set: SampleSet) => (ms(set) > 0 ? (total(set) * 1000) / ms(set) : null);
    // A sample that counted nothing in its window is a rate of (almost) zero, not a missing one: half an event keeps its log finite.
    const rate = (set: SampleSet, idx: number[]) => idx.map((i) => (Math.max(0.5, m.count(set.samples[i].counters)) * 1000) / set.samples[i].durationMs);
    const unit: MetricUnit = m.key.startsWith('bits') ? 'bitsPerSec' : 'perSec';
    const label = unit === 'perSec' ? `${RATE_LABELS[m.key].label}/s mean` : `${RATE_LABELS[m.key].label} mean`;
    const x = logs(rate(base, tb));
    const y = logs(rate(next, tn));
    pending.push(tested(`rates.${m.key}.mean`, label, unit, 'higher', whole(base), whole(next), m.gate, x, y, m.gate ? (empty ?? perSecond) : undefined));
  }

  if (base.histograms && next.histograms && !empty) {
    for (const name of LATENCY_NAMES) {
      const has = (set: SampleSet) => set.samples.some((s) => s.histograms?.[name] !== undefined);
      if (!has(base) && !has(next)) continue;
      pending.push(...latencyRows(kind, name, base, next, tb, tn, perSecond));
    }
  }

  decide(pending, o, source);
  return pending.map((r) => r.row);
}

function tested(
  id: string,
  label: string,
  unit: MetricUnit,
  better: 'higher' | 'lower',
  b: number | null,
  x: number | null,
  gated: boolean,
  logBase: number[],
  logNext: number[],
  blocked?: { why: string; settle: string },
  untested?: string
): Tested {
  const note = untested;
  const t = untested ? null : twoSampleT(logBase, logNext);
  const sig: RowSignificance = {
    n: { base: logBase.length, next: logNext.length },
    p: null,
    pAdjusted: null,
    test: t?.method ?? null,
    ci: null,
    noisePct: t ? pct(t.sd) : null,
    detectablePct: null,
    pooledChangePct: changePct(b, x),
    note,
  };
  const mean = (v: number[]) => v.reduce((a, c) => a + c, 0) / v.length;
  // A row that is not tested shows the pooled figures' own change: a sample statistic next to no
  // interval would read as a contradiction of Base and New (232 ms -> 123 ms shown as +13%).
  const change = t ? pct(t.diff) : untested ? changePct(b, x) : logBase.length && logNext.length ? pct(mean(logNext) - mean(logBase)) : null;
  const row: MetricRow = { id, label, unit, base: b, next: x, changePct: change, better, gated, status: gated ? 'inconclusive' : 'info', verdict: null, significance: sig };
  if (t) {
    const g = better === 'higher' ? t.diff : -t.diff;
    sig.p = t.se > 0 ? tCdf(g / t.se, t.df) : g < 0 ? 0 : g > 0 ? 1 : 0.5;
  }
  return { row, t, blocked };
}

/** Holm over the gated rows' one-sided p, then each gated row's verdict, interval and detectable change. */
function decide(pending: Tested[], o: SignificanceOptions, source: SampleSource): void {
  const gated = pending.filter((r) => r.row.gated && r.row.significance!.p !== null);
  const adjusted = holmAdjust(gated.map((r) => r.row.significance!.p!));
  gated.forEach((r, i) => (r.row.significance!.pAdjusted = adjusted[i]));
  // The first Holm step tests at alpha / m: the change must clear that to be seen at all.
  const firstLevel = o.alpha / Math.max(1, gated.length);
  for (const { row, t, blocked } of pending) {
    const sig = row.significance!;
    if (t) {
      const q = t.se > 0 ? tQuantile(1 - o.alpha, t.df) * t.se : 0;
      sig.ci = { low: pct(t.diff - q), high: pct(t.diff + q), level: 1 - 2 * o.alpha };
      sig.detectablePct = t.se > 0 ? detectablePct(t, row.gated ? firstLevel : o.alpha) : 0;
    }
    if (!row.gated) continue;
    const better = row.better as 'higher' | 'lower';
    const thr = logThreshold(better, o.thresholdPct);
    const why = (s: { why: string; settle: string }) => {
      row.verdict = 'inconclusive';
      row.status = 'inconclusive';
      sig.why = s.why;
      sig.settle = s.settle;
    };
    if (blocked) {
      why(blocked);
      continue;
    }
    if (!t) {
      why({
        why: `${sig.n.base} vs ${sig.n.next} samples: no estimate of the run-to-run noise`,
        settle: `run both with --rounds ${RECIPE_ROUNDS}, or judge NEW against a --history of ${RECIPE_HISTORY}+ baseline runs`,
      });
      continue;
    }
    if (sig.n.base + sig.n.next < MIN_DECISION_SAMPLES) {
      why({
        why: `${sig.n.base} vs ${sig.n.next} samples: too few to weigh the run-to-run noise (a verdict needs ${MIN_DECISION_SAMPLES} or more, both sides together)`,
        settle: `run both with --rounds ${RECIPE_ROUNDS}, or judge NEW against a --history of ${RECIPE_HISTORY}+ baseline runs`,
      });
      continue;
    }
    const g = better === 'higher' ? t.diff : -t.diff;
    const lowG = g - (t.se > 0 ? tQuantile(1 - o.alpha, t.df) * t.se : 0);
    const highG = g + (t.se > 0 ? tQuantile(1 - o.alpha, t.df) * t.se : 0);
    if (sig.pAdjusted !== null && sig.pAdjusted < o.alpha && g < thr) {
      row.verdict = 'regressed';
      row.status = 'regressed';
    } else if (lowG > thr) {
      row.verdict = 'no regression';
      row.status = lowG > 0 && g > -thr ? 'improved' : 'unchanged';
    } else {
      const limit = fmtPct(better === 'higher' ? -o.thresholdPct : o.thresholdPct);
      const ci = sig.ci!;
      const mode = source === 'runs' ? 'runs' : 'rounds';
      const need = samplesNeeded(t.sd, thr, firstLevel, mode);
      const noise = `${pct(t.sd).toFixed(1)}% per ${mode === 'runs' ? 'run' : 'round'}`;
      const detect = `the smallest change these samples can detect is ${sig.detectablePct!.toFixed(1)}%`;
      const straddle =
        highG > thr && lowG <= thr
          ? `the interval [${fmtPct(ci.low)}, ${fmtPct(ci.high)}] straddles the threshold ${limit}`
          : `worse beyond the threshold ${limit} by the estimate, but not significantly (p ${sig.pAdjusted!.toPrecision(2)} after Holm)`;
      let settle: string;
      if (o.thresholdPct === 0) settle = `a threshold of 0% can never be shown to hold: give --threshold; ${detect}`;
      else if (need === null) {
        settle =
          mode === 'runs'
            ? `the run-to-run noise (${noise}) is too large for a ${o.thresholdPct}% threshold with one new run, however long the history: write every run (history and new) with --rounds ${RECIPE_ROUNDS} so that each run's figure averages its rounds, or compare BASE NEW with rounds, or raise --threshold; ${detect}`
            : `at the measured noise (${noise}) no practical number of rounds tells ${o.thresholdPct}%: quieten the machine or raise --threshold; ${detect}`;
      } else {
        settle =
          mode === 'runs'
            ? `about ${need} baseline runs in the history at the measured noise (${noise}) would tell a ${o.thresholdPct}% change; ${detect}`
            : `about ${need} rounds per side at the measured noise (${noise}) would tell a ${o.thresholdPct}% change; ${detect}`;
      }
      why({ why: straddle, settle });
    }
  }
}

function latencyRows(
  kind: ResultKind,
  name: LatencyName,
  base: SampleSet,
  next: SampleSet,
  tb: number[],
  tn: number[],
  perSecond?: { why: string; settle: string }
): Tested[] {
  const gb = new HistogramGroup(base.samples.map((s) => s.histograms?.[name]));
  const gn = new HistogramGroup(next.samples.map((s) => s.histograms?.[name]));
  const ps = PERCENTILES.map(([, p]) => p);
  const ones = (k: number) => new Uint32Array(k).fill(1);
  const pb = gb.percentiles(ones(gb.size), ps);
  const pn = gn.percentiles(ones(gn.size), ps);
  // Each sample's own percentiles (samples that recorded nothing have none).
  const own = (g: HistogramGroup, idx: number[]) => idx.filter((i) => g.samples[i].total > 0).map((i) => g.samplePercentiles(i, ps));
  const ob = own(gb, tb);
  const on = own(gn, tn);
  const events = Math.min(median(tb.map((i) => gb.samples[i].total)), median(tn.map((i) => gn.samples[i].total)));
  const gatedName = GATED_LATENCY[kind] === name;
  return PERCENTILES.map(([key, p], k): Tested => {
    const needed = Math.ceil(MIN_TAIL_EVENTS / (1 - p / 100) - 1e-9);
    const enough = events >= needed;
    const has = Math.round(events).toLocaleString('en-US');
    const note = enough ? undefined : `too few events per sample to test p${p} (needs ${needed.toLocaleString('en-US')}, has ${has})`;
    const b = Number.isFinite(pb[k]) ? pb[k] : null;
    const x = Number.isFinite(pn[k]) ? pn[k] : null;
    const gate = gatedName && enough && p <= MAX_GATED_PERCENTILE;
    return tested(
      `latency.${name}.${key}`,
      `${LATENCY_LABELS[name]} p${p}`,
      'us',
      'lower',
      b,
      x,
      gate,
      logs(ob.map((v) => v[k])),
      logs(on.map((v) => v[k])),
      gate ? perSecond : undefined,
      note
    );
  });
}
