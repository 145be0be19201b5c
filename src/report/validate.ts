// The result document's schema (docs/result-schema.md) as code: every field compare, merge and
// report read is checked for presence and type before any of them sees the document, so a bad
// file is one line naming the field (`base.json: intervals[0].counters: expected an object, got
// null`) and exit 2, never a TypeError deep in a renderer, and never a verdict.
//
// Written by hand, not with a schema library: the checks are a few combinators, the messages are
// ours, and the encoded histograms need checks of their own (bounded decoding, a budget per
// document) that no JSON Schema validator would do. Fields the schema does not know are ignored
// (readers must ignore new optional fields); an optional field, when present, must have its type
// (`null` is not "absent" unless the schema says the field may be null).

import { HistogramDecodeError, inspectEncodedHistogram } from '../engine/stats/histograms';

/** A field that is not what the schema says; `path` is like `intervals[3].counters.handshakes`. */
export class FieldError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string
  ) {
    super(`${path}: ${problem}`);
    this.name = 'FieldError';
  }
}

/** Work done on encoded histograms while checking one document. */
interface Budget {
  histograms: number;
  inflatedBytes: number;
}

/**
 * The most inflated histogram bytes one document may hold: far beyond a real run (an hour of
 * per-second histograms inflates to a few tens of MiB), and checking it stays well under a second.
 */
export const MAX_DOCUMENT_INFLATED_BYTES = 256 * 2 ** 20;

type Check = (value: unknown, path: string, budget: Budget) => void;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string ${JSON.stringify(v.length > 24 ? v.slice(0, 24) + '…' : v)}`;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function fail(path: string, expected: string, got: unknown): never {
  throw new FieldError(path, `expected ${expected}, got ${describe(got)}`);
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface NumberOpts {
  /** Integers only (counts). */
  int?: boolean;
  /** Smallest value allowed (counts, durations: 0). */
  min?: number;
  max?: number;
}

function num(opts: NumberOpts = {}): Check {
  const what = opts.int ? (opts.min === 0 ? 'a count (an integer ≥ 0)' : 'an integer') : opts.min === 0 ? 'a number ≥ 0' : 'a number';
  return (v, path) => {
    // JSON can spell no NaN, but 1e999 parses to Infinity.
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, what, v);
    if (opts.int && !Number.isInteger(v)) fail(path, what, v);
    if (opts.min !== undefined && v < opts.min) fail(path, what, v);
    if (opts.max !== undefined && v > opts.max) fail(path, `a number ≤ ${opts.max}`, v);
  };
}

const count = num({ int: true, min: 0 });
const nonNegative = num({ min: 0 });
const anyNumber = num();

const str: Check = (v, path) => {
  if (typeof v !== 'string') fail(path, 'a string', v);
};

const bool: Check = (v, path) => {
  if (typeof v !== 'boolean') fail(path, 'true or false', v);
};

const isoTime: Check = (v, path) => {
  if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v) || Number.isNaN(Date.parse(v))) fail(path, 'an ISO 8601 time', v);
};

function oneOf(values: readonly unknown[]): Check {
  return (v, path) => {
    if (!values.includes(v)) fail(path, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v);
  };
}

function nullable(check: Check): Check {
  return (v, path, budget) => {
    if (v !== null) check(v, path, budget);
  };
}

function trueOnly(): Check {
  return (v, path) => {
    if (v !== true) fail(path, 'true', v);
  };
}

/** Optional fields are written `'name?'`. */
function obj(fields: Record<string, Check>): Check {
  const list = Object.entries(fields).map(([k, check]) => ({ key: k.replace(/\?$/, ''), optional: k.endsWith('?'), check }));
  return (v, path, budget) => {
    if (!isPlainObject(v)) fail(path, 'an object', v);
    for (const { key, optional, check } of list) {
      const field = v[key];
      if (field === undefined) {
        if (optional) continue;
        throw new FieldError(join(path, key), 'missing');
      }
      check(field, join(path, key), budget);
    }
  };
}

/** An object of any keys whose values all pass `check` (errors by reason, groups...). */
function record(check: Check): Check {
  return (v, path, budget) => {
    if (!isPlainObject(v)) fail(path, 'an object', v);
    for (const [k, field] of Object.entries(v)) check(field, `${path}[${JSON.stringify(k)}]`, budget);
  };
}

function arr(check: Check): Check {
  return (v, path, budget) => {
    if (!Array.isArray(v)) fail(path, 'an array', v);
    v.forEach((item, i) => check(item, `${path}[${i}]`, budget));
  };
}

const anyObject: Check = (v, path) => {
  if (!isPlainObject(v)) fail(path, 'an object', v);
};

const encodedHistogram: Check = (v, path, budget) => {
  try {
    const info = inspectEncodedHistogram(v);
    budget.histograms++;
    budget.inflatedBytes += info.inflatedBytes;
  } catch (e) {
    if (e instanceof HistogramDecodeError) throw new FieldError(path, e.message);
    throw e;
  }
  if (budget.inflatedBytes > MAX_DOCUMENT_INFLATED_BYTES) {
    throw new FieldError(path, `the document's histograms inflate past ${MAX_DOCUMENT_INFLATED_BYTES / 2 ** 20} MiB (${budget.histograms} of them so far)`);
  }
};

// ---- the schema ------------------------------------------------------------------------------

const LATENCY_FIELDS = ['handshake', 'connect', 'rtt', 'handshakeUncorrected', 'rttUncorrected', 'scheduleLag', 'request', 'requestUncorrected', 'ttfb'] as const;

const latencySummaryFields = {
  count,
  min: nonNegative,
  max: nonNegative,
  mean: nonNegative,
  stdev: nonNegative,
  p50: nonNegative,
  p90: nonNegative,
  p99: nonNegative,
  p99_9: nonNegative,
  p99_99: nonNegative,
};

const latencyStats = obj({ ...latencySummaryFields, encoded: encodedHistogram });
const latency = obj(Object.fromEntries(LATENCY_FIELDS.map((n) => [`${n}?`, latencyStats])));
const latencySummaries = obj(Object.fromEntries(LATENCY_FIELDS.map((n) => [`${n}?`, obj(latencySummaryFields)])));

const rateSummary = obj({ mean: nonNegative, stdev: nonNegative, min: nonNegative, max: nonNegative, 'intervals?': arr(nonNegative) });
const rates = obj(Object.fromEntries(['handshakesPerSec', 'connectsPerSec', 'roundTripsPerSec', 'requestsPerSec', 'bitsPerSec', 'bitsInPerSec', 'bitsOutPerSec'].map((n) => [`${n}?`, rateSummary])));

const errors = record(count);

/** The counts that a run's totals and each interval's counters both carry. */
const countFields = { handshakes: count, full: count, resumed: count, connects: count, bytesIn: count, bytesOut: count, roundTrips: count };

const httpCounts = { 'statuses?': record(count), 'headerBytes?': count, 'bodyBytes?': count };

const totals = obj({ ...countFields, 'started?': count, errors: count, ...httpCounts });

const counters = obj({
  ...countFields,
  // Written since the open loop counted its starts; an older document's intervals lack it.
  'started?': count,
  'fullHandshakeSent?': count,
  'fullHandshakeReceived?': count,
  'resumedHandshakeSent?': count,
  'resumedHandshakeReceived?': count,
  ...httpCounts,
  errors,
  'groups?': record(count),
});

const interval = obj({
  index: count,
  startMs: nonNegative,
  durationMs: nonNegative,
  counters,
  'histograms?': obj(Object.fromEntries(LATENCY_FIELDS.map((n) => [`${n}?`, encodedHistogram]))),
  'round?': count,
  'open?': count,
});

const round = obj({
  index: count,
  start: isoTime,
  duration: nonNegative,
  totals,
  errors,
  rates,
  latency,
  'interrupted?': trueOnly(),
});

const accounting = obj({
  unit: oneOf(['handshake', 'connection', 'request']),
  started: count,
  succeeded: count,
  failed: count,
  cutOff: count,
  inFlightAtEnd: count,
  backlogAtEnd: count,
});

const client = obj({
  workers: count,
  busyPct: nonNegative,
  'cpuUs?': obj({ user: nonNegative, system: nonNegative }),
  'cpuUsPerOp?': nonNegative,
  opUnit: oneOf(['handshake', 'round trip', 'MiB', 'connection', 'request']),
  queueDelayMeanUs: nonNegative,
  'lagP99Us?': nonNegative,
  saturated: bool,
  lateStarts: bool,
  'warning?': str,
});

const interrupted = obj({ signal: str });

const startAt = obj({ intended: isoTime, intendedMs: nonNegative, 'actualMs?': nonNegative, 'lateMs?': anyNumber, 'workerSpreadMs?': nonNegative });

const handshakeBytesStats = obj({ count, sent: nonNegative, received: nonNegative });

const shardRow = obj({
  shard: count,
  'of?': count,
  'host?': str,
  'node?': str,
  file: str,
  backend: str,
  opensslVersion: str,
  params: anyObject,
  start: isoTime,
  finish: isoTime,
  duration: nonNegative,
  'startAt?': startAt,
  startSkewMs: anyNumber,
  totals,
  errors,
  rates,
  latency: latencySummaries,
  'accounting?': accounting,
  'client?': client,
  'interrupted?': interrupted,
});

/** A document that has passed the version check: every field below. */
export const RESULT_SCHEMA = obj({
  tool: obj({ name: str, version: str }),
  openssl: obj({ version: str, source: oneOf(['node', 'path']), 'path?': nullable(str), 'builtOn?': nullable(str) }),
  backend: oneOf(['io_uring', 'epoll', 'iocp']),
  machine: obj({ cpuModel: str, cores: count, platform: str, arch: str, node: str }),
  target: obj({ host: str, port: num({ int: true, min: 0, max: 65535 }), embedded: bool }),
  params: anyObject,
  start: isoTime,
  finish: isoTime,
  duration: nonNegative,
  totals,
  errors,
  rates,
  latency,
  negotiated: obj({ protocol: nullable(str), cipher: nullable(str), group: nullable(str), alpn: nullable(str) }),
  'perConnection?': obj({ gbps: obj({ min: nonNegative, median: nonNegative, max: nonNegative }) }),
  'rateTarget?': obj({ requested: nonNegative, achieved: nonNegative, shortfallPct: nonNegative }),
  'intervals?': arr(interval),
  'rounds?': arr(round),
  'accounting?': accounting,
  'warmup?': obj({ duration: nonNegative, totals }),
  'afterWindow?': totals,
  'client?': client,
  'server?': obj({ handshakes: count, resumed: count, bytesIn: count, bytesOut: count, errors: count }),
  'interrupted?': interrupted,
  'endedEarly?': bool,
  'connectionLimit?': obj({ reason: str, wanted: count, held: count }),
  'errorRate?': obj({ ratio: num({ min: 0, max: 1 }), max: nonNegative }),
  'handshakeBytes?': obj({ 'full?': handshakeBytesStats, 'resumed?': handshakeBytesStats }),
  'groups?': record(count),
  'shard?': obj({ index: count, count, host: str, 'node?': str, 'rendezvous?': str, whole: obj({ connections: count, 'rate?': nonNegative, 'count?': count }) }),
  'startAt?': startAt,
  'merged?': obj({
    inputs: count,
    'of?': count,
    'missing?': arr(count),
    startSkewMs: anyNumber,
    'window?': obj({ start: isoTime, finish: isoTime, unionS: nonNegative, overlapS: nonNegative, rates: oneOf(['sum', 'consecutive']) }),
  }),
  'shards?': arr(shardRow),
  'connections?': obj({
    wanted: count,
    reached: count,
    heldAtEnd: count,
    'rampMs?': nonNegative,
    memory: obj({
      baselineRssBytes: count,
      peakRssBytes: count,
      perConnectionBytes: anyNumber,
      scope: oneOf(['client', 'client and embedded server']),
      'nativeAtEndBytes?': count,
      'cHeapAtEndBytes?': count,
    }),
  }),
  'sends?': obj({ count, bytes: count, meanBytes: nonNegative, vectored: count }),
});

/**
 * Checks a parsed document against the schema (after `schema` and `kind`, which the caller
 * checks for their own messages); throws FieldError naming the first field that is wrong.
 */
export function checkResultFields(value: Record<string, unknown>): void {
  const budget: Budget = { histograms: 0, inflatedBytes: 0 };
  RESULT_SCHEMA(value, '', budget);
  // What the merge relies on beyond types: a window that does not end before it starts.
  if (Date.parse(value.finish as string) < Date.parse(value.start as string)) throw new FieldError('finish', `${value.finish as string} is before start ${value.start as string}`);
}
