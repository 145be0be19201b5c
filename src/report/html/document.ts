// Reading a result document for display, defensively. The page is built from a file that may
// be old, come from a newer iocptls, be merged from shards, or be hostile: every number is
// checked before it reaches a chart's geometry, and the optional sections (per-second
// intervals, uncorrected histograms, client cost, accounting, warmup, shards) are read when
// present and simply skipped when not. Shard rows are not typed anywhere yet (merge is future
// work), so they are read as plain objects.

import { CounterSnapshot } from '../../engine/stats/counters';
import { Histogram, decodeHistogram } from '../../engine/stats/histograms';
import { IntervalRecord, LatencyStats, PRIMARY_RATE, Rates, ResultDocument } from '../result';

/**
 * The document as the report reads it: every section of ResultDocument (the optional ones —
 * intervals, uncorrected histograms, client cost, accounting, warmup, interrupted — may be
 * absent), plus the per-shard rows a merged document keeps.
 */
export type ReportDocument = ResultDocument & {
  /** Documents merged from several shards keep one row per shard. */
  shards?: Array<Record<string, unknown>>;
};

export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
export const str = (v: unknown): string | null => (typeof v === 'string' ? v : v === null || v === undefined ? null : String(v));
/** The value as an object to read fields from ({} when it is not one). */
export const fields = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The latency that a kind's report is about: the round trip for ping-pong, the handshake otherwise. */
export function primaryLatencyKey(doc: ResultDocument): 'handshake' | 'rtt' | 'request' {
  return doc.kind === 'pingpong' ? 'rtt' : doc.kind === 'http' ? 'request' : 'handshake';
}

/** A latency entry that looks like LatencyStats (has a count), else undefined. */
export function latencyEntry(doc: ResultDocument, key: string): LatencyStats | undefined {
  const v = isRecord(doc.latency) ? (doc.latency as Record<string, unknown>)[key] : undefined;
  return isRecord(v) && num(v.count) !== null ? (v as unknown as LatencyStats) : undefined;
}

/** Decodes an encoded histogram (a string, or an object carrying `encoded`); null when absent or unreadable. */
export function decodeSafely(value: unknown): Histogram | null {
  const encoded = typeof value === 'string' ? value : isRecord(value) && typeof value.encoded === 'string' ? value.encoded : null;
  if (!encoded || !encoded.startsWith('HIST')) return null;
  try {
    const h = decodeHistogram(encoded);
    return h.totalCount > 0 && Number.isFinite(h.totalCount) ? h : null;
  } catch {
    return null;
  }
}

export type RateUnit = 'perSec' | 'bitsPerSec';

/** What the "over time" chart shows for each kind. */
export const PRIMARY_SERIES: Record<ResultDocument['kind'], { title: string; unit: RateUnit; select: (c: CounterSnapshot) => number }> = {
  handshake: { title: 'Handshakes per second', unit: 'perSec', select: (c) => c.handshakes },
  throughput: { title: 'Throughput', unit: 'bitsPerSec', select: (c) => (c.bytesIn + c.bytesOut) * 8 },
  pingpong: { title: 'Round trips per second', unit: 'perSec', select: (c) => c.roundTrips },
  connections: { title: 'Connections established per second', unit: 'perSec', select: (c) => c.handshakes },
  http: { title: 'Requests per second', unit: 'perSec', select: (c) => c.roundTrips },
};

export interface TimelinePoint {
  /** Seconds since the first measured interval started. */
  t: number;
  /** Length, s. */
  dt: number;
  rate: number;
  /** Errors by reason in this interval; undefined when the document does not say. */
  errors?: Record<string, number>;
  /** The interval's own histograms, when recorded. */
  histograms?: IntervalRecord['histograms'];
}

export interface Timeline {
  title: string;
  unit: RateUnit;
  points: TimelinePoint[];
  /** Where the numbers came from: per-interval records (with errors), or only the rates' per-second values. */
  source: 'intervals' | 'rates';
}

function intervalRecords(doc: ReportDocument): IntervalRecord[] {
  if (!Array.isArray(doc.intervals)) return [];
  return doc.intervals.filter(
    (r): r is IntervalRecord => isRecord(r) && num(r.startMs) !== null && (num(r.durationMs) ?? 0) > 0 && isRecord(r.counters)
  );
}

/** The counters with every field a finite number (0 when missing or garbled). */
function safeCounters(raw: unknown): CounterSnapshot {
  const c = isRecord(raw) ? raw : {};
  const n = (k: string) => num(c[k]) ?? 0;
  return {
    handshakes: n('handshakes'),
    resumed: n('resumed'),
    full: n('full'),
    connects: n('connects'),
    bytesIn: n('bytesIn'),
    bytesOut: n('bytesOut'),
    roundTrips: n('roundTrips'),
    started: n('started'),
    errors: isRecord(c.errors) ? (c.errors as Record<string, number>) : {},
  };
}

function errorsOf(c: CounterSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  if (isRecord(c.errors)) for (const [k, v] of Object.entries(c.errors)) if ((num(v) ?? 0) > 0) out[k] = v as number;
  return out;
}

/** The primary rate second by second: from `intervals` when the document has them, else from `rates.<primary>.intervals`. */
export function primaryTimeline(doc: ReportDocument): Timeline {
  const series = PRIMARY_SERIES[doc.kind];
  const records = intervalRecords(doc);
  if (records.length > 0) {
    const t0 = Math.min(...records.map((r) => r.startMs));
    const points = records
      .map((r) => {
        const counters = safeCounters(r.counters);
        return {
          t: (r.startMs - t0) / 1000,
          dt: r.durationMs / 1000,
          rate: ((num(series.select(counters)) ?? 0) * 1000) / r.durationMs,
          errors: errorsOf(counters),
          histograms: isRecord(r.histograms) ? r.histograms : undefined,
        };
      })
      .sort((a, b) => a.t - b.t);
    return { title: series.title, unit: series.unit, points, source: 'intervals' };
  }
  return { title: series.title, unit: series.unit, points: rateTimeline(doc, PRIMARY_RATE[doc.kind]), source: 'rates' };
}

/** Per-second values of one rate, laid out as consecutive 1 s intervals, the last one ending at the run's duration. */
export function rateTimeline(doc: ResultDocument, key: keyof Rates): TimelinePoint[] {
  const rate: unknown = isRecord(doc.rates) ? doc.rates[key] : undefined;
  const values = isRecord(rate) && Array.isArray(rate.intervals) ? rate.intervals.map(num) : [];
  const duration = num(doc.duration);
  return values.flatMap((v, i) => {
    if (v === null) return [];
    const dt = duration !== null && i === values.length - 1 && duration > i && duration < i + 1 ? duration - i : 1;
    return [{ t: i, dt, rate: v }];
  });
}

/** A plain value of a free-form object for display ("–" when missing). */
export function display(v: unknown): string {
  if (v === undefined || v === null) return '–';
  if (typeof v === 'number') return Number.isFinite(v) ? (Number.isInteger(v) ? String(v) : v.toFixed(3).replace(/0+$/, '').replace(/\.$/, '')) : '–';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  try {
    return JSON.stringify(v);
  } catch {
    return '?';
  }
}
