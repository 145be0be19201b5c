// Compares two result documents metric by metric, for CI regression gates.
//
// Only metrics with a direction gate: every per-second rate's mean (higher is better), the
// median per-connection throughput (higher), and each latency percentile p50..p99.99 (lower).
// The rest (stdev, min/max of rates, max and mean latency, totals, errors) is shown but never
// fails a run: max latency is a single sample, and totals scale with the run's length.

import { LatencySummary, PERCENTILES } from '../engine/stats/histograms';
import { Rates, ResultDocument } from './result';
import { LATENCY_LABELS, RATE_LABELS } from './table';

export type MetricUnit = 'perSec' | 'bitsPerSec' | 'us' | 'count' | 'bytes' | 'gbps' | 'seconds' | 'pct';
export type MetricStatus = 'regressed' | 'improved' | 'unchanged' | 'info';

export interface MetricRow {
  /** Stable path into the result document, e.g. 'rates.handshakesPerSec.mean', 'latency.handshake.p99'. */
  id: string;
  label: string;
  unit: MetricUnit;
  base: number | null;
  next: number | null;
  /** (next - base) / base * 100; null when either side is missing or base is 0 and next is not. */
  changePct: number | null;
  /** Which direction is better; null for informational rows, which never regress. */
  better: 'higher' | 'lower' | null;
  status: MetricStatus;
}

export interface Comparison {
  kind: ResultDocument['kind'];
  thresholdPct: number;
  rows: MetricRow[];
  regressions: MetricRow[];
  /** What differs between the two runs besides their results ('connections: 32 -> 4'): a comparison that is not like for like. */
  differences: string[];
}

export class CompareError extends Error {
  readonly code = 'IOCPTLS_ERR_COMPARE';
  constructor(message: string) {
    super(message);
    this.name = 'CompareError';
  }
}

export function changePct(base: number | null, next: number | null): number | null {
  if (base === null || next === null) return null;
  if (base === 0) return next === 0 ? 0 : null;
  return ((next - base) / Math.abs(base)) * 100;
}

function statusOf(change: number | null, better: MetricRow['better'], thresholdPct: number): MetricStatus {
  if (better === null || change === null) return 'info';
  const gain = better === 'higher' ? change : -change;
  if (gain < -thresholdPct) return 'regressed';
  if (gain > thresholdPct) return 'improved';
  return 'unchanged';
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

const RATE_STATS = [
  ['mean', 'higher'],
  ['stdev', null],
  ['min', null],
  ['max', null],
] as const;

const LATENCY_STATS: ReadonlyArray<readonly [keyof LatencySummary, string, 'lower' | null]> = [
  ...PERCENTILES.map(([k, p]) => [k, `p${p}`, 'lower'] as const),
  ['max', 'max', null],
  ['mean', 'mean', null],
  ['stdev', 'stdev', null],
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

export function compareResults(base: ResultDocument, next: ResultDocument, opts: { thresholdPct: number }): Comparison {
  if (base.kind !== next.kind) {
    throw new CompareError(`cannot compare a ${base.kind} result with a ${next.kind} result`);
  }
  const { thresholdPct } = opts;
  const rows: MetricRow[] = [];
  const add = (id: string, label: string, unit: MetricUnit, b: unknown, n: unknown, better: MetricRow['better']) => {
    const bv = num(b);
    const nv = num(n);
    if (bv === null && nv === null) return;
    const change = changePct(bv, nv);
    rows.push({ id, label, unit, base: bv, next: nv, changePct: change, better, status: statusOf(change, better, thresholdPct) });
  };

  for (const key of Object.keys(RATE_LABELS) as Array<keyof Rates>) {
    const b = base.rates[key];
    const n = next.rates[key];
    if (!b && !n) continue;
    const unit: MetricUnit = key.startsWith('bits') ? 'bitsPerSec' : 'perSec';
    const label = unit === 'perSec' ? `${RATE_LABELS[key].label}/s` : RATE_LABELS[key].label;
    for (const [stat, better] of RATE_STATS) add(`rates.${key}.${stat}`, `${label} ${stat}`, unit, b?.[stat], n?.[stat], better);
  }

  const bp = base.perConnection?.gbps;
  const np = next.perConnection?.gbps;
  add('perConnection.gbps.median', 'Per-connection median', 'gbps', bp?.median, np?.median, 'higher');
  add('perConnection.gbps.min', 'Per-connection min', 'gbps', bp?.min, np?.min, null);
  add('perConnection.gbps.max', 'Per-connection max', 'gbps', bp?.max, np?.max, null);
  add('rateTarget.achieved', 'Rate target achieved', 'perSec', base.rateTarget?.achieved, next.rateTarget?.achieved, null);
  add('rateTarget.shortfallPct', 'Rate target shortfall', 'pct', base.rateTarget?.shortfallPct, next.rateTarget?.shortfallPct, null);

  for (const key of Object.keys(LATENCY_LABELS) as Array<keyof typeof LATENCY_LABELS>) {
    const b = base.latency[key];
    const n = next.latency[key];
    if (!b && !n) continue;
    for (const [stat, name, better] of LATENCY_STATS) {
      add(`latency.${key}.${stat}`, `${LATENCY_LABELS[key]} ${name}`, 'us', b?.[stat], n?.[stat], better);
    }
  }

  for (const [key, label, unit] of TOTALS) {
    // Counters this kind of run never uses (bytes in a handshake run) would be rows of zeros.
    if (base.totals[key] === 0 && next.totals[key] === 0) continue;
    add(`totals.${key}`, label, unit, base.totals[key], next.totals[key], null);
  }
  add('duration', 'Duration', 'seconds', base.duration, next.duration, null);

  const reasons = [...new Set([...Object.keys(base.errors), ...Object.keys(next.errors)])].sort();
  for (const r of reasons) add(`errors.${r}`, `Error: ${r}`, 'count', base.errors[r] ?? 0, next.errors[r] ?? 0, null);

  return { kind: base.kind, thresholdPct, rows, regressions: rows.filter((r) => r.status === 'regressed'), differences: runDifferences(base, next) };
}

/** The settings and facts of two runs that differ: flags, backend, OpenSSL, machine, target. */
export function runDifferences(base: ResultDocument, next: ResultDocument): string[] {
  const facts = (d: ResultDocument): Record<string, unknown> => ({
    ...Object.fromEntries(Object.entries(d.params ?? {}).filter(([k]) => k !== 'duration')),
    backend: d.backend,
    openssl: d.openssl?.version,
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
