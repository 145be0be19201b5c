// `iocptls merge`: one result document from the documents of shards that ran together (or of
// unsharded runs against one target). Everything is added exactly: counts summed, HDR histograms
// decoded, added and re-encoded (never averaged: a percentile of a sum is not a sum of
// percentiles), per-second intervals aligned by wall clock and summed with their histograms, and
// the rates recomputed from the aligned intervals. Each input keeps a row in `shards`.
import { addCounters, CounterSnapshot, emptyCounters } from '../engine/stats/counters';
import { encodeHistogram, Histogram, mergeHistograms } from '../engine/stats/histograms';
import { IntervalSample, INTERVAL_MS, mergeIntervalSamples } from '../engine/stats/intervals';
import type { Accounting } from '../engine/stats/recorder';
import type { ClientInput } from './client_cost';
import { buildResult, LATENCY_NAMES, ResultDocument, ShardRow, StartAt, Totals } from './result';

export interface MergeInput {
  doc: ResultDocument;
  /** Where the document came from, for messages and the shard rows. */
  file: string;
}

/** Inputs that cannot be merged; the message is one line, fit to print as is. */
export class MergeError extends Error {
  readonly code = 'IOCPTLS_ERR_MERGE';
  constructor(message: string) {
    super(message);
    this.name = 'MergeError';
  }
}

export interface Merged {
  doc: ResultDocument;
  /** Things worth saying that do not stop the merge (a missing shard, settings that differ). */
  warnings: string[];
}

/** The load parameters that shards split (and a merge adds up); every other parameter should agree. */
const LOAD_PARAMS = ['connections', 'rate', 'count', 'workers', 'serverWorkers'] as const;
/** Parameters that may differ between shards without making them different runs. */
const FREE_PARAMS = new Set<string>([...LOAD_PARAMS, 'bind']);
/** Starts further apart than this blur per-second sums: say so. */
export const SKEW_WARN_MS = 100;

export function mergeResults(inputs: readonly MergeInput[]): Merged {
  if (inputs.length === 0) throw new MergeError('nothing to merge: give the result documents of the shards');
  const warnings: string[] = [];
  checkMergeable(inputs, warnings);
  const sorted = [...inputs].sort((a, b) => (a.doc.shard?.index ?? 0) - (b.doc.shard?.index ?? 0));
  const docs = sorted.map((i) => i.doc);
  const first = docs[0];
  const kind = first.kind;

  // Each input's window start, for the skew between them.
  const starts = docs.map((d) => Date.parse(d.start));
  const earliest = Math.min(...starts);
  const startSkewMs = Math.max(...starts) - earliest;
  if (startSkewMs > SKEW_WARN_MS) {
    warnings.push(
      `the shards' windows opened up to ${startSkewMs.toFixed(0)} ms apart: per-second sums add seconds that only partly overlap (start them with one --start-at, clocks in sync)`
    );
  }

  const totals = emptyCounters();
  for (const d of docs) addCounters(totals, countersOf(d.totals, d.errors));
  const histograms: Partial<Record<(typeof LATENCY_NAMES)[number], Histogram>> = {};
  for (const name of LATENCY_NAMES) {
    const parts = docs.flatMap((d) => (d.latency[name]?.encoded ? [d.latency[name]!.encoded] : []));
    if (parts.length > 0) histograms[name] = mergeHistograms(parts);
  }
  const requested = docs.reduce((t, d) => t + (d.rateTarget?.requested ?? 0), 0);
  const params = { ...first.params };
  for (const k of LOAD_PARAMS) {
    const values = docs.map((d) => d.params[k]).filter((v): v is number => typeof v === 'number');
    if (values.length > 0) params[k] = values.reduce((t, v) => t + v, 0);
  }
  delete params.bind;

  const doc = buildResult({
    kind,
    target: first.target,
    backend: first.backend,
    params,
    start: new Date(earliest),
    finish: new Date(Math.max(...docs.map((d) => Date.parse(d.finish)))),
    totals,
    intervals: alignIntervals(docs),
    histograms,
    negotiated: docs.find((d) => d.negotiated.protocol !== null)?.negotiated ?? first.negotiated,
    requestedRate: requested > 0 ? requested : undefined,
    openssl: first.openssl,
    tool: first.tool,
    machine: first.machine,
    accounting: sumAccounting(docs),
    client: mergedClient(docs),
    interrupted: docs.find((d) => d.interrupted)?.interrupted?.signal,
    endedEarly: docs.some((d) => d.endedEarly),
    maxErrorRate: first.errorRate?.max,
  });

  if (docs.every((d) => d.warmup)) {
    doc.warmup = { duration: Math.max(...docs.map((d) => d.warmup!.duration)), totals: sumTotals(docs.map((d) => d.warmup!.totals)) };
  }
  if (docs.every((d) => d.afterWindow)) doc.afterWindow = sumTotals(docs.map((d) => d.afterWindow!));
  if (docs.every((d) => d.server)) {
    const s = { handshakes: 0, resumed: 0, bytesIn: 0, bytesOut: 0, errors: 0 };
    for (const d of docs) for (const k of Object.keys(s) as Array<keyof typeof s>) s[k] += d.server![k];
    doc.server = s;
  }
  const perConnection = mergedPerConnection(docs);
  if (perConnection) doc.perConnection = perConnection;
  if (doc.client) {
    // One client-bound shard makes the sum suspect: the merged report says which one.
    const bound = sorted.find((i) => i.doc.client?.saturated);
    if (bound && !doc.client.saturated) {
      doc.client.saturated = true;
      doc.client.warning = `shard ${label(bound)}: ${bound.doc.client!.warning ?? 'the client was the bottleneck'}`;
    }
  }
  const startAt = mergedStartAt(docs, warnings);
  if (startAt) doc.startAt = startAt;

  const of = first.shard?.count;
  const missing = of !== undefined ? Array.from({ length: of }, (_, i) => i).filter((i) => !docs.some((d) => d.shard!.index === i)) : [];
  if (missing.length > 0) warnings.push(`merged ${docs.length} of ${of} shards: ${missing.length === 1 ? 'shard' : 'shards'} ${missing.join(', ')} missing`);
  doc.merged = { inputs: docs.length, of, missing: missing.length ? missing : undefined, startSkewMs: round3(startSkewMs) };
  doc.shards = sorted.map((i, k) => shardRow(i, k, Date.parse(i.doc.start) - earliest));
  return { doc, warnings };
}

function label(i: MergeInput): string {
  const s = i.doc.shard;
  return s ? `${s.index}/${s.count}${s.host ? ` (${s.host})` : ''}` : i.file;
}

/** Refuses inputs that are not parts of one run: different kinds, targets, shard counts or runs; a shard twice. */
function checkMergeable(inputs: readonly MergeInput[], warnings: string[]): void {
  const [a] = inputs;
  const targetOf = (d: ResultDocument) => (d.target.embedded ? 'the embedded server' : `${d.target.host}:${d.target.port}`);
  for (const i of inputs) {
    if (i.doc.shards || i.doc.merged) throw new MergeError(`${i.file} is already a merged document: merge the shards' own documents`);
    if (!i.doc.intervals) throw new MergeError(`${i.file} has no per-second intervals (an older iocptls wrote it): its seconds cannot be aligned with the others'`);
  }
  for (const b of inputs.slice(1)) {
    if (b.doc.kind !== a.doc.kind) throw new MergeError(`cannot merge a ${a.doc.kind} result (${a.file}) with a ${b.doc.kind} result (${b.file})`);
    if (targetOf(b.doc) !== targetOf(a.doc)) {
      throw new MergeError(`cannot merge results of different targets: ${targetOf(a.doc)} (${a.file}) and ${targetOf(b.doc)} (${b.file})`);
    }
    if (!a.doc.shard !== !b.doc.shard) {
      const [s, u] = a.doc.shard ? [a, b] : [b, a];
      throw new MergeError(`${s.file} is shard ${s.doc.shard!.index}/${s.doc.shard!.count} but ${u.file} is not a shard: merge the shards of one run, or unsharded runs only`);
    }
    if (a.doc.shard && b.doc.shard) {
      if (a.doc.shard.count !== b.doc.shard.count) {
        throw new MergeError(`cannot merge shards of different runs: ${a.file} is shard ${a.doc.shard.index}/${a.doc.shard.count}, ${b.file} is shard ${b.doc.shard.index}/${b.doc.shard.count}`);
      }
      const wa = JSON.stringify(a.doc.shard.whole);
      const wb = JSON.stringify(b.doc.shard.whole);
      if (wa !== wb) throw new MergeError(`cannot merge shards of different runs: ${a.file} is part of ${describeWhole(a.doc)}, ${b.file} of ${describeWhole(b.doc)}`);
    }
  }
  const seen = new Map<number, string>();
  for (const i of inputs) {
    if (!i.doc.shard) continue;
    const other = seen.get(i.doc.shard.index);
    if (other !== undefined) throw new MergeError(`shard ${i.doc.shard.index}/${i.doc.shard.count} appears twice: ${other} and ${i.file}`);
    seen.set(i.doc.shard.index, i.file);
  }
  // Settings that should be one run's: say where they differ (it may be the point, so not refused).
  const keys = new Set(inputs.flatMap((i) => Object.keys(i.doc.params)));
  for (const k of [...keys].sort()) {
    if (FREE_PARAMS.has(k)) continue;
    const values = new Set(inputs.map((i) => JSON.stringify(i.doc.params[k] ?? null)));
    if (values.size > 1) warnings.push(`the inputs differ in ${k}: ${inputs.map((i) => `${JSON.stringify(i.doc.params[k] ?? null)} (${i.file})`).join(', ')}`);
  }
  const versions = new Set(inputs.map((i) => i.doc.openssl.version));
  if (versions.size > 1) warnings.push(`the inputs ran different OpenSSL builds: ${[...versions].join(', ')}`);
}

function describeWhole(d: ResultDocument): string {
  const w = d.shard!.whole;
  return [`-c ${w.connections}`, w.rate && `--rate ${w.rate}`, w.count && `-n ${w.count}`].filter(Boolean).join(' ');
}

function countersOf(t: Totals, errors: Record<string, number>): CounterSnapshot {
  const { handshakes, full, resumed, connects, bytesIn, bytesOut, roundTrips } = t;
  return { handshakes, full, resumed, connects, bytesIn, bytesOut, roundTrips, started: t.started ?? 0, errors: { ...errors } };
}

function sumTotals(list: readonly Totals[]): Totals {
  const sum: Totals = { handshakes: 0, full: 0, resumed: 0, connects: 0, bytesIn: 0, bytesOut: 0, roundTrips: 0, started: 0, errors: 0 };
  for (const t of list) {
    for (const k of ['handshakes', 'full', 'resumed', 'connects', 'bytesIn', 'bytesOut', 'roundTrips', 'errors'] as const) sum[k] += t[k];
    sum.started! += t.started ?? 0;
  }
  return sum;
}

function sumAccounting(docs: readonly ResultDocument[]): Accounting | undefined {
  if (!docs.every((d) => d.accounting)) return undefined;
  const sum: Accounting = { unit: docs[0].accounting!.unit, started: 0, succeeded: 0, failed: 0, cutOff: 0, inFlightAtEnd: 0, backlogAtEnd: 0 };
  for (const d of docs) {
    const a = d.accounting!;
    sum.started += a.started;
    sum.succeeded += a.succeeded;
    sum.failed += a.failed;
    sum.cutOff += a.cutOff;
    sum.inFlightAtEnd += a.inFlightAtEnd;
    sum.backlogAtEnd += a.backlogAtEnd;
  }
  return sum;
}

/**
 * The inputs' intervals on one wall-clock timeline: interval i of a shard goes to the second
 * nearest to where it started, counted from the earliest start of all. Shards started together
 * (--start-at) have their i-th intervals in second i. Within a second, counts and histograms are
 * added and the length is the mean of the shards' (as for the workers of one run), so each
 * second's rate is the sum of the shards' rates.
 */
export function alignIntervals(docs: readonly ResultDocument[]): IntervalSample[] {
  const all = docs.flatMap((d, shard) => (d.intervals ?? []).map((i) => ({ shard, i })));
  if (all.length === 0) return [];
  const t0 = Math.min(...all.map((x) => x.i.startMs));
  const seconds = new Map<number, Map<number, IntervalSample>>();
  for (const { shard, i } of all) {
    const second = Math.round((i.startMs - t0) / INTERVAL_MS);
    let perShard = seconds.get(second);
    if (!perShard) seconds.set(second, (perShard = new Map()));
    const own = perShard.get(shard);
    const histograms = { ...(i.histograms ?? {}) };
    if (!own) {
      perShard.set(shard, { index: second, startMs: i.startMs, endMs: i.startMs + i.durationMs, durationMs: i.durationMs, counters: addCounters(emptyCounters(), i.counters), histograms });
      continue;
    }
    // Two intervals of one shard in one second (a short one cut at the end): they follow each other, so their lengths add.
    addCounters(own.counters, i.counters);
    own.durationMs += i.durationMs;
    own.endMs = Math.max(own.endMs, i.startMs + i.durationMs);
    for (const [n, e] of Object.entries(histograms)) {
      const name = n as keyof typeof histograms;
      own.histograms![name] = own.histograms![name] ? encodeHistogram(mergeHistograms([own.histograms![name]!, e!])) : e;
    }
  }
  return [...seconds.keys()]
    .sort((a, b) => a - b)
    .map((second) => {
      const list = [...seconds.get(second)!.values()];
      const m = mergeIntervalSamples(list);
      m.index = second;
      const names = new Set(list.flatMap((s) => Object.keys(s.histograms ?? {}) as Array<keyof NonNullable<IntervalSample['histograms']>>));
      if (names.size > 0) {
        m.histograms = {};
        for (const n of names) m.histograms[n] = encodeHistogram(mergeHistograms(list.flatMap((s) => s.histograms?.[n] ?? [])));
      }
      return m;
    });
}

/**
 * The client side of all shards: CPU time adds up (so CPU per operation is recomputed from the
 * merged totals); loop busy share and queueing are the shards' own, weighted by their workers
 * and operations (the windows are equally long), since the documents keep shares, not the raw
 * loop times.
 */
function mergedClient(docs: readonly ResultDocument[]): ClientInput | undefined {
  if (!docs.every((d) => d.client)) return undefined;
  const kind = docs[0].kind;
  const ops = (t: Totals) => (kind === 'handshake' ? t.handshakes : kind === 'pingpong' ? t.roundTrips : (t.bytesIn + t.bytesOut) / 2 ** 20);
  let workers = 0;
  let busyWeighted = 0;
  let cpu: { user: number; system: number } | undefined = { user: 0, system: 0 };
  let dispatched = 0;
  let queuedMs = 0;
  for (const d of docs) {
    const c = d.client!;
    workers += c.workers;
    busyWeighted += (c.busyPct / 100) * c.workers;
    if (c.cpuUs && cpu) {
      cpu.user += c.cpuUs.user;
      cpu.system += c.cpuUs.system;
    } else cpu = undefined;
    const n = ops(d.totals);
    dispatched += n;
    queuedMs += (c.queueDelayMeanUs * n) / 1000;
  }
  const busy = workers > 0 ? busyWeighted / workers : 0;
  return { workers, cpuUs: cpu, busyMs: busy * 1000, waitMs: (1 - busy) * 1000, dispatched, queuedMs, busy };
}

/**
 * Throughput runs: the spread across every shard's connections. min and max are exact; the
 * median is the shards' medians' median weighted by their connections (the documents keep no
 * per-connection list), exact when the shards are alike.
 */
function mergedPerConnection(docs: readonly ResultDocument[]): ResultDocument['perConnection'] | undefined {
  const parts = docs.filter((d) => d.perConnection);
  if (parts.length === 0) return undefined;
  const weighted = parts
    .map((d) => ({ median: d.perConnection!.gbps.median, weight: typeof d.params.connections === 'number' ? d.params.connections : 1 }))
    .sort((x, y) => x.median - y.median);
  const half = weighted.reduce((t, w) => t + w.weight, 0) / 2;
  let acc = 0;
  let median = weighted[weighted.length - 1].median;
  for (let k = 0; k < weighted.length; k++) {
    acc += weighted[k].weight;
    if (acc >= half) {
      // Exactly half below: the middle falls between two inputs (an even count), as a median takes the mean of the two middle values.
      median = acc === half && k + 1 < weighted.length ? (weighted[k].median + weighted[k + 1].median) / 2 : weighted[k].median;
      break;
    }
  }
  return {
    gbps: {
      min: Math.min(...parts.map((d) => d.perConnection!.gbps.min)),
      median,
      max: Math.max(...parts.map((d) => d.perConnection!.gbps.max)),
    },
  };
}

/** The shards' --start-at: the instant (one for all, or the earliest), the earliest actual start, the worst lateness. */
function mergedStartAt(docs: readonly ResultDocument[], warnings: string[]): StartAt | undefined {
  const list = docs.map((d) => d.startAt).filter((s): s is StartAt => s !== undefined);
  if (list.length === 0) return undefined;
  if (list.length < docs.length) warnings.push(`only ${list.length} of ${docs.length} inputs ran with --start-at`);
  const intended = new Set(list.map((s) => s.intendedMs));
  if (intended.size > 1) warnings.push(`the shards were given different --start-at times (${[...intended].map((t) => new Date(t).toISOString()).join(', ')})`);
  const intendedMs = Math.min(...intended);
  const actual = list.flatMap((s) => (s.actualMs !== undefined ? [s.actualMs] : []));
  const late = list.flatMap((s) => (s.lateMs !== undefined ? [s.lateMs] : []));
  const spread = list.flatMap((s) => (s.workerSpreadMs !== undefined ? [s.workerSpreadMs] : []));
  return {
    intended: new Date(intendedMs).toISOString(),
    intendedMs,
    actualMs: actual.length ? Math.min(...actual) : undefined,
    lateMs: late.length ? Math.max(...late) : undefined,
    workerSpreadMs: spread.length ? Math.max(...spread) : undefined,
  };
}

function shardRow(i: MergeInput, position: number, startSkewMs: number): ShardRow {
  const d = i.doc;
  const latency: ShardRow['latency'] = {};
  for (const name of LATENCY_NAMES) {
    const l = d.latency[name];
    if (!l) continue;
    const { encoded: _encoded, ...summary } = l;
    latency[name] = summary;
  }
  return {
    shard: d.shard?.index ?? position,
    of: d.shard?.count,
    host: d.shard?.host,
    file: i.file,
    backend: d.backend,
    opensslVersion: d.openssl.version,
    params: { ...d.params },
    start: d.start,
    finish: d.finish,
    duration: d.duration,
    startAt: d.startAt,
    startSkewMs: round3(startSkewMs),
    totals: { ...d.totals },
    errors: { ...d.errors },
    rates: d.rates,
    latency,
    accounting: d.accounting,
    client: d.client,
    interrupted: d.interrupted,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
