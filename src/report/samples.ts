// The samples result documents offer to compare's statistics, best first:
//   runs       a history of baseline runs (compare --history): each document one sample;
//   rounds     (--rounds N, N >= 2 on both sides): each round a complete, separate run;
//   intervals  each measured second, with its own histograms;
//   rates      older documents: only each second's rates, no histograms (latency untestable).
// Both documents must give the same kind of sample, so the choice is made for the pair.

import type { ResultDocument } from './result';
import type { Sample, SampleSet, SampleSource } from './significance';

export interface SamplePair {
  base: SampleSet;
  next: SampleSet;
  /** Why the pair uses the samples it does, when a better kind was there on one side only. */
  notes: string[];
}

function roundSamples(doc: ResultDocument): Sample[] {
  return (doc.rounds ?? []).map((r) => ({
    durationMs: r.duration * 1000,
    counters: r.totals,
    histograms: Object.fromEntries(Object.entries(r.latency).flatMap(([name, l]) => (l?.encoded ? [[name, l.encoded]] : []))),
  }));
}

function intervalSamples(doc: ResultDocument): Sample[] {
  return (doc.intervals ?? []).map((i) => ({ durationMs: i.durationMs, counters: i.counters, histograms: i.histograms ?? {} }));
}

/** Older documents: one 1 s sample per entry of the per-second rate series, rebuilt as counts. */
function rateSamples(doc: ResultDocument): Sample[] {
  const r = doc.rates;
  const series = r.handshakesPerSec ?? r.roundTripsPerSec ?? r.bitsPerSec ?? r.connectsPerSec;
  const at = (s: { intervals?: number[] } | undefined, i: number) => s?.intervals?.[i] ?? 0;
  return (series?.intervals ?? []).map((_, i) => {
    const bitsIn = at(r.bitsInPerSec, i);
    const bitsOut = at(r.bitsOutPerSec, i);
    // The total is in + out; a document with only the total gives it all to "in".
    const rest = bitsIn + bitsOut > 0 ? 0 : at(r.bitsPerSec, i);
    return {
      durationMs: 1000,
      counters: {
        handshakes: at(r.handshakesPerSec, i),
        connects: at(r.connectsPerSec, i),
        roundTrips: at(r.roundTripsPerSec, i),
        bytesIn: (bitsIn + rest) / 8,
        bytesOut: bitsOut / 8,
      },
    };
  });
}

const hasHistograms = (doc: ResultDocument) => (doc.intervals ?? []).some((i) => i.histograms && Object.keys(i.histograms).length > 0);

/** Why a document has no per-interval histograms: what is actually missing, not a guess at its age. */
function missingHistograms(doc: ResultDocument): string {
  if (doc.intervals === undefined) return 'no per-interval records (written by an older iocptls)';
  const ms = doc.intervals.reduce((t, i) => t + i.durationMs, 0);
  if (doc.intervals.length === 0 || ms === 0) return 'no measured interval (its measured window is empty)';
  const t = doc.totals;
  if (t.handshakes + t.roundTrips + t.bytesIn + t.bytesOut === 0) return 'nothing measured in its window (no event recorded)';
  return 'no per-interval histograms (written by an older iocptls)';
}

/** A whole run as one sample: its measured time, its totals, its whole-run histograms. */
function runSample(doc: ResultDocument): Sample {
  return {
    durationMs: doc.duration * 1000,
    counters: doc.totals,
    histograms: Object.fromEntries(Object.entries(doc.latency).flatMap(([name, l]) => (l?.encoded ? [[name, l.encoded]] : []))),
  };
}

/** A history of baseline runs against one new run: every document is one sample, rounds or not (runs carry the run-to-run noise). */
export function historySamples(history: readonly ResultDocument[], next: ResultDocument): SamplePair {
  const all = [...history, next];
  const histograms = all.every((d) => Object.values(d.latency).some((l) => l?.encoded));
  const notes: string[] = [];
  if (!histograms) notes.push('latency significance unavailable: some documents carry no encoded histograms; rates alone are tested');
  return {
    base: { source: 'runs', samples: history.map(runSample), histograms },
    next: { source: 'runs', samples: [runSample(next)], histograms },
    notes,
  };
}


export function samplesOf(base: ResultDocument, next: ResultDocument): SamplePair {
  const notes: string[] = [];
  const rounds = (d: ResultDocument) => d.rounds?.length ?? 0;
  let source: SampleSource;
  if (rounds(base) >= 2 && rounds(next) >= 2) source = 'rounds';
  else {
    if (rounds(base) >= 2 || rounds(next) >= 2) {
      notes.push(`only ${rounds(base) >= 2 ? 'BASE' : 'NEW'} has rounds: comparing per-second intervals instead (run both with the same --rounds)`);
    }
    source = (base.intervals?.length ?? 0) > 0 && (next.intervals?.length ?? 0) > 0 ? 'intervals' : 'rates';
  }
  const make = (doc: ResultDocument): SampleSet => {
    if (source === 'rounds') return { source, samples: roundSamples(doc), histograms: true };
    if (source === 'intervals') return { source, samples: intervalSamples(doc), histograms: hasHistograms(doc) };
    return { source, samples: rateSamples(doc), histograms: false };
  };
  const pair = { base: make(base), next: make(next), notes };
  if (!pair.base.histograms || !pair.next.histograms) {
    // Blame the document that lacks them: a side can lose its histograms only because the other side has no intervals.
    const why = [!hasHistograms(base) && `BASE has ${missingHistograms(base)}`, !hasHistograms(next) && `NEW has ${missingHistograms(next)}`].filter(Boolean);
    notes.push(`latency significance unavailable: ${why.join('; ')}; latency rows are shown, rates alone are tested`);
  }
  return pair;
}
