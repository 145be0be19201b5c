// Compares result documents metric by metric, for CI regression gates: NEW against one BASE
// (both best with --rounds: each round a sample) or against a history of baseline runs (each run
// a sample); see significance.ts for the method and docs/compare.md for how to read it.
//
// Only a few metrics gate — the kind's headline rate and the percentiles of its headline
// latency that the samples can speak for — and each gets one of three verdicts: regressed, no
// regression, inconclusive. The comparison's verdict: any regressed → regressed; else any
// inconclusive → inconclusive; else no regression. Everything else (other rates and latencies,
// spreads, maxima, totals, errors) is shown, with its interval and p-value where it has samples,
// but never decides.

import { LatencySummary, PERCENTILES } from '../engine/stats/histograms';
import { changePct, MetricRow, MetricUnit } from './metric_row';
import { Rates, ResultDocument } from './result';
import { historySamples, SamplePair, samplesOf } from './samples';
import { compareSamples, DEFAULT_ALPHA, GATED_LATENCY, MIN_TAIL_EVENTS, SampleSource } from './significance';
import { LATENCY_LABELS, RATE_LABELS } from './table';

export { changePct } from './metric_row';
export type { MetricRow, MetricStatus, MetricUnit, RowSignificance, Verdict } from './metric_row';

export type OverallVerdict = 'regressed' | 'no regression' | 'inconclusive';

/** Exit codes of `compare` and `bench ab`: 2 stays "bad input". */
export const EXIT_REGRESSED = 1;
export const EXIT_INCONCLUSIVE = 3;
/** What an inconclusive comparison exits with: its own code (default), 0, or 1. */
export type InconclusiveMode = 'exit' | 'pass' | 'fail';

export function exitCodeFor(verdict: OverallVerdict, mode: InconclusiveMode = 'exit'): number {
  if (verdict === 'regressed') return EXIT_REGRESSED;
  if (verdict === 'no regression') return 0;
  return mode === 'pass' ? 0 : mode === 'fail' ? EXIT_REGRESSED : EXIT_INCONCLUSIVE;
}

/** How the significance was judged, for the reader and for the JSON. */
export interface ComparisonMethod {
  /** What the samples are: rounds, baseline runs (history), per-second intervals, or per-second rates (older documents). */
  samples: SampleSource;
  /** Samples per side (before a cut-off last one is left out of the test); with a history, base is its runs. */
  n: { base: number; next: number };
  alpha: number;
  /** Of each one-sided bound (the intervals' ends): 1 - alpha; the intervals shown are 1 - 2·alpha. */
  confidence: number;
  test: 'Welch t on log figures (pooled-variance t when one side has one sample)';
  /** Holm over the gated rows for 'regressed'; none for 'no regression' (each row at 1 - alpha: an intersection-union test). */
  correction: 'holm';
  /** Gated rows that were tested: the family Holm's correction runs over. */
  gated: number;
  /** The history's files, oldest first (history mode only). */
  history?: string[];
}

/** Gated metrics that left the comparison inconclusive for one reason: why, and what would settle it. */
export interface InconclusiveReason {
  /** The metrics' labels, comma-separated. */
  metric: string;
  why: string;
  settle: string;
}

export interface Comparison {
  kind: ResultDocument['kind'];
  thresholdPct: number;
  /** regressed / no regression / inconclusive: see exitCodeFor for the exit code. */
  verdict: OverallVerdict;
  rows: MetricRow[];
  regressions: MetricRow[];
  /** The gated rows that are inconclusive, one line each. */
  inconclusive: InconclusiveReason[];
  /** What differs between the runs besides their results ('connections: 32 -> 4'): a comparison that is not like for like. */
  differences: string[];
  method: ComparisonMethod;
  /** What the reader must know about this comparison's statistics (missing histograms, seconds instead of rounds...). */
  notes: string[];
  /** Set by the command: the exit code this comparison gave under --inconclusive. */
  exitCode?: number;
}

export interface CompareOptions {
  thresholdPct: number;
  /** Family-wise significance level (default 0.05). */
  alpha?: number;
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
  return buildComparison(base, next, samplesOf(base, next), runDifferences(base, next), opts);
}

/**
 * NEW against a history of baseline runs (each run one sample, whatever rounds it had): one new
 * run is judged against the spread of the history. The Base column of tested rows is the
 * history's pooled figure; other rows show the newest history run.
 */
export function compareHistory(history: readonly ResultDocument[], next: ResultDocument, opts: CompareOptions & { files?: string[] }): Comparison {
  if (history.length === 0) throw new CompareError('--history holds no result documents');
  const other = history.find((d) => d.kind !== next.kind);
  if (other) throw new CompareError(`cannot compare a ${other.kind} result with a ${next.kind} result`);
  const newest = history.reduce((a, d) => (Date.parse(d.finish) > Date.parse(a.finish) ? d : a));
  const differences = [...new Set(history.flatMap((d) => runDifferences(d, next)))];
  const cmp = buildComparison(newest, next, historySamples(history, next), differences, opts);
  if (opts.files) cmp.method.history = opts.files;
  return cmp;
}

function buildComparison(base: ResultDocument, next: ResultDocument, pair: SamplePair, differences: string[], opts: CompareOptions): Comparison {
  const { thresholdPct } = opts;
  const alpha = opts.alpha ?? DEFAULT_ALPHA;
  const notes = [...pair.notes];
  const tested = new Map(compareSamples(base.kind, pair.base, pair.next, { thresholdPct, alpha }).map((r) => [r.id, r]));

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
    if (!b && !n && !tested.has(`rates.${key}.mean`)) continue;
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
  const regressions = rows.filter((r) => r.verdict === 'regressed');
  // Metrics left inconclusive for the same reason are named together, in one line.
  const inconclusive: InconclusiveReason[] = [];
  for (const r of rows.filter((x) => x.verdict === 'inconclusive')) {
    const why = r.significance?.why ?? '';
    const settle = r.significance?.settle ?? '';
    const same = inconclusive.find((x) => x.why === why && x.settle === settle);
    if (same) same.metric += `, ${r.label}`;
    else inconclusive.push({ metric: r.label, why, settle });
  }
  // Never a pass by default: no gated row at all (nothing measured, nothing testable) is inconclusive.
  const anyGated = rows.some((r) => r.gated);
  if (!anyGated) inconclusive.push({ metric: 'comparison', why: 'no gated metric could be computed', settle: 'check both documents measured something' });
  const verdict = regressions.length > 0 ? 'regressed' : inconclusive.length > 0 ? 'inconclusive' : 'no regression';
  return {
    kind: base.kind,
    thresholdPct,
    verdict,
    rows,
    regressions,
    inconclusive,
    differences,
    method: {
      samples: pair.base.source,
      n: { base: pair.base.samples.length, next: pair.next.samples.length },
      alpha,
      confidence: 1 - alpha,
      test: 'Welch t on log figures (pooled-variance t when one side has one sample)',
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
