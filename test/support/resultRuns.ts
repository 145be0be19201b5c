// Builds result documents the way a bench run does: values recorded into real histograms,
// counts bumped on per-worker Counters and cut by IntervalTickers, merged in an
// IntervalSeries, then buildResult. Numbers come from a seeded generator, never typed in.

import { Counters } from '../../src/engine/stats/counters';
import { Histogram, createHistogram } from '../../src/engine/stats/histograms';
import { IntervalSeries, IntervalTicker } from '../../src/engine/stats/intervals';
import { ResultDocument, ResultKind, buildResult } from '../../src/report/result';

/** mulberry32: a small deterministic PRNG, so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer µs latencies, log-normal around `medianUs` (latency is skewed, never normal). */
export function latencies(seed: number, n: number, medianUs: number, sigma = 0.5): number[] {
  const rand = rng(seed);
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
}

/** A run driven through the real counters/intervals/result code. */
export function simulateRun(spec: RunSpec): ResultDocument {
  const kind = spec.kind ?? 'handshake';
  const workers = spec.workers ?? 2;
  const series = new IntervalSeries();
  const t0 = Date.UTC(2025, 0, 1);
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
    for (let s = 0; s < spec.intervals; s++) {
      bump(spec.perInterval);
      if (w === 0 && s === 0) for (const [reason, n] of Object.entries(spec.errors ?? {})) counters.error(reason, n);
      // Workers cut a few ms apart, as real ones do.
      series.add(ticker.tick(t0 + (s + 1) * 1000 + w));
    }
    if (spec.tailMs) {
      bump(Math.round((spec.perInterval * spec.tailMs) / 1000));
      series.add(ticker.tick(t0 + spec.intervals * 1000 + spec.tailMs + w));
    }
    end = Math.max(end, t0 + spec.intervals * 1000 + (spec.tailMs ?? 0) + w);
  }
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
