// Compares two result documents metric by metric, for CI regression gates, with statistics
// over the samples each document carries (rounds, else per-second intervals): see
// significance.ts for the method and docs/compare.md for how to read it.
//
// Only a few metrics gate — the kind's headline rate and the percentiles of its headline
// latency that the samples can speak for — and a gated metric regresses only when the change
// is significant (Mann-Whitney U, Holm-corrected over the gated metrics, p < alpha) and beyond
// the threshold. Everything else (other rates and latencies, spreads, maxima, totals, errors)
// is shown, with its interval and p-value where it has samples, but never fails a run.

import { LatencySummary, PERCENTILES } from '../engine/stats/histograms';
import { changePct, MetricRow, MetricUnit } from './metric_row';
import { Rates, ResultDocument } from './result';
import { samplesOf } from './samples';
import { compareSamples, DEFAULT_ALPHA, DEFAULT_RESAMPLES, DEFAULT_SEED, GATED_LATENCY, MIN_TAIL_EVENTS, SampleSource } from './significance';
import { LATENCY_LABELS, RATE_LABELS } from './table';

export { changePct } from './metric_row';
export type { MetricRow, MetricStatus, MetricUnit, RowSignificance, Verdict } from './metric_row';

/** How the significance was judged, for the reader and for the JSON. */
export interface ComparisonMethod {
  /** What the samples are: rounds, per-second intervals, or per-second rates (older documents). */
  samples: SampleSource;
  /** Samples per side (before a cut-off last one is left out of the rank test). */
  n: { base: number; next: number };
  alpha: number;
  /** Of the confidence intervals: 1 - alpha. */
  confidence: number;
  test: 'Mann-Whitney U, two-sided';
  interval: 'percentile bootstrap';
  resamples: number;
  seed: number;
  correction: 'holm';
  /** Gated rows that were tested: the family Holm's correction runs over. */
  gated: number;
}

export interface Comparison {
  kind: ResultDocument['kind'];
  thresholdPct: number;
  rows: MetricRow[];
  regressions: MetricRow[];
  /** What differs between the two runs besides their results ('connections: 32 -> 4'): a comparison that is not like for like. */
  differences: string[];
  method: ComparisonMethod;
  /** What the reader must know about this comparison's statistics (missing histograms, too few samples...). */
  notes: string[];
}

export interface CompareOptions {
  thresholdPct: number;
  /** Family-wise significance level (default 0.05). */
  alpha?: number;
  resamples?: number;
  seed?: number;
}

export class CompareError extends Error {
  readonly code = 'IOCPTLS_ERR_COMPARE';
  constructor(message: string) {
    super(message);
    this.name = 'CompareError';
  }
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

const RATE_INFO = ['stdev', 'min', 'max'] as const;

const PERCENTILE_KEYS = PERCENTILES.map(([k, p]) => [k, p] as const);

const LATENCY_INFO: ReadonlyArray<readonly [keyof LatencySummary, string]> = [
  ['max', 'max'],
  ['mean', 'mean'],
  ['stdev', 'stdev'],
];

const TOTALS: ReadonlyArray<readonly [keyof ResultDocument['totals'], string, MetricUnit]> = [
  ['handshakes', 'Handshakes', 'count'],
  ['full', 'Full handshakes', 'count'],
  ['resumed', 'Resumed handshakes', 'count'],
  ['connects', 'Connects', 'count'],
  ['roundTrips', 'Round trips', 'count'],
  ['bytesIn', 'Bytes in', 'bytes'],
  ['bytesOut', 'Bytes out', 'bytes'],
  ['errors', 'Errors', 'count'],
];

export function compareResults(base: ResultDocument, next: ResultDocument, opts: CompareOptions): Comparison {
  if (base.kind !== next.kind) {
    throw new CompareError(`cannot compare a ${base.kind} result with a ${next.kind} result`);
  }
  const { thresholdPct } = opts;
  const alpha = opts.alpha ?? DEFAULT_ALPHA;
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  const seed = opts.seed ?? DEFAULT_SEED;
  const pair = samplesOf(base, next);
  const notes = [...pair.notes];
  const testable = pair.base.samples.length > 0 && pair.next.samples.length > 0;
  if (!testable) notes.push('no samples (neither intervals nor per-second rates) on one side: nothing could be tested');
  const tested = new Map(
    (testable ? compareSamples(base.kind, pair.base, pair.next, { thresholdPct, alpha, resamples, seed }) : []).map((r) => [r.id, r])
  );

  const rows: MetricRow[] = [];
  /** A row straight from the documents: shown, never gating. */
  const info = (id: string, label: string, unit: MetricUnit, b: unknown, n: unknown, better: MetricRow['better'] = null) => {
    const bv = num(b);
    const nv = num(n);
    if (bv === null && nv === null) return;
    rows.push({ id, label, unit, base: bv, next: nv, changePct: changePct(bv, nv), better, gated: false, status: 'info', verdict: null });
  };
  const fromSamples = (id: string) => {
    const r = tested.get(id);
    if (r) rows.push(r);
    return r !== undefined;
  };

  for (const key of Object.keys(RATE_LABELS) as Array<keyof Rates>) {
    const b = base.rates[key];
    const n = next.rates[key];
    if (!b && !n) continue;
    const unit: MetricUnit = key.startsWith('bits') ? 'bitsPerSec' : 'perSec';
    const label = unit === 'perSec' ? `${RATE_LABELS[key].label}/s` : RATE_LABELS[key].label;
    if (!fromSamples(`rates.${key}.mean`)) info(`rates.${key}.mean`, `${label} mean`, unit, b?.mean, n?.mean, 'higher');
    for (const stat of RATE_INFO) info(`rates.${key}.${stat}`, `${label} ${stat}`, unit, b?.[stat], n?.[stat]);
  }

  const bp = base.perConnection?.gbps;
  const np = next.perConnection?.gbps;
  // One figure per run, not a sample per round or second: shown, not tested.
  info('perConnection.gbps.median', 'Per-connection median', 'gbps', bp?.median, np?.median, 'higher');
  info('perConnection.gbps.min', 'Per-connection min', 'gbps', bp?.min, np?.min);
  info('perConnection.gbps.max', 'Per-connection max', 'gbps', bp?.max, np?.max);
  info('rateTarget.achieved', 'Rate target achieved', 'perSec', base.rateTarget?.achieved, next.rateTarget?.achieved);
  info('rateTarget.shortfallPct', 'Rate target shortfall', 'pct', base.rateTarget?.shortfallPct, next.rateTarget?.shortfallPct);

  for (const key of Object.keys(LATENCY_LABELS) as Array<keyof typeof LATENCY_LABELS>) {
    const b = base.latency[key];
    const n = next.latency[key];
    if (!b && !n) continue;
    for (const [stat, p] of PERCENTILE_KEYS) {
      if (!fromSamples(`latency.${key}.${stat}`)) info(`latency.${key}.${stat}`, `${LATENCY_LABELS[key]} p${p}`, 'us', b?.[stat], n?.[stat], 'lower');
    }
    for (const [stat, name] of LATENCY_INFO) info(`latency.${key}.${stat}`, `${LATENCY_LABELS[key]} ${name}`, 'us', b?.[stat], n?.[stat]);
  }

  for (const [key, label, unit] of TOTALS) {
    // Counters this kind of run never uses (bytes in a handshake run) would be rows of zeros.
    if (base.totals[key] === 0 && next.totals[key] === 0) continue;
    info(`totals.${key}`, label, unit, base.totals[key], next.totals[key]);
  }
  info('duration', 'Duration', 'seconds', base.duration, next.duration);

  const reasons = [...new Set([...Object.keys(base.errors), ...Object.keys(next.errors)])].sort();
  for (const r of reasons) info(`errors.${r}`, `Error: ${r}`, 'count', base.errors[r] ?? 0, next.errors[r] ?? 0);

  // The headline latency's percentiles that had too few events to be tested: said once, not per row.
  const gatedLatency = GATED_LATENCY[base.kind];
  const untested = rows.filter((r) => gatedLatency && r.id.startsWith(`latency.${gatedLatency}.`) && r.significance?.note?.startsWith('too few events'));
  if (untested.length > 0) {
    notes.push(`not tested, too few events per sample (a percentile needs ${MIN_TAIL_EVENTS} above it in each): ${untested.map((r) => r.label).join(', ')}`);
  }
  const gatedRows = rows.filter((r) => r.gated && r.significance?.p !== null && r.significance?.p !== undefined);
  const tooFew = gatedRows.find((r) => r.significance?.note?.includes('cannot reach'))?.significance?.note;
  if (tooFew) notes.push(`${tooFew}: use more rounds (docs/compare.md)`);
  return {
    kind: base.kind,
    thresholdPct,
    rows,
    regressions: rows.filter((r) => r.status === 'regressed'),
    differences: runDifferences(base, next),
    method: {
      samples: pair.base.source,
      n: { base: pair.base.samples.length, next: pair.next.samples.length },
      alpha,
      confidence: 1 - alpha,
      test: 'Mann-Whitney U, two-sided',
      interval: 'percentile bootstrap',
      resamples,
      seed,
      correction: 'holm',
      gated: gatedRows.length,
    },
    notes,
  };
}

/** The settings and facts of two runs that differ: flags, backend, OpenSSL, machine, target. */
export function runDifferences(base: ResultDocument, next: ResultDocument): string[] {
  const facts = (d: ResultDocument): Record<string, unknown> => ({
    ...Object.fromEntries(Object.entries(d.params ?? {}).filter(([k]) => k !== 'duration')),
    backend: d.backend,
    // Two builds of one release differ too (a distribution's libssl next to Node's own).
    openssl: d.openssl && `${d.openssl.version}${d.openssl.path ? ` (${d.openssl.path})` : ''}`,
    // OpenSSL 3.0 and 3.5 default to different key exchanges (X25519, X25519MLKEM768): not like for like.
    group: d.negotiated?.group ?? undefined,
    cpu: d.machine ? `${d.machine.cpuModel} x ${d.machine.cores}` : undefined,
    node: d.machine?.node,
    target: d.target?.embedded ? 'embedded server' : `${d.target?.host}:${d.target?.port}`,
  });
  const b = facts(base);
  const n = facts(next);
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(b), ...Object.keys(n)])]) {
    const bv = b[k] ?? '-';
    const nv = n[k] ?? '-';
    if (String(bv) !== String(nv)) out.push(`${k}: ${bv} -> ${nv}`);
  }
  return out;
}
