// Compares two sets of samples of the same benchmark — rounds, or per-second intervals — metric
// by metric, as benchstat does: for each metric, the change of the whole-run figure, its
// bootstrap confidence interval, and a Mann-Whitney U p-value over the samples; then Holm's
// correction over the metrics that gate, and the verdict.
//
// This knows nothing of files or rendering: `compare` feeds it the samples of two result
// documents (samples.ts), and an interleaved A/B runner can feed it rounds it measured itself.
//
// What is tested, per metric:
// - a rate (handshakes/s, round trips/s, bits/s): the whole-run figure is Σcount / Σtime; the
//   interval resamples whole samples and recomputes that ratio (a short sample weighs by its
//   length); the rank test compares the samples' own rates.
// - a latency percentile: the whole-run figure is the percentile of all samples' histograms
//   added; the interval resamples samples and adds their histograms (never averages
//   percentiles); the rank test compares each sample's own percentile. A percentile gates only
//   where the samples hold enough events above it to have one (MIN_TAIL_EVENTS).

import type { CounterSnapshot } from '../engine/stats/counters';
import { PERCENTILES, type Histogram } from '../engine/stats/histograms';
import { changePct, MetricRow, MetricUnit, RowSignificance } from './metric_row';
import { LATENCY_NAMES, Rates, ResultKind } from './result';
import { bootstrapChanges, ChangeInterval } from './stats/bootstrap';
import { HistogramGroup } from './stats/histogram_group';
import { holmAdjust } from './stats/holm';
import { mannWhitneyU, smallestP } from './stats/mann_whitney';
import { seedFor } from './stats/rng';
import { LATENCY_LABELS, RATE_LABELS } from './table';

export type LatencyName = (typeof LATENCY_NAMES)[number];

/** One sample: a round, or one measured second. */
export interface Sample {
  durationMs: number;
  counters: Pick<CounterSnapshot, 'handshakes' | 'connects' | 'roundTrips' | 'bytesIn' | 'bytesOut'>;
  /** Its own latency histograms (µs), encoded or not; absent when the source has none. */
  histograms?: Partial<Record<LatencyName, Histogram | string>>;
}

/** Where samples came from: rounds (--rounds), the per-second intervals, or (older documents) per-second rates alone. */
export type SampleSource = 'rounds' | 'intervals' | 'rates';

export interface SampleSet {
  source: SampleSource;
  samples: Sample[];
  /** Whether the samples carry latency histograms (false: latency cannot be tested). */
  histograms: boolean;
}

export interface SignificanceOptions {
  thresholdPct: number;
  /** Family-wise significance level of the gated rows; the intervals are at 1 - alpha. */
  alpha: number;
  /** Bootstrap replicates (latency may use fewer on very large documents: see LATENCY_WORK_BUDGET). */
  resamples?: number;
  seed?: number;
}

export const DEFAULT_ALPHA = 0.05;
export const DEFAULT_RESAMPLES = 2000;
export const DEFAULT_SEED = 1;
/** A percentile gates only when the median sample has at least this many events above it: p99 needs 1,000 events per sample. */
export const MIN_TAIL_EVENTS = 10;
/** Bucket additions allowed per latency histogram name; beyond it the replicates are cut (never below MIN_LATENCY_RESAMPLES). */
const LATENCY_WORK_BUDGET = 4e7;
const MIN_LATENCY_RESAMPLES = 400;

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
  throughput: [
    { key: 'bitsPerSec', count: (c) => (c.bytesIn + c.bytesOut) * 8, gate: true },
    { key: 'bitsInPerSec', count: (c) => c.bytesIn * 8, gate: false },
    { key: 'bitsOutPerSec', count: (c) => c.bytesOut * 8, gate: false },
  ],
};

/**
 * The latency that gates, per kind: what the benchmark is about. TCP connect time is part of the
 * handshake latency (measured from the connect); uncorrected latencies restate the corrected
 * ones; start lag measures the client. Those are tested and shown, but do not gate: every extra
 * gated metric costs the test power under the family-wise correction.
 */
export const GATED_LATENCY: Record<ResultKind, LatencyName | undefined> = { handshake: 'handshake', pingpong: 'rtt', throughput: undefined };

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Samples long enough for the rank test: at least half the group's median length (drops a cut-off last second or an interrupted round). */
function testable(set: SampleSet): number[] {
  const m = median(set.samples.map((s) => s.durationMs));
  return set.samples.flatMap((s, i) => (s.durationMs > 0 && s.durationMs >= m / 2 ? [i] : []));
}

interface Pending {
  row: MetricRow;
  p: number | null;
}

function rankTest(x: number[], y: number[]): Pick<RowSignificance, 'p' | 'test'> {
  if (x.length === 0 || y.length === 0) return { p: null, test: null };
  const r = mannWhitneyU(x, y);
  return { p: r.p, test: r.method };
}

export function compareSamples(kind: ResultKind, base: SampleSet, next: SampleSet, o: SignificanceOptions): MetricRow[] {
  const resamples = o.resamples ?? DEFAULT_RESAMPLES;
  const seed = o.seed ?? DEFAULT_SEED;
  const level = 1 - o.alpha;
  const tb = testable(base);
  const tn = testable(next);
  const n = { base: tb.length, next: tn.length };
  // With few samples even a total separation is not significant: say so rather than a bare '~'.
  const floor = smallestP(n.base, n.next);
  const tooFew = floor >= o.alpha ? `${n.base} vs ${n.next} samples cannot reach p < ${o.alpha} (smallest possible p ${floor.toPrecision(2)})` : undefined;
  const pending: Pending[] = [];

  const push = (
    id: string,
    label: string,
    unit: MetricUnit,
    better: 'higher' | 'lower',
    b: number | null,
    x: number | null,
    gate: boolean,
    sig: RowSignificance
  ) => {
    const row: MetricRow = { id, label, unit, base: b, next: x, changePct: changePct(b, x), better, gated: gate, status: 'info', verdict: null, significance: sig };
    pending.push({ row, p: sig.p });
  };

  for (const m of RATE_METRICS[kind]) {
    const sum = (set: SampleSet, w?: ArrayLike<number>) => {
      let count = 0;
      let ms = 0;
      set.samples.forEach((s, i) => {
        const k = w ? w[i] : 1;
        count += k * m.count(s.counters);
        ms += k * s.durationMs;
      });
      return ms > 0 ? (count * 1000) / ms : NaN;
    };
    const total = (set: SampleSet) => set.samples.reduce((t, s) => t + m.count(s.counters), 0);
    if (!m.gate && total(base) === 0 && total(next) === 0) continue;
    const b = sum(base);
    const x = sum(next);
    const ci = bootstrapChanges(base.samples.length, next.samples.length, (w) => [sum(base, w)], (w) => [sum(next, w)], 1, {
      resamples,
      level,
      seed: seedFor(seed, `rates.${m.key}`),
    })[0];
    const rate = (set: SampleSet, idx: number[]) => idx.map((i) => (m.count(set.samples[i].counters) * 1000) / set.samples[i].durationMs);
    const t = rankTest(rate(base, tb), rate(next, tn));
    const unit: MetricUnit = m.key.startsWith('bits') ? 'bitsPerSec' : 'perSec';
    const label = unit === 'perSec' ? `${RATE_LABELS[m.key].label}/s mean` : `${RATE_LABELS[m.key].label} mean`;
    push(`rates.${m.key}.mean`, label, unit, 'higher', Number.isFinite(b) ? b : null, Number.isFinite(x) ? x : null, m.gate, {
      n,
      ...t,
      pAdjusted: null,
      ci,
      note: m.gate ? tooFew : undefined,
    });
  }

  if (base.histograms && next.histograms) {
    for (const name of LATENCY_NAMES) {
      const has = (set: SampleSet) => set.samples.some((s) => s.histograms?.[name] !== undefined);
      if (!has(base) && !has(next)) continue;
      pending.push(...latencyRows(kind, name, base, next, tb, tn, { resamples, level, seed, n, tooFew }));
    }
  }

  // Holm over the gated rows that were tested; the verdict compares the adjusted p with alpha.
  const gated = pending.filter((r) => r.row.gated && r.p !== null);
  const adjusted = holmAdjust(gated.map((r) => r.p!));
  gated.forEach((r, i) => (r.row.significance!.pAdjusted = adjusted[i]));
  for (const { row } of pending) {
    if (!row.gated) continue;
    const sig = row.significance!;
    const significant = sig.pAdjusted !== null && sig.pAdjusted < o.alpha;
    const gain = row.changePct === null ? 0 : row.better === 'higher' ? row.changePct : -row.changePct;
    row.status = significant && gain < -o.thresholdPct ? 'regressed' : significant && gain > o.thresholdPct ? 'improved' : 'unchanged';
    row.verdict = row.status === 'unchanged' ? '~' : row.status;
  }
  return pending.map((r) => r.row);
}

function latencyRows(
  kind: ResultKind,
  name: LatencyName,
  base: SampleSet,
  next: SampleSet,
  tb: number[],
  tn: number[],
  c: { resamples: number; level: number; seed: number; n: RowSignificance['n']; tooFew?: string }
): Pending[] {
  const gb = new HistogramGroup(base.samples.map((s) => s.histograms?.[name]));
  const gn = new HistogramGroup(next.samples.map((s) => s.histograms?.[name]));
  const ps = PERCENTILES.map(([, p]) => p);
  const ones = (k: number) => new Uint32Array(k).fill(1);
  const pb = gb.percentiles(ones(gb.size), ps);
  const pn = gn.percentiles(ones(gn.size), ps);
  // Fewer replicates when the histograms are huge (long runs with wide latency spreads).
  const work = gb.workPerReplicate + gn.workPerReplicate;
  const resamples = Math.max(MIN_LATENCY_RESAMPLES, Math.min(c.resamples, Math.floor(LATENCY_WORK_BUDGET / Math.max(1, work))));
  const cis: Array<ChangeInterval | null> = bootstrapChanges(gb.size, gn.size, (w) => gb.percentiles(w, ps), (w) => gn.percentiles(w, ps), ps.length, {
    resamples,
    level: c.level,
    seed: seedFor(c.seed, `latency.${name}`),
  });
  // Each sample's own percentiles, for the rank test (samples that recorded nothing have none).
  const own = (g: HistogramGroup, idx: number[]) => idx.filter((i) => g.samples[i].total > 0).map((i) => g.samplePercentiles(i, ps));
  const ob = own(gb, tb);
  const on = own(gn, tn);
  const events = Math.min(median(tb.map((i) => gb.samples[i].total)), median(tn.map((i) => gn.samples[i].total)));
  const gatedName = GATED_LATENCY[kind] === name;
  return PERCENTILES.map(([key, p], k): Pending => {
    const needed = Math.ceil(MIN_TAIL_EVENTS / (1 - p / 100));
    const enough = events >= needed;
    const t = enough ? rankTest(ob.map((v) => v[k]), on.map((v) => v[k])) : { p: null, test: null };
    const note = !enough
      ? `too few events per sample to test p${p} (needs ${needed.toLocaleString('en-US')}, has ${Math.round(events).toLocaleString('en-US')})`
      : gatedName
        ? c.tooFew
        : undefined;
    const b = Number.isFinite(pb[k]) ? pb[k] : null;
    const x = Number.isFinite(pn[k]) ? pn[k] : null;
    const row: MetricRow = {
      id: `latency.${name}.${key}`,
      label: `${LATENCY_LABELS[name]} p${p}`,
      unit: 'us',
      base: b,
      next: x,
      changePct: changePct(b, x),
      better: 'lower',
      gated: gatedName && enough,
      status: 'info',
      verdict: null,
      significance: { n: { base: ob.length, next: on.length }, ...t, pAdjusted: null, ci: cis[k], note },
    };
    return { row, p: t.p };
  });
}
