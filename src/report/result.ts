// The result document: one flat, versioned JSON object per run (autocannon's "Results"),
// documented field by field in docs/result-schema.md. It carries the encoded histograms,
// so a later `iocptls compare` (or any HdrHistogram tool) can recompute any percentile.
//
// Bump SCHEMA when a field changes meaning or is removed; adding an optional field is not
// a new version.

import * as fs from 'node:fs';
import { CounterSnapshot, totalErrors } from '../engine/stats/counters';
import { Histogram, LatencySummary, encodeHistogram, summarizeHistogram } from '../engine/stats/histograms';
import { IntervalSample, RateSummary, summarizeRate } from '../engine/stats/intervals';
import { median } from '../engine/stats/median';
import type { Accounting } from '../engine/stats/recorder';
import { ClientReport, ClientInput, clientReport } from './client_cost';
import { MachineInfo, OpensslInfo, ToolInfo, machineInfo, nodeOpensslInfo, toolInfo } from './facts';
import { RESULT_KINDS, type ResultKind } from './result_kind';
import { checkResultFields, FieldError } from './validate';

export const SCHEMA = 'iocptls.result/1';

export { RESULT_KINDS, type ResultKind } from './result_kind';
// Spelled out here rather than imported from the engine: a persisted format must not change
// because the engine grew a backend.
export type ResultBackend = 'io_uring' | 'epoll' | 'iocp';

export interface Target {
  host: string;
  port: number;
  /** true when iocptls started its own server for the run. */
  embedded: boolean;
}

/** A latency summary (µs) plus the whole histogram, HdrHistogram compressed base64. */
export interface LatencyStats extends LatencySummary {
  encoded: string;
}

export interface Latency {
  /** From the connect being posted (or, at a fixed --rate, the intended start) to the handshake completing. */
  handshake?: LatencyStats;
  /** TCP connect time. */
  connect?: LatencyStats;
  /** Request/response round trip on an established connection (ping-pong); from the intended send time with --rate. */
  rtt?: LatencyStats;
  /** Open loop: from the connect actually being posted (wrk2's uncorrected figure, -U). */
  handshakeUncorrected?: LatencyStats;
  /** Open loop ping-pong: from the ping actually being sent. */
  rttUncorrected?: LatencyStats;
  /** Open loop: how late each start was against its intended time (client-side lag). */
  scheduleLag?: LatencyStats;
  /** bench http: from the request's send (or, with --rate, its intended send time) to its response's last byte. */
  request?: LatencyStats;
  /** bench http with --rate: from the request actually being sent to its last byte (time to last byte). */
  requestUncorrected?: LatencyStats;
  /** bench http: from the request being sent to its response's head (time to first byte). */
  ttfb?: LatencyStats;
}

export const LATENCY_NAMES = ['handshake', 'connect', 'rtt', 'handshakeUncorrected', 'rttUncorrected', 'scheduleLag', 'request', 'requestUncorrected', 'ttfb'] as const;

/** One measured interval (nominally 1 s), with its own histograms: the samples of per-interval statistics. */
export interface IntervalRecord {
  index: number;
  /** Epoch milliseconds. */
  startMs: number;
  durationMs: number;
  counters: CounterSnapshot;
  /** Encoded histograms (µs) of this interval only; names as in `latency`. */
  histograms?: Partial<Record<(typeof LATENCY_NAMES)[number], string>>;
  /** With --rounds: the round (index into `rounds`) this interval belongs to. */
  round?: number;
  /** bench connections: connections established and open when the interval was cut. */
  open?: number;
}

/**
 * One measured round of a --rounds run: a complete run of its own (warmup, window, drain),
 * separated from the next by a pause. Each is one sample for `compare`'s statistics.
 */
export interface RoundRecord {
  index: number;
  /** ISO time the round's window opened. */
  start: string;
  /** Measured seconds (its intervals' total length). */
  duration: number;
  totals: Totals;
  errors: Record<string, number>;
  rates: Rates;
  /** The round's own latency summaries and encoded histograms. */
  latency: Latency;
  /** The round was ended early by a signal: its figures cover what it measured. */
  interrupted?: boolean;
}

export interface RoundInput {
  index: number;
  start: Date | string;
  durationS: number;
  totals: CounterSnapshot;
  intervals: readonly IntervalSample[];
  histograms: Partial<Record<(typeof LATENCY_NAMES)[number], Histogram>>;
  interrupted?: boolean;
}

/** Per-second rates over the run's 1 s intervals. Every rate is better when higher. */
export interface Rates {
  handshakesPerSec?: RateSummary;
  connectsPerSec?: RateSummary;
  roundTripsPerSec?: RateSummary;
  /** bench http: responses completed per second (any status). */
  requestsPerSec?: RateSummary;
  /** Application bits per second, both directions added. */
  bitsPerSec?: RateSummary;
  bitsInPerSec?: RateSummary;
  bitsOutPerSec?: RateSummary;
}

export interface Totals {
  handshakes: number;
  full: number;
  resumed: number;
  connects: number;
  bytesIn: number;
  bytesOut: number;
  roundTrips: number;
  /** Handshakes begun (connects posted), or pings sent: the load offered. */
  started?: number;
  /** Sum of the `errors` table. */
  errors: number;
  /** bench http: responses by status code, and the bytes of their heads and bodies (payload, chunk framing not counted). */
  statuses?: Record<string, number>;
  headerBytes?: number;
  bodyBytes?: number;
}

export interface Negotiated {
  /** e.g. 'TLSv1.3' */
  protocol: string | null;
  /** OpenSSL (or IANA for TLS 1.3) cipher suite name, e.g. 'TLS_AES_256_GCM_SHA384'. */
  cipher: string | null;
  /** Key exchange group, e.g. 'X25519'. */
  group: string | null;
  alpn: string | null;
}

/** Handshake bytes of one kind of handshake (full or resumed), means per handshake, from the client's side. */
export interface HandshakeBytesStats {
  /** Handshakes these means are over. */
  count: number;
  /** Mean TLS record bytes (5-byte headers included) the client sent until its handshake completed. */
  sent: number;
  /** Mean TLS record bytes the client received (and OpenSSL consumed) until its handshake completed. */
  received: number;
}

/** What the handshakes put on the wire, per handshake (docs/result-schema.md says exactly what is counted). */
export interface HandshakeBytesSection {
  full?: HandshakeBytesStats;
  resumed?: HandshakeBytesStats;
}

/** This run was one share of a larger one (--shard I/N); `params` holds this share's load. */
export interface ShardInfo {
  /** 0..count-1. */
  index: number;
  count: number;
  /** The machine's host name (a pod's name under Kubernetes). */
  host: string;
  /** The node the pod ran on (NODE_NAME, which the k8s-job manifest sets from the downward API): shards that shared a node show it. */
  node?: string;
  /** --rendezvous: shard 0's HOST:PORT, where the shards met and the start instant came from. */
  rendezvous?: string;
  /** The whole run's load, which the shares add up to. */
  whole: { connections: number; rate?: number; count?: number };
}

/** --start-at: the instant asked for and when the run actually began (epoch ms, wall clock). */
export interface StartAt {
  /** ISO 8601 of intendedMs. */
  intended: string;
  intendedMs: number;
  /** When the first client worker began; absent when the run was stopped before the instant. */
  actualMs?: number;
  /** actualMs - intendedMs. */
  lateMs?: number;
  /** Between the first and the last client worker's start. */
  workerSpreadMs?: number;
}

/** One input of a merged document (`iocptls merge`): what that shard ran and measured. */
export interface ShardRow {
  /** The --shard index; for unsharded inputs, the input's position. */
  shard: number;
  /** N of --shard; absent for unsharded inputs. */
  of?: number;
  host?: string;
  /** The node the shard ran on (NODE_NAME), when it said. */
  node?: string;
  /** The file the document was read from. */
  file: string;
  backend: ResultBackend;
  opensslVersion: string;
  params: Record<string, unknown>;
  start: string;
  finish: string;
  duration: number;
  startAt?: StartAt;
  /** How much later this shard's measured window opened than the earliest one's, ms. */
  startSkewMs: number;
  totals: Totals;
  errors: Record<string, number>;
  rates: Rates;
  /** Latency summaries without their histograms (the merged document carries the sum). */
  latency: Partial<Record<(typeof LATENCY_NAMES)[number], LatencySummary>>;
  accounting?: Accounting;
  client?: ClientReport;
  interrupted?: { signal: string };
}

export interface ResultDocument {
  schema: typeof SCHEMA;
  tool: ToolInfo;
  openssl: OpensslInfo;
  backend: ResultBackend;
  machine: MachineInfo;
  kind: ResultKind;
  target: Target;
  /** The run's options as given (connections, workers, duration, rate, ...). Free-form. */
  params: Record<string, unknown>;
  /** ISO 8601 times. */
  start: string;
  finish: string;
  /** Measured seconds (the intervals' total length, warmup excluded). */
  duration: number;
  totals: Totals;
  errors: Record<string, number>;
  rates: Rates;
  latency: Latency;
  negotiated: Negotiated;
  perConnection?: { gbps: { min: number; median: number; max: number } };
  rateTarget?: { requested: number; achieved: number; shortfallPct: number };
  /** The measured intervals, each with its counts and histograms (with --rounds: every round's, in order). */
  intervals?: IntervalRecord[];
  /** --rounds N: each round's own figures; the top-level figures are the rounds added up (histograms added, rates over the summed time). */
  rounds?: RoundRecord[];
  /** started = succeeded + failed + cutOff, over the whole run (warmup and drain included). */
  accounting?: Accounting;
  /** What the warmup did before the window opened (not in totals). */
  warmup?: { duration: number; totals: Totals };
  /** What completed after the window closed, while in-flight work drained (not in totals). */
  afterWindow?: Totals;
  /** The client's own cost, and whether it was the bottleneck. */
  client?: ClientReport;
  /** The embedded server's own count (warmup and drain included): an independent observer of ours. */
  server?: { handshakes: number; resumed: number; bytesIn: number; bytesOut: number; errors: number; requests?: number };
  /** The run was ended by a signal; the figures cover what was measured until then. */
  interrupted?: { signal: string };
  /** Every long-lived connection closed before the run's time was up. */
  endedEarly?: boolean;
  /** The client could not open every connection asked for (out of descriptors): it ran with `held` of `wanted`. */
  connectionLimit?: { reason: string; wanted: number; held: number };
  /** Failed attempts / attempts in the window, and the limit (--max-error-rate) beyond which the run fails. */
  errorRate?: { ratio: number; max: number };
  /** Mean handshake bytes per full and per resumed handshake (when there were handshakes). */
  handshakeBytes?: HandshakeBytesSection;
  /** Handshakes by key exchange group, by OpenSSL's name (see docs/result-schema.md). */
  groups?: Record<string, number>;
  /** --shard: this run was one share of a larger one. */
  shard?: ShardInfo;
  /** --start-at: when the run was meant to begin and when it did (merged: the earliest shard's start, the latest lateness). */
  startAt?: StartAt;
  /** A merged document (`iocptls merge`): how many inputs, of how many shards, how far apart they started. */
  merged?: {
    inputs: number;
    of?: number;
    missing?: number[];
    startSkewMs: number;
    /**
     * The inputs' measured windows: from the earliest start to the latest finish, the time any of them
     * was measuring (union) and the time all were (overlap), and how the rates were merged: 'sum' (they
     * ran together: each rate's mean is the sum of the inputs' own) or 'consecutive' (over their summed time).
     */
    window?: { start: string; finish: string; unionS: number; overlapS: number; rates: 'sum' | 'consecutive' };
  };
  /** A merged document: one row per input, in shard order. */
  shards?: ShardRow[];
  /** bench connections: what capacity was reached and what it cost the client. */
  connections?: ConnectionsRecord;
  /** The client loops' sends (ciphertext), over the whole run: how many, their bytes, the mean size, how many were vectored. */
  sends?: { count: number; bytes: number; meanBytes: number; vectored: number };
}

export interface ConnectionsRecord {
  /** -c. */
  wanted: number;
  /** Most connections established and open at once. */
  reached: number;
  /** Open when the measured window closed. */
  heldAtEnd: number;
  /** First connect to the last connection established or failed, ms (absent when the run was interrupted during the ramp). */
  rampMs?: number;
  /** Resident memory of the client process before any connection and at its most while they were held, and the difference per connection reached. With no target it includes the embedded server (same process). */
  memory: {
    baselineRssBytes: number;
    peakRssBytes: number;
    perConnectionBytes: number;
    scope: 'client' | 'client and embedded server';
    /** Native buffers of the client's loops in use when the window closed (receive buffers, BIO pairs, scratch). */
    nativeAtEndBytes?: number;
    /** The process's C heap in use then (glibc mallinfo2; absent elsewhere): OpenSSL's objects are there. */
    cHeapAtEndBytes?: number;
  };
}

export interface ResultInput {
  kind: ResultKind;
  target: Target;
  backend: ResultBackend;
  params: Record<string, unknown>;
  start: Date | string;
  finish: Date | string;
  /** The run's counts (warmup excluded), e.g. IntervalSeries.totals(). */
  totals: CounterSnapshot;
  /** Merged 1 s intervals, e.g. IntervalSeries.merged(). */
  intervals: readonly IntervalSample[];
  /** Measured seconds; defaults to the intervals' total length, else finish - start. */
  durationS?: number;
  histograms?: Partial<Record<(typeof LATENCY_NAMES)[number], Histogram>>;
  negotiated?: Partial<Negotiated>;
  /** Each connection's own throughput, Gbit/s (throughput runs). */
  perConnectionGbps?: readonly number[];
  /** --rate, in the unit of the kind's primary rate (handshakes/s, round trips/s, bits/s). */
  requestedRate?: number;
  openssl?: OpensslInfo;
  tool?: ToolInfo;
  machine?: MachineInfo;
  accounting?: Accounting;
  warmup?: { durationS: number; totals: CounterSnapshot };
  afterWindow?: CounterSnapshot;
  client?: ClientInput;
  server?: ResultDocument['server'];
  interrupted?: string;
  endedEarly?: boolean;
  connectionLimit?: ResultDocument['connectionLimit'];
  maxErrorRate?: number;
  shard?: ShardInfo;
  startAt?: StartAt;
  /** --rounds: each round (the top-level totals, intervals and histograms must be their sum). */
  rounds?: readonly RoundInput[];
  connections?: ConnectionsRecord;
  sends?: { count: number; bytes: number; vectored: number };
}

/** The headline rate of each kind: what --rate asks for and what a reader looks at first. */
export const PRIMARY_RATE: Record<ResultKind, keyof Rates> = {
  handshake: 'handshakesPerSec',
  throughput: 'bitsPerSec',
  pingpong: 'roundTripsPerSec',
  connections: 'handshakesPerSec',
  http: 'requestsPerSec',
};

export function latencyStats(h: Histogram): LatencyStats {
  return { ...summarizeHistogram(h), encoded: encodeHistogram(h) };
}

function latencyOf(histograms: ResultInput['histograms']): Latency {
  const latency: Latency = {};
  for (const name of LATENCY_NAMES) {
    const h = histograms?.[name];
    if (h) latency[name] = latencyStats(h);
  }
  return latency;
}

export function roundRecord(kind: ResultKind, r: RoundInput): RoundRecord {
  const rec: RoundRecord = {
    index: r.index,
    start: iso(r.start),
    duration: r.durationS,
    totals: totalsOf(r.totals),
    errors: { ...r.totals.errors },
    rates: buildRates(kind, r.intervals, r.totals),
    latency: latencyOf(r.histograms),
  };
  if (r.interrupted) rec.interrupted = true;
  return rec;
}

function buildRates(kind: ResultKind, intervals: readonly IntervalSample[], totals: CounterSnapshot): Rates {
  const rate = (select: (c: CounterSnapshot) => number) => summarizeRate(intervals, select);
  const rates: Rates = {};
  // Only the rates that mean something for the kind: a throughput run's handshakes all
  // happen in its first second, and gating a comparison on that rate would be noise.
  if (kind === 'handshake') {
    rates.handshakesPerSec = rate((c) => c.handshakes);
    rates.connectsPerSec = rate((c) => c.connects);
  } else if (kind === 'pingpong') {
    rates.roundTripsPerSec = rate((c) => c.roundTrips);
  } else if (kind === 'http') {
    rates.requestsPerSec = rate((c) => c.roundTrips);
    rates.bitsInPerSec = rate((c) => c.bytesIn * 8);
  } else if (kind === 'connections') {
    rates.handshakesPerSec = rate((c) => c.handshakes);
    if (totals.roundTrips > 0) rates.roundTripsPerSec = rate((c) => c.roundTrips);
  } else {
    rates.bitsPerSec = rate((c) => (c.bytesIn + c.bytesOut) * 8);
    if (totals.bytesIn > 0) rates.bitsInPerSec = rate((c) => c.bytesIn * 8);
    if (totals.bytesOut > 0) rates.bitsOutPerSec = rate((c) => c.bytesOut * 8);
  }
  return rates;
}

function iso(t: Date | string): string {
  return typeof t === 'string' ? new Date(t).toISOString() : t.toISOString();
}

export function buildResult(input: ResultInput): ResultDocument {
  const { kind, totals, intervals } = input;
  const intervalsMs = intervals.reduce((t, s) => t + s.durationMs, 0);
  const duration =
    input.durationS ??
    (intervalsMs > 0 ? intervalsMs / 1000 : (new Date(input.finish).getTime() - new Date(input.start).getTime()) / 1000);

  const latency = latencyOf(input.histograms);

  const doc: ResultDocument = {
    schema: SCHEMA,
    tool: input.tool ?? toolInfo(),
    openssl: input.openssl ?? nodeOpensslInfo(),
    backend: input.backend,
    machine: input.machine ?? machineInfo(),
    kind,
    target: { ...input.target },
    params: { ...input.params },
    start: iso(input.start),
    finish: iso(input.finish),
    duration,
    totals: totalsOf(totals),
    errors: { ...totals.errors },
    rates: buildRates(kind, intervals, totals),
    latency,
    negotiated: {
      protocol: input.negotiated?.protocol ?? null,
      cipher: input.negotiated?.cipher ?? null,
      group: input.negotiated?.group ?? null,
      alpn: input.negotiated?.alpn ?? null,
    },
  };

  // Every run's seconds, also without latencies (throughput): `iocptls merge` aligns shards by them.
  if (intervals.length > 0) {
    doc.intervals = intervals.map((i) => ({
      index: i.index,
      startMs: i.startMs,
      durationMs: i.durationMs,
      counters: i.counters,
      ...(i.histograms ? { histograms: i.histograms } : {}),
      ...(i.round !== undefined ? { round: i.round } : {}),
      ...(i.open !== undefined ? { open: i.open } : {}),
    }));
  }
  if (input.rounds) doc.rounds = input.rounds.map((r) => roundRecord(kind, r));
  if (input.accounting) doc.accounting = { ...input.accounting };
  if (input.warmup) doc.warmup = { duration: input.warmup.durationS, totals: totalsOf(input.warmup.totals) };
  if (input.afterWindow) doc.afterWindow = totalsOf(input.afterWindow);
  if (input.client) doc.client = clientReport(kind, input.client, doc.totals, latency);
  if (input.server) doc.server = { ...input.server };
  if (input.interrupted) doc.interrupted = { signal: input.interrupted };
  if (input.endedEarly) doc.endedEarly = true;
  if (input.connectionLimit) doc.connectionLimit = { ...input.connectionLimit };
  if (input.shard) doc.shard = { ...input.shard, whole: { ...input.shard.whole } };
  if (input.startAt) doc.startAt = { ...input.startAt };
  if (input.connections) doc.connections = { ...input.connections, memory: { ...input.connections.memory } };
  if (input.sends) doc.sends = { ...input.sends, meanBytes: input.sends.count > 0 ? Math.round(input.sends.bytes / input.sends.count) : 0 };
  if (input.maxErrorRate !== undefined) doc.errorRate = { ratio: errorRatio(doc), max: input.maxErrorRate };
  if (input.perConnectionGbps && input.perConnectionGbps.length > 0) {
    const sorted = [...input.perConnectionGbps].sort((a, b) => a - b);
    doc.perConnection = { gbps: { min: sorted[0], median: median(sorted), max: sorted[sorted.length - 1] } };
  }
  const hsBytes = handshakeBytesSection(totals);
  if (hsBytes) doc.handshakeBytes = hsBytes;
  if (totals.groups && Object.keys(totals.groups).length > 0) doc.groups = { ...totals.groups };
  if (input.requestedRate !== undefined && input.requestedRate > 0) {
    // An open loop's own promise is to *start* at the rate; completions lag by the latency (a
    // stalled server leaves work in flight when the window closes), which the latencies show.
    const achieved = kind !== 'throughput' && totals.started > 0 && duration > 0 ? totals.started / duration : (doc.rates[PRIMARY_RATE[kind]]?.mean ?? 0);
    const shortfallPct = Math.max(0, ((input.requestedRate - achieved) / input.requestedRate) * 100);
    doc.rateTarget = { requested: input.requestedRate, achieved, shortfallPct };
  }
  return doc;
}

/** Means per full and per resumed handshake, to a tenth of a byte (sizes vary a little: signatures, tickets). */
export function handshakeBytesSection(t: CounterSnapshot): HandshakeBytesSection | undefined {
  const mean = (sum: number | undefined, n: number) => Math.round(((sum ?? 0) / n) * 10) / 10;
  const out: HandshakeBytesSection = {};
  if (t.full > 0 && (t.fullHandshakeSent ?? 0) > 0)
    out.full = { count: t.full, sent: mean(t.fullHandshakeSent, t.full), received: mean(t.fullHandshakeReceived, t.full) };
  if (t.resumed > 0 && (t.resumedHandshakeSent ?? 0) > 0)
    out.resumed = { count: t.resumed, sent: mean(t.resumedHandshakeSent, t.resumed), received: mean(t.resumedHandshakeReceived, t.resumed) };
  return out.full || out.resumed ? out : undefined;
}

function totalsOf(c: CounterSnapshot): Totals {
  return {
    handshakes: c.handshakes,
    full: c.full,
    resumed: c.resumed,
    connects: c.connects,
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    roundTrips: c.roundTrips,
    started: c.started,
    errors: totalErrors(c),
    ...(c.statuses ? { statuses: { ...c.statuses }, headerBytes: c.headerBytes ?? 0, bodyBytes: c.bodyBytes ?? 0 } : {}),
  };
}

/**
 * The share of attempts in the window that failed. Handshake runs: errors / (handshakes +
 * errors) of the window. Long-lived loads: failed connections / connections started, over the
 * whole run (a connection that died in the warmup never carried load in the window either).
 */
export function errorRatio(doc: Pick<ResultDocument, 'kind' | 'totals' | 'accounting'>): number {
  if (doc.kind === 'handshake' || !doc.accounting) {
    const attempts = doc.totals.handshakes + doc.totals.errors;
    return attempts > 0 ? doc.totals.errors / attempts : 0;
  }
  const a = doc.accounting;
  return a.started > 0 ? a.failed / a.started : 0;
}

/** A result file that cannot be used; the message is one line, fit to print as is. */
export class ResultFileError extends Error {
  readonly code = 'IOCPTLS_ERR_RESULT_FILE';
  constructor(message: string) {
    super(message);
    this.name = 'ResultFileError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks that a parsed JSON value is a result document this version understands: its schema
 * version and kind, then every field against docs/result-schema.md (src/report/validate.ts),
 * encoded histograms included (bounded decoding). compare, merge and report all read documents
 * through here (readResult, readResults), so none of them sees a document that is not one.
 */
export function validateResult(value: unknown, name: string): ResultDocument {
  if (!isObject(value) || !('schema' in value)) {
    throw new ResultFileError(`${name} is not an iocptls result document (no "schema": "${SCHEMA}")`);
  }
  if (value.schema !== SCHEMA) {
    throw new ResultFileError(`${name} has schema ${JSON.stringify(value.schema)}; this iocptls reads "${SCHEMA}"`);
  }
  if (!RESULT_KINDS.includes(value.kind as ResultKind)) {
    throw new ResultFileError(`${name} has an unknown kind ${JSON.stringify(value.kind)}`);
  }
  try {
    checkResultFields(value);
  } catch (e) {
    if (e instanceof FieldError) throw new ResultFileError(`${name}: ${e.message}`);
    throw e;
  }
  return value as unknown as ResultDocument;
}

export function readResult(path: string): ResultDocument {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : (e.code ?? e.message);
    throw new ResultFileError(`cannot read ${path}: ${why}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ResultFileError(`${path} is not JSON (${(err as Error).message.split('\n')[0]})`);
  }
  return validateResult(value, path);
}

export function writeResult(path: string, doc: ResultDocument): void {
  fs.writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
}
