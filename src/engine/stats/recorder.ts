// Where a bench worker's load apps record what happened, routed by the run's phase:
//
//   warmup ──► window (measured; cut into 1 s intervals) ──► after (the drain once the window closed)
//
// Counts and latencies of the window go to the interval counters and histograms, which a tick
// cuts and ships; what completes during the warmup or after the window is counted apart, so the
// document can reconcile with the server's own count (warmup + window + after = all of it).
// Accounting is by attempt (a handshake, or a connection for long-lived loads), over the whole
// run: started = succeeded + failed + cut off at the end.
import { Counters, CounterSnapshot } from './counters';
import { createHistogram, encodeHistogram, Histogram } from './histograms';

export type Phase = 'warmup' | 'window' | 'after';

/** What an accounting attempt is, per kind of load. */
export type AttemptUnit = 'handshake' | 'connection' | 'request';

export interface Accounting {
  unit: AttemptUnit;
  /** Attempts begun over the whole run (warmup included). */
  started: number;
  succeeded: number;
  failed: number;
  /** Still unfinished when the run ended: closed by the bench, neither success nor failure. */
  cutOff: number;
  /**
   * What the cut-off attempts were still waiting for: the TCP connect (the server never accepted),
   * or, connected, the rest of the handshake (the server accepted and has not answered in full).
   * Present when cutOff > 0: a run whose attempts were all cut off says why none succeeded.
   */
  cutOffWaiting?: { connect: number; handshake: number };
  /** How long the longest-waiting cut-off attempt had waited (from its connect being posted), ms. */
  cutOffLongestMs?: number;
  /** In flight when the measured window closed (they then had the drain to finish). */
  inFlightAtEnd: number;
  /** Open loop: starts that were due but never begun when the window closed (every connection was busy). */
  backlogAtEnd: number;
}

/** The sum of several runs' (workers', rounds', shards') accounting: every field added; the unit is the first's. */
export function sumAccounting(list: readonly Accounting[]): Accounting {
  const sum: Accounting = { unit: list[0]?.unit ?? 'handshake', started: 0, succeeded: 0, failed: 0, cutOff: 0, inFlightAtEnd: 0, backlogAtEnd: 0 };
  for (const a of list) {
    sum.started += a.started;
    sum.succeeded += a.succeeded;
    sum.failed += a.failed;
    sum.cutOff += a.cutOff;
    if (a.cutOffWaiting) {
      const w = (sum.cutOffWaiting ??= { connect: 0, handshake: 0 });
      w.connect += a.cutOffWaiting.connect;
      w.handshake += a.cutOffWaiting.handshake;
    }
    if (a.cutOffLongestMs !== undefined) sum.cutOffLongestMs = Math.max(sum.cutOffLongestMs ?? 0, a.cutOffLongestMs);
    sum.inFlightAtEnd += a.inFlightAtEnd;
    sum.backlogAtEnd += a.backlogAtEnd;
  }
  return sum;
}

/**
 * Counts an attempt the bench closed before it succeeded or failed (the run ended), noting what it
 * was waiting for and for how long.
 */
export function countCutOff(acc: Accounting, conn: { tStart: number; tConnected: number }, now: number): void {
  acc.cutOff++;
  const w = (acc.cutOffWaiting ??= { connect: 0, handshake: 0 });
  if (conn.tConnected > 0) w.handshake++;
  else w.connect++;
  if (conn.tStart > 0) acc.cutOffLongestMs = Math.max(acc.cutOffLongestMs ?? 0, Math.round(now - conn.tStart));
}

export const HISTOGRAM_NAMES = ['handshake', 'connect', 'rtt', 'handshakeUncorrected', 'scheduleLag', 'rttUncorrected', 'request', 'requestUncorrected', 'ttfb'] as const;
export type HistogramName = (typeof HISTOGRAM_NAMES)[number];
export type EncodedHistograms = Partial<Record<HistogramName, string>>;

export class Recorder {
  phase: Phase = 'warmup';
  /** The measured window's counts since the last interval cut. */
  readonly window = new Counters();
  readonly warmup = new Counters();
  readonly after = new Counters();
  /** The measured window's latencies (µs) since the last interval cut. */
  readonly hist: Record<HistogramName, Histogram>;
  readonly accounting: Accounting;

  constructor(unit: AttemptUnit) {
    this.hist = Object.fromEntries(HISTOGRAM_NAMES.map((n) => [n, createHistogram()])) as Record<HistogramName, Histogram>;
    this.accounting = { unit, started: 0, succeeded: 0, failed: 0, cutOff: 0, inFlightAtEnd: 0, backlogAtEnd: 0 };
  }

  /** The counters for what happens now. */
  get live(): Counters {
    return this.phase === 'window' ? this.window : this.phase === 'warmup' ? this.warmup : this.after;
  }

  get measuring(): boolean {
    return this.phase === 'window';
  }

  /** Records a latency (µs) if the window is open; latencies of the warmup and the drain are not part of the result. */
  record(name: HistogramName, us: number): void {
    if (this.phase === 'window') this.hist[name].recordValue(us);
  }

  /**
   * Records a latency that belongs to the window even though it is learnt later or outside it
   * (an open-loop start still waiting when the window closed).
   */
  recordAlways(name: HistogramName, us: number): void {
    this.hist[name].recordValue(us);
  }

  /** Cuts the window's interval: its counts and its encoded non-empty histograms; both restart from zero. */
  cut(): { counters: CounterSnapshot; histograms: EncodedHistograms } {
    const histograms: EncodedHistograms = {};
    for (const n of HISTOGRAM_NAMES) {
      const h = this.hist[n];
      if (h.totalCount === 0) continue;
      histograms[n] = encodeHistogram(h);
      h.reset();
    }
    return { counters: this.window.take(), histograms };
  }
}
