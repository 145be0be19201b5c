// `iocptls merge`: one result document from the documents of shards that ran together (or of
// unsharded runs against one target). Everything is added exactly: counts summed, HDR histograms
// decoded, added and re-encoded (never averaged: a percentile of a sum is not a sum of
// percentiles), every section of a single document kept. Each input keeps a row in `shards`.
//
// Rates (docs/result-schema.md, "Merged documents"). Shards that ran at the same time (their
// measured windows have a common overlap — the case --start-at is for) give the load the target
// served while all of them ran: the merged rate is the SUM OF THE SHARDS' OWN RATES, each over its
// own window. That is exact whatever their skew (two shards at 1,000/s are 2,000/s, started 0.6 s
// or 2.5 s apart), where a total over the union of the windows would count the edges where only
// one shard ran and call it the fleet's rate (1,887/s and 1,600/s for 10 s windows). The union
// and the overlap are reported next to it (`merged.window`), so that figure is there too.
// Inputs whose windows do not all overlap did not run together: they are merged as consecutive
// parts of one run, as --rounds are, and the rate is the total over their summed measured time.
// The per-second series follows the same rule: ran together, second k adds each shard's own k-th
// second (as a run adds its workers' k-th seconds); consecutive, the seconds follow each other.
import { addCounters, CounterSnapshot, emptyCounters } from '../engine/stats/counters';
import { encodeHistogram, Histogram, mergeHistograms } from '../engine/stats/histograms';
import { IntervalSample, mergeIntervalSamples } from '../engine/stats/intervals';
import { sumAccounting } from '../engine/stats/recorder';
import type { RateSummary } from '../engine/stats/intervals';
import type { ClientInput } from './client_cost';
import {
  buildResult,
  HandshakeBytesSection,
  LATENCY_NAMES,
  Rates,
  ResultDocument,
  RoundInput,
  RoundRecord,
  ShardRow,
  StartAt,
  Totals,
} from './result';

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
/** Starts further apart than this make second k of the merged series add seconds that only partly overlapped (the rates stay exact): say so. */
export const SKEW_WARN_MS = 100;

export function mergeResults(inputs: readonly MergeInput[]): Merged {
  if (inputs.length === 0) throw new MergeError('nothing to merge: give the result documents of the shards');
  const warnings: string[] = [];
  checkMergeable(inputs, warnings);
  const sorted = [...inputs].sort((a, b) => (a.doc.shard?.index ?? 0) - (b.doc.shard?.index ?? 0));
  const docs = sorted.map((i) => i.doc);
  const first = docs[0];
  const kind = first.kind;

  const win = mergedWindow(docs);
  const starts = docs.map((d) => Date.parse(d.start));
  const earliest = Math.min(...starts);
  const startSkewMs = Math.max(...starts) - earliest;
  if (!win.together) {
    warnings.push(
      `the inputs' measured windows do not all overlap (they did not run together): merged as consecutive parts of one run, rates over their summed time (${fmtS(win.measuredMs)} s)`
    );
  } else if (startSkewMs > SKEW_WARN_MS) {
    warnings.push(
      `the shards' windows opened up to ${startSkewMs.toFixed(0)} ms apart: the rates are the sum of each shard's own (exact), but second k of the series adds seconds that only partly overlapped (start them with one --start-at, clocks in sync)`
    );
  }

  const totals = emptyCounters();
  for (const d of docs) addCounters(totals, { ...countersOf(d.totals, d.errors), groups: { ...(d.groups ?? {}) } });
  const histograms: Partial<Record<(typeof LATENCY_NAMES)[number], Histogram>> = {};
  for (const name of LATENCY_NAMES) {
    const parts = docs.flatMap((d) => (d.latency[name]?.encoded ? [d.latency[name]!.encoded] : []));
    if (parts.length > 0) histograms[name] = mergeHistograms(parts);
  }
  const params = { ...first.params };
  for (const k of LOAD_PARAMS) {
    const values = docs.map((d) => d.params[k]).filter((v): v is number => typeof v === 'number');
    if (values.length > 0) params[k] = values.reduce((t, v) => t + v, 0);
  }
  delete params.bind;

  const { intervals, roundOf } = win.together ? alignTogether(docs) : alignConsecutive(docs);
  const rounds = mergedRounds(docs, intervals, roundOf, win.together);
  const doc = buildResult({
    kind,
    target: first.target,
    backend: first.backend,
    params,
    start: new Date(earliest),
    finish: new Date(Math.max(...docs.map((d) => Date.parse(d.finish)))),
    totals,
    intervals,
    histograms,
    negotiated: docs.find((d) => d.negotiated.protocol !== null)?.negotiated ?? first.negotiated,
    openssl: first.openssl,
    tool: first.tool,
    machine: first.machine,
    accounting: docs.every((d) => d.accounting) ? sumAccounting(docs.map((d) => d.accounting!)) : undefined,
    client: mergedClient(docs),
    interrupted: docs.find((d) => d.interrupted)?.interrupted?.signal,
    endedEarly: docs.some((d) => d.endedEarly),
    maxErrorRate: first.errorRate?.max,
    rounds,
  });
  // Ran together: each rate's mean is the sum of the shards' own means (see the top of this file).
  if (win.together) doc.rates = withSummedMeans(doc.rates, docs.map((d) => d.rates));
  if (doc.rounds && win.together) {
    for (const r of doc.rounds) r.rates = withSummedMeans(r.rates, docs.map((d) => d.rounds?.[r.index]?.rates ?? {}));
  }
  const rateTarget = mergedRateTarget(docs, win.together);
  if (rateTarget) doc.rateTarget = rateTarget;

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
  const hsBytes = mergedHandshakeBytes(docs);
  if (hsBytes) doc.handshakeBytes = hsBytes;
  else delete doc.handshakeBytes;
  const limited = docs.filter((d) => d.connectionLimit);
  if (limited.length > 0) {
    doc.connectionLimit = {
      reason: limited[0].connectionLimit!.reason,
      wanted: docs.reduce((t, d) => t + (d.connectionLimit?.wanted ?? d.connections?.wanted ?? (typeof d.params.connections === 'number' ? d.params.connections : 0)), 0),
      held: docs.reduce((t, d) => t + (d.connectionLimit?.held ?? d.connections?.reached ?? (typeof d.params.connections === 'number' ? d.params.connections : 0)), 0),
    };
  }
  const connections = mergedConnections(docs);
  if (connections) doc.connections = connections;
  if (docs.every((d) => d.sends)) {
    const sends = { count: 0, bytes: 0, meanBytes: 0, vectored: 0 };
    for (const d of docs) {
      sends.count += d.sends!.count;
      sends.bytes += d.sends!.bytes;
      sends.vectored += d.sends!.vectored;
    }
    sends.meanBytes = sends.count > 0 ? Math.round(sends.bytes / sends.count) : 0;
    doc.sends = sends;
  }
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
  doc.merged = {
    inputs: docs.length,
    of,
    missing: missing.length ? missing : undefined,
    startSkewMs: round3(startSkewMs),
    window: {
      start: new Date(win.startMs).toISOString(),
      finish: new Date(win.finishMs).toISOString(),
      unionS: round3(win.unionMs / 1000),
      overlapS: round3(win.overlapMs / 1000),
      rates: win.together ? 'sum' : 'consecutive',
    },
  };
  doc.shards = sorted.map((i, k) => shardRow(i, k, Date.parse(i.doc.start) - earliest));
  return { doc, warnings };
}

function fmtS(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** The inputs' measured windows ([start, finish]) and how they lie. */
export interface MergedWindow {
  startMs: number;
  finishMs: number;
  /** Time at least one input was measuring. */
  unionMs: number;
  /** Time every input was measuring (0 when they have no common overlap). */
  overlapMs: number;
  /** The inputs' own measured durations added. */
  measuredMs: number;
  /** Every window overlaps every other (a common overlap): they ran together. One input: true. */
  together: boolean;
}

export function mergedWindow(docs: readonly ResultDocument[]): MergedWindow {
  const spans = docs.map((d) => ({ start: Date.parse(d.start), finish: Date.parse(d.finish) })).sort((a, b) => a.start - b.start);
  let unionMs = 0;
  let curStart = spans[0].start;
  let curEnd = spans[0].finish;
  for (const s of spans.slice(1)) {
    if (s.start > curEnd) {
      unionMs += curEnd - curStart;
      curStart = s.start;
      curEnd = s.finish;
    } else curEnd = Math.max(curEnd, s.finish);
  }
  unionMs += curEnd - curStart;
  const overlap = Math.min(...spans.map((s) => s.finish)) - Math.max(...spans.map((s) => s.start));
  return {
    startMs: spans[0].start,
    finishMs: Math.max(...spans.map((s) => s.finish)),
    unionMs,
    overlapMs: Math.max(0, overlap),
    measuredMs: docs.reduce((t, d) => t + d.duration * 1000, 0),
    together: docs.length === 1 || overlap > 0,
  };
}

/** `rates` with each summary's mean replaced by the sum of the inputs' means (an input without that rate counted nothing). */
function withSummedMeans(rates: Rates, inputs: readonly Rates[]): Rates {
  const out: Rates = {};
  for (const [k, summary] of Object.entries(rates) as Array<[keyof Rates, RateSummary]>) {
    out[k] = { ...summary, mean: inputs.reduce((t, r) => t + (r[k]?.mean ?? 0), 0) };
  }
  return out;
}

/** --rate: what the shards were asked together and achieved together (summed), or, consecutive, their time-weighted means. */
function mergedRateTarget(docs: readonly ResultDocument[], together: boolean): ResultDocument['rateTarget'] | undefined {
  if (!docs.every((d) => d.rateTarget)) return undefined;
  let requested = 0;
  let achieved = 0;
  if (together) {
    for (const d of docs) {
      requested += d.rateTarget!.requested;
      achieved += d.rateTarget!.achieved;
    }
  } else {
    const time = docs.reduce((t, d) => t + d.duration, 0);
    for (const d of docs) {
      const w = time > 0 ? d.duration / time : 1 / docs.length;
      requested += d.rateTarget!.requested * w;
      achieved += d.rateTarget!.achieved * w;
    }
  }
  const shortfallPct = requested > 0 ? Math.max(0, ((requested - achieved) / requested) * 100) : 0;
  return { requested, achieved, shortfallPct };
}

/** Means per handshake over every input's handshakes of that kind (each input's mean weighted by its count). */
function mergedHandshakeBytes(docs: readonly ResultDocument[]): HandshakeBytesSection | undefined {
  const out: HandshakeBytesSection = {};
  for (const which of ['full', 'resumed'] as const) {
    const parts = docs.flatMap((d) => (d.handshakeBytes?.[which] ? [d.handshakeBytes[which]!] : []));
    const n = parts.reduce((t, p) => t + p.count, 0);
    if (n === 0) continue;
    const mean = (f: 'sent' | 'received') => Math.round((parts.reduce((t, p) => t + p[f] * p.count, 0) / n) * 10) / 10;
    out[which] = { count: n, sent: mean('sent'), received: mean('received') };
  }
  return out.full || out.resumed ? out : undefined;
}

/** bench connections: what every shard held, added (the shards ran together, so their connections were open at once). */
function mergedConnections(docs: readonly ResultDocument[]): ResultDocument['connections'] | undefined {
  if (!docs.every((d) => d.connections)) return undefined;
  const list = docs.map((d) => d.connections!);
  const sum = (f: (c: (typeof list)[number]) => number) => list.reduce((t, c) => t + f(c), 0);
  const reached = sum((c) => c.reached);
  const baselineRssBytes = sum((c) => c.memory.baselineRssBytes);
  const peakRssBytes = sum((c) => c.memory.peakRssBytes);
  const ramps = list.map((c) => c.rampMs);
  const out: NonNullable<ResultDocument['connections']> = {
    wanted: sum((c) => c.wanted),
    reached,
    heldAtEnd: sum((c) => c.heldAtEnd),
    memory: {
      baselineRssBytes,
      peakRssBytes,
      perConnectionBytes: reached > 0 ? Math.round((peakRssBytes - baselineRssBytes) / reached) : 0,
      scope: list[0].memory.scope,
    },
  };
  if (ramps.every((r) => r !== undefined)) out.rampMs = Math.max(...(ramps as number[]));
  if (list.every((c) => c.memory.nativeAtEndBytes !== undefined)) out.memory.nativeAtEndBytes = sum((c) => c.memory.nativeAtEndBytes!);
  if (list.every((c) => c.memory.cHeapAtEndBytes !== undefined)) out.memory.cHeapAtEndBytes = sum((c) => c.memory.cHeapAtEndBytes!);
  return out;
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
  const http = t.statuses ? { statuses: { ...t.statuses }, headerBytes: t.headerBytes ?? 0, bodyBytes: t.bodyBytes ?? 0 } : {};
  return { handshakes, full, resumed, connects, bytesIn, bytesOut, roundTrips, started: t.started ?? 0, errors: { ...errors }, ...http };
}

function sumTotals(list: readonly Totals[]): Totals {
  const sum: Totals = { handshakes: 0, full: 0, resumed: 0, connects: 0, bytesIn: 0, bytesOut: 0, roundTrips: 0, started: 0, errors: 0 };
  for (const t of list) {
    for (const k of ['handshakes', 'full', 'resumed', 'connects', 'bytesIn', 'bytesOut', 'roundTrips', 'errors'] as const) sum[k] += t[k];
    sum.started! += t.started ?? 0;
    // bench http: statuses and head/body bytes add up like the counts.
    if (t.statuses) {
      sum.statuses ??= {};
      for (const [code, n] of Object.entries(t.statuses)) sum.statuses[code] = (sum.statuses[code] ?? 0) + n;
      sum.headerBytes = (sum.headerBytes ?? 0) + (t.headerBytes ?? 0);
      sum.bodyBytes = (sum.bodyBytes ?? 0) + (t.bodyBytes ?? 0);
    }
  }
  return sum;
}

type HistogramNames = keyof NonNullable<IntervalSample['histograms']>;

/** Adds intervals that stand for one merged second: counts and histograms added, the mean of their lengths (as a run adds its workers'). */
function sumIntervals(list: readonly IntervalSample[], index: number): IntervalSample {
  const m = mergeIntervalSamples(list);
  m.index = index;
  const names = new Set(list.flatMap((s) => Object.keys(s.histograms ?? {}) as HistogramNames[]));
  if (names.size > 0) {
    m.histograms = {};
    for (const n of names) {
      const parts = list.flatMap((s) => s.histograms?.[n] ?? []);
      m.histograms[n] = parts.length === 1 ? parts[0] : encodeHistogram(mergeHistograms(parts));
    }
  }
  return m;
}

function sampleOf(d: ResultDocument['intervals'] & object, k: number): IntervalSample {
  const i = d[k];
  return {
    index: i.index,
    startMs: i.startMs,
    endMs: i.startMs + i.durationMs,
    durationMs: i.durationMs,
    counters: addCounters(emptyCounters(), i.counters),
    ...(i.histograms ? { histograms: { ...i.histograms } } : {}),
    ...(i.open !== undefined ? { open: i.open } : {}),
  };
}

export interface AlignedIntervals {
  intervals: IntervalSample[];
  /** Merged round index of input `doc`'s round `r` (consecutive inputs renumber their rounds). */
  roundOf: (doc: number, r: number) => number;
}

/**
 * Inputs that ran together: the k-th interval of each input's round r (its k-th second of that
 * round, counted from its own window's start) go together, whatever the inputs' skew, so that each
 * merged second's rate is the sum of the inputs' rates in their own k-th second.
 */
export function alignTogether(docs: readonly ResultDocument[]): AlignedIntervals {
  const groups = new Map<string, { round: number | undefined; pos: number; list: IntervalSample[] }>();
  docs.forEach((d) => {
    const seen = new Map<number, number>();
    const list = d.intervals ?? [];
    list.forEach((i, k) => {
      const r = i.round ?? -1;
      const pos = seen.get(r) ?? 0;
      seen.set(r, pos + 1);
      const key = `${r}:${pos}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { round: i.round, pos, list: [] }));
      g.list.push(sampleOf(list, k));
    });
  });
  const ordered = [...groups.values()].sort((a, b) => (a.round ?? -1) - (b.round ?? -1) || a.pos - b.pos);
  const intervals = ordered.map((g, index) => {
    const m = sumIntervals(g.list, index);
    if (g.round !== undefined) m.round = g.round;
    return m;
  });
  return { intervals, roundOf: (_doc, r) => r };
}

/** Inputs that did not run together: their intervals one after the other in time, rounds renumbered in time order. */
export function alignConsecutive(docs: readonly ResultDocument[]): AlignedIntervals {
  const rounds = docs.flatMap((d, doc) => (d.rounds ?? []).map((r) => ({ doc, r: r.index, at: Date.parse(r.start) }))).sort((a, b) => a.at - b.at || a.doc - b.doc);
  const newRound = new Map(rounds.map((x, k) => [`${x.doc}:${x.r}`, k]));
  const roundOf = (doc: number, r: number) => newRound.get(`${doc}:${r}`) ?? r;
  const all = docs
    .flatMap((d, doc) => (d.intervals ?? []).map((i, k) => ({ doc, s: sampleOf(d.intervals!, k), round: i.round })))
    .sort((a, b) => a.s.startMs - b.s.startMs || a.doc - b.doc);
  const intervals = all.map(({ doc, s, round }, index) => {
    const m = sumIntervals([s], index);
    if (round !== undefined) m.round = roundOf(doc, round);
    return m;
  });
  return { intervals, roundOf };
}

/**
 * --rounds: the inputs' rounds merged. Together, round r is every input's round r added (counts,
 * histograms; its rates from the merged intervals of that round, means summed by the caller);
 * consecutive, every input's rounds in time order.
 */
function mergedRounds(docs: readonly ResultDocument[], intervals: readonly IntervalSample[], roundOf: (doc: number, r: number) => number, together: boolean): RoundInput[] | undefined {
  if (!docs.some((d) => d.rounds && d.rounds.length > 0)) return undefined;
  const byIndex = new Map<number, RoundRecord[]>();
  docs.forEach((d, doc) => {
    for (const r of d.rounds ?? []) {
      const k = together ? r.index : roundOf(doc, r.index);
      const list = byIndex.get(k) ?? [];
      list.push(r);
      byIndex.set(k, list);
    }
  });
  return [...byIndex.keys()]
    .sort((a, b) => a - b)
    .map((index) => {
      const list = byIndex.get(index)!;
      const totals = emptyCounters();
      for (const r of list) addCounters(totals, countersOf(r.totals, r.errors));
      const own = intervals.filter((i) => i.round === index);
      const histograms: RoundInput['histograms'] = {};
      for (const name of LATENCY_NAMES) {
        const parts = list.flatMap((r) => (r.latency[name]?.encoded ? [r.latency[name]!.encoded] : []));
        if (parts.length > 0) histograms[name] = mergeHistograms(parts);
      }
      return {
        index,
        start: new Date(Math.min(...list.map((r) => Date.parse(r.start)))),
        durationS: own.length > 0 ? own.reduce((t, i) => t + i.durationMs, 0) / 1000 : Math.max(...list.map((r) => r.duration)),
        totals,
        intervals: own,
        histograms,
        interrupted: list.some((r) => r.interrupted) || undefined,
      };
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
  // The operations clientReport divides by (client_cost.ts).
  const ops = (t: Totals) => (kind === 'handshake' || kind === 'connections' ? t.handshakes : kind === 'pingpong' || kind === 'http' ? t.roundTrips : (t.bytesIn + t.bytesOut) / 2 ** 20);
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
    node: d.shard?.node,
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
