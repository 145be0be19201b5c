// Builds result documents the way a bench run does: values recorded into real histograms,
// counts bumped on per-worker Counters and cut by IntervalTickers, merged in an
// IntervalSeries, then buildResult. Numbers come from a seeded generator, never typed in.

import { Counters } from '../../src/engine/stats/counters';
import { Histogram, createHistogram, encodeHistogram } from '../../src/engine/stats/histograms';
import { IntervalSample, IntervalTicker } from '../../src/engine/stats/intervals';
import { IntervalSeries } from '../../src/engine/stats/interval_series';
import { ResultDocument, ResultKind, RoundInput, buildResult } from '../../src/report/result';
import { mulberry32 } from '../../src/report/stats/rng';

/** Integer µs latencies, log-normal around `medianUs` (latency is skewed, never normal). */
export function latencies(seed: number, n: number, medianUs: number, sigma = 0.5): number[] {
  const rand = mulberry32(seed); // seeded, so failures reproduce
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    // Box-Muller
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    out.push(Math.max(1, Math.round(medianUs * Math.exp(sigma * z))));
  }
  return out;
}

export function histogramOf(values: readonly number[]): Histogram {
  const h = createHistogram();
  for (const v of values) h.recordValue(v);
  return h;
}

/** Exact nearest-rank percentile of raw values: the value below or at which p% of them lie. */
export function exactPercentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

export interface RunSpec {
  kind?: ResultKind;
  workers?: number;
  /** Per worker, events per full 1 s interval. */
  perInterval: number;
  intervals: number;
  /** Length of the final, partial interval (ms); 0 for none. */
  tailMs?: number;
  handshakeUs?: readonly number[];
  connectUs?: readonly number[];
  errors?: Record<string, number>;
  /** Throughput runs: bytes per event. */
  bytesPerEvent?: number;
  perConnectionGbps?: number[];
  requestedRate?: number;
  /**
   * Record each interval's share of the latencies in its own histograms, as bench does (default
   * true); false makes a document as an older iocptls wrote it, with whole-run histograms only.
   */
  intervalHistograms?: boolean;
}

/** Splits values into `parts` consecutive slices of (nearly) equal size. */
function slices<T>(values: readonly T[] | undefined, parts: number): T[][] {
  if (!values) return Array.from({ length: parts }, () => []);
  return Array.from({ length: parts }, (_, i) => values.slice(Math.floor((i * values.length) / parts), Math.floor(((i + 1) * values.length) / parts)));
}

/** One run's series: counts bumped and cut per worker, latencies split over the intervals. */
function simulateSeries(spec: RunSpec, t0: number): { series: IntervalSeries; end: number } {
  const kind = spec.kind ?? 'handshake';
  const workers = spec.workers ?? 2;
  const series = new IntervalSeries();
  const cuts = spec.intervals + (spec.tailMs ? 1 : 0);
  // Chunk (cut, worker) of the latencies, in time order.
  const hs = slices(spec.handshakeUs, cuts * workers);
  const cs = slices(spec.connectUs, cuts * workers);
  const withHistograms = spec.intervalHistograms !== false;
  let end = t0;
  for (let w = 0; w < workers; w++) {
    const counters = new Counters();
    const ticker = new IntervalTicker(counters, t0);
    const bump = (n: number) => {
      for (let i = 0; i < n; i++) {
        counters.connects++;
        if (kind === 'handshake') counters.handshake(i % 5 === 0);
        if (kind === 'pingpong') counters.roundTrips++;
        if (spec.bytesPerEvent) {
          counters.bytesIn += spec.bytesPerEvent;
          counters.bytesOut += spec.bytesPerEvent;
        }
      }
    };
    let cut = 0;
    const add = (sample: IntervalSample) => {
      if (withHistograms) {
        const h = hs[cut * workers + w];
        const c = cs[cut * workers + w];
        sample.histograms = {};
        if (h.length) sample.histograms.handshake = encodeHistogram(histogramOf(h));
        if (c.length) sample.histograms.connect = encodeHistogram(histogramOf(c));
      }
      cut++;
      series.add(sample);
    };
    for (let s = 0; s < spec.intervals; s++) {
      bump(spec.perInterval);
      if (w === 0 && s === 0) for (const [reason, n] of Object.entries(spec.errors ?? {})) counters.error(reason, n);
      // Workers cut a few ms apart, as real ones do.
      add(ticker.tick(t0 + (s + 1) * 1000 + w));
    }
    if (spec.tailMs) {
      bump(Math.round((spec.perInterval * spec.tailMs) / 1000));
      add(ticker.tick(t0 + spec.intervals * 1000 + spec.tailMs + w));
    }
    end = Math.max(end, t0 + spec.intervals * 1000 + (spec.tailMs ?? 0) + w);
  }
  return { series, end };
}

function nonEmpty(h: { handshake: Histogram; connect: Histogram }): Partial<{ handshake: Histogram; connect: Histogram }> {
  return Object.fromEntries(Object.entries(h).filter(([, v]) => v.totalCount > 0));
}

/**
 * A --rounds run: each spec one round (run one after the other, 2 s apart), put together as
 * bench does — counts and histograms added, intervals one after the other, tagged by round.
 */
export function simulateRounds(specs: readonly RunSpec[]): ResultDocument {
  const kind = specs[0].kind ?? 'handshake';
  const t0 = Date.UTC(2025, 0, 1);
  const rounds: RoundInput[] = [];
  const all = new IntervalSeries();
  const intervals: IntervalSample[] = [];
  let at = t0;
  let end = t0;
  specs.forEach((spec, index) => {
    const { series, end: e } = simulateSeries({ ...spec, intervalHistograms: true }, at);
    const own = series.merged().map((s) => ({ ...s, index: intervals.length + s.index, round: index }));
    intervals.push(...own);
    for (const s of own) all.add(s);
    rounds.push({
      index,
      start: new Date(at),
      durationS: own.reduce((t, s) => t + s.durationMs, 0) / 1000,
      totals: series.totals(),
      intervals: own,
      histograms: nonEmpty({ handshake: series.histogram('handshake'), connect: series.histogram('connect') }),
    });
    end = e;
    at = e + 2000;
  });
  return buildResult({
    kind,
    target: { host: '127.0.0.1', port: 8443, embedded: true },
    backend: 'epoll',
    params: { connections: 64, workers: specs[0].workers ?? 2, duration: specs[0].intervals, rounds: specs.length },
    start: new Date(t0),
    finish: new Date(end),
    totals: all.totals(),
    intervals,
    histograms: nonEmpty({ handshake: all.histogram('handshake'), connect: all.histogram('connect') }),
    negotiated: { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', group: 'X25519', alpn: null },
    rounds,
  });
}

/** A run driven through the real counters/intervals/result code. */
export function simulateRun(spec: RunSpec): ResultDocument {
  const kind = spec.kind ?? 'handshake';
  const workers = spec.workers ?? 2;
  const t0 = Date.UTC(2025, 0, 1);
  const { series, end } = simulateSeries(spec, t0);
  return buildResult({
    kind,
    target: { host: '127.0.0.1', port: 8443, embedded: true },
    backend: 'epoll',
    params: { connections: 64, workers, duration: spec.intervals },
    start: new Date(t0),
    finish: new Date(end),
    totals: series.totals(),
    intervals: series.merged(),
    histograms: {
      handshake: spec.handshakeUs ? histogramOf(spec.handshakeUs) : undefined,
      connect: spec.connectUs ? histogramOf(spec.connectUs) : undefined,
    },
    negotiated: { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', group: 'X25519', alpn: null },
    perConnectionGbps: spec.perConnectionGbps,
    requestedRate: spec.requestedRate,
  });
}
