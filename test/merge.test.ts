// `iocptls merge` on synthetic documents built the way bench builds them (per-worker Counters cut
// by IntervalTickers, an IntervalSeries, buildResult), so the properties can be checked exactly:
// merging one document gives it back, shards of one run merge to the whole run's counts, the
// merged rate is what docs/result-schema.md defines whatever the shards' skew, and every section
// of a single document survives the merge.
import assert from 'node:assert/strict';
import { Counters, CounterSnapshot } from '../src/engine/stats/counters';
import { decodeHistogram, encodeHistogram, summarizeHistogram } from '../src/engine/stats/histograms';
import { IntervalSample, IntervalTicker } from '../src/engine/stats/intervals';
import { IntervalSeries } from '../src/engine/stats/interval_series';
import { mergeResults } from '../src/report/merge';
import { buildResult, ResultDocument, ResultKind, RoundInput, validateResult } from '../src/report/result';
import { histogramOf, latencies } from './support/resultRuns';

const T0 = Date.UTC(2026, 0, 1);

interface DocSpec {
  /** When the measured window opens (epoch ms). */
  t0?: number;
  /** Which workers of the whole run this document ran (a shard runs some of them). */
  workers: number[];
  seconds: number;
  /** A last, partial interval (ms). */
  tailMs?: number;
  /** Events per worker per second (the exact count varies a little with worker and second). */
  perSecond?: number;
  rounds?: number;
  kind?: ResultKind;
  /** Every optional section a bench document can have. */
  sections?: boolean;
  shard?: { index: number; count: number };
}

/** The events of worker w in second s of round r: a fixed function, so a shard's are the whole run's. */
function eventsOf(spec: DocSpec, r: number, w: number, s: number): number {
  return (spec.perSecond ?? 200) + ((w * 7 + s * 3 + r) % 5);
}

function bump(c: Counters, n: number, kind: ResultKind): void {
  for (let e = 0; e < n; e++) {
    c.started++;
    c.connects++;
    c.handshake(e % 4 === 0, { bytes: { sent: 380 + (e % 3), received: 830 + (e % 7) }, group: e % 10 === 0 ? 'P-256' : 'X25519' });
    if (kind === 'throughput') {
      c.bytesIn += 16_384;
      c.bytesOut += 4_096;
    }
    if (kind === 'pingpong') c.roundTrips++;
  }
}

/** n events on each of `workers` workers' counters, added (as bench adds its workers'). */
function counts(workers: number, n: number, kind: ResultKind): CounterSnapshot {
  const c = new Counters();
  for (let w = 0; w < workers; w++) bump(c, n, kind);
  return c.snapshot();
}

/** One round: per worker, a Counters cut once a second, with that second's latencies in its own histograms. */
function roundSeries(spec: DocSpec, r: number, t0: number): IntervalSeries {
  const kind = spec.kind ?? 'handshake';
  const series = new IntervalSeries();
  for (const w of spec.workers) {
    const c = new Counters();
    const ticker = new IntervalTicker(c, t0);
    const cuts = spec.seconds + (spec.tailMs ? 1 : 0);
    for (let s = 0; s < cuts; s++) {
      const tail = s === spec.seconds;
      const n = tail ? Math.round((eventsOf(spec, r, w, s) * spec.tailMs!) / 1000) : eventsOf(spec, r, w, s);
      bump(c, n, kind);
      if (s === 0) c.error(w % 2 ? 'refused' : 'timeout', 1 + (w % 3));
      // Workers cut a few ms apart, as real ones do.
      const sample: IntervalSample = ticker.tick(t0 + (tail ? spec.seconds * 1000 + spec.tailMs! : (s + 1) * 1000) + (w % 3));
      const seed = 1000 * r + 50 * w + s;
      sample.histograms = { handshake: encodeHistogram(histogramOf(latencies(seed, n, 2000 + 100 * w))), connect: encodeHistogram(histogramOf(latencies(seed + 7, n, 150))) };
      series.add(sample);
    }
  }
  return series;
}

function buildDoc(spec: DocSpec): ResultDocument {
  const kind = spec.kind ?? 'handshake';
  const t0 = spec.t0 ?? T0;
  const nw = spec.workers.length;
  const all = new IntervalSeries();
  const intervals: IntervalSample[] = [];
  const rounds: RoundInput[] = [];
  let at = t0;
  let end = t0;
  for (let r = 0; r < (spec.rounds ?? 1); r++) {
    const series = roundSeries(spec, r, at);
    const own = series.merged().map((s) => (spec.rounds ? { ...s, index: intervals.length + s.index, round: r } : s));
    intervals.push(...own);
    for (const s of own) all.add(s);
    if (spec.rounds) {
      rounds.push({
        index: r,
        start: new Date(at),
        durationS: own.reduce((t, s) => t + s.durationMs, 0) / 1000,
        totals: series.totals(),
        intervals: own,
        histograms: { handshake: series.histogram('handshake'), connect: series.histogram('connect') },
      });
    }
    end = at + spec.seconds * 1000 + (spec.tailMs ?? 0) + 2;
    at = end + 2000;
  }
  const totals = all.totals();
  const errors = Object.values(totals.errors).reduce((a, b) => a + b, 0);
  const s = spec.sections;
  const doc = buildResult({
    kind,
    target: { host: '10.0.0.1', port: 443, embedded: false },
    backend: 'io_uring',
    params: { connections: 4 * nw, workers: nw, duration: spec.seconds, ...(s ? { rate: 200 * nw } : {}) },
    start: new Date(t0),
    finish: new Date(end),
    totals,
    intervals,
    durationS: intervals.reduce((t, i) => t + i.durationMs, 0) / 1000,
    histograms: { handshake: all.histogram('handshake'), connect: all.histogram('connect') },
    negotiated: { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', group: 'X25519', alpn: null },
    rounds: spec.rounds ? rounds : undefined,
    shard: spec.shard ? { ...spec.shard, host: `pod-${spec.shard.index}`, whole: { connections: 4 * spec.shard.count } } : undefined,
    ...(s
      ? {
          requestedRate: 205 * nw,
          maxErrorRate: 0.05,
          accounting: { unit: 'handshake' as const, started: totals.handshakes + errors + nw, succeeded: totals.handshakes, failed: errors, cutOff: nw, inFlightAtEnd: nw, backlogAtEnd: 0 },
          warmup: { durationS: 1, totals: counts(nw, 10, kind) },
          afterWindow: counts(nw, 3, kind),
          client: { workers: nw, cpuUs: { user: 40 * totals.handshakes, system: 10 * totals.handshakes }, busyMs: 300 * nw, waitMs: 700 * nw, dispatched: totals.handshakes, queuedMs: totals.handshakes / 100, busy: 0.3 },
          server: { handshakes: totals.handshakes + 13 * nw, resumed: totals.resumed, bytesIn: 0, bytesOut: 0, errors: 0 },
          startAt: { intended: new Date(t0 - 100).toISOString(), intendedMs: t0 - 100, actualMs: t0 - 99, lateMs: 1, workerSpreadMs: 0.5 },
          connectionLimit: { reason: 'out of file descriptors (EMFILE)', wanted: 4 * nw, held: 3 * nw },
          connections: { wanted: 4 * nw, reached: 3 * nw, heldAtEnd: 3 * nw, rampMs: 40, memory: { baselineRssBytes: 50e6 * nw, peakRssBytes: 50e6 * nw + 60_000 * nw, perConnectionBytes: 20_000, scope: 'client' as const, nativeAtEndBytes: 1000 * nw } },
          sends: { count: 3 * totals.handshakes, bytes: 900 * totals.handshakes, vectored: nw },
          perConnectionGbps: spec.workers.map((w) => 1 + w / 10),
        }
      : {}),
  });
  // As it would be read back: JSON, validated.
  return validateResult(JSON.parse(JSON.stringify(doc)), 'synthetic');
}

/** A document's numbers: encoded histograms replaced by what they decode to, the merge's own sections left out. */
function numbers(doc: ResultDocument): unknown {
  const { merged: _m, shards: _s, ...rest } = doc;
  return JSON.parse(JSON.stringify(rest), (key, value) => {
    if (typeof value === 'string' && value.startsWith('HISTF')) {
      const h = decodeHistogram(value);
      return { ...summarizeHistogram(h), buckets: Array.from({ length: h.countsArrayLength }, (_, i) => h.getCountAtIndex(i)).join(',') };
    }
    return value;
  });
}

const near = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.abs(b);

describe('merge: exact', () => {
  it('merging one document gives that document back (every number, every histogram)', () => {
    for (const spec of [
      { workers: [0, 1], seconds: 4, tailMs: 350, sections: true },
      { workers: [0, 1, 2], seconds: 3, kind: 'throughput' as const },
      { workers: [0], seconds: 2, kind: 'pingpong' as const, tailMs: 100 },
      { workers: [0, 1], seconds: 2, rounds: 3, tailMs: 200, sections: true },
      { workers: [0, 1], seconds: 3, sections: true, shard: { index: 1, count: 2 } },
    ]) {
      const doc = buildDoc(spec);
      const { doc: merged } = mergeResults([{ doc, file: 'one.json' }]);
      const expected = numbers(doc) as Record<string, unknown>;
      // A shard merged alone is the run's whole (what there is of it): it is no longer a shard.
      delete expected.shard;
      assert.deepEqual(numbers(merged), expected, JSON.stringify(spec));
      assert.equal(merged.merged!.window!.rates, 'sum');
    }
  });

  it('a run split into shards and merged has the counts of the whole run', () => {
    for (const [workers, parts] of [
      [[0, 1, 2, 3], [[0, 1], [2, 3]]],
      [[0, 1, 2, 3, 4], [[0], [1, 2], [3, 4]]],
    ] as const) {
      for (const rounds of [undefined, 2]) {
        const spec = { seconds: 3, tailMs: 420, sections: true, rounds };
        const whole = buildDoc({ ...spec, workers: [...workers] });
        const shards = parts.map((p, index) => buildDoc({ ...spec, workers: [...p], shard: { index, count: parts.length } }));
        const { doc: m } = mergeResults(shards.map((doc, k) => ({ doc, file: `s${k}.json` })));
        assert.deepEqual(m.totals, whole.totals);
        assert.deepEqual(m.errors, whole.errors);
        assert.deepEqual(m.groups, whole.groups);
        assert.deepEqual(m.accounting, whole.accounting);
        assert.deepEqual(m.warmup!.totals, whole.warmup!.totals);
        assert.deepEqual(m.afterWindow, whole.afterWindow);
        assert.deepEqual(m.server, whole.server);
        assert.deepEqual(m.sends, whole.sends);
        assert.deepEqual(m.connectionLimit, whole.connectionLimit);
        assert.deepEqual(m.connections, whole.connections);
        assert.equal(m.handshakeBytes!.full!.count, whole.handshakeBytes!.full!.count);
        assert.equal(m.handshakeBytes!.resumed!.count, whole.handshakeBytes!.resumed!.count);
        for (const k of ['full', 'resumed'] as const) for (const f of ['sent', 'received'] as const) assert.ok(Math.abs(m.handshakeBytes![k]![f] - whole.handshakeBytes![k]![f]) <= 0.1, `${k}.${f}`);
        assert.deepEqual((numbers(m) as ResultDocument).latency, (numbers(whole) as ResultDocument).latency);
        assert.equal(m.intervals!.length, whole.intervals!.length);
        m.intervals!.forEach((i, k) => {
          const w = whole.intervals![k];
          assert.deepEqual([i.round, i.counters], [w.round, w.counters], `interval ${k}`);
          assert.equal(decodeHistogram(i.histograms!.handshake!).totalCount, decodeHistogram(w.histograms!.handshake!).totalCount);
        });
        assert.equal(m.rounds?.length, whole.rounds?.length);
        for (const [k, r] of (m.rounds ?? []).entries()) assert.deepEqual([r.totals, r.errors, r.latency.handshake!.p99], [whole.rounds![k].totals, whole.rounds![k].errors, whole.rounds![k].latency.handshake!.p99]);
        // Workers cut a few ms apart, so the whole's rate and the shards' summed rates differ by that little.
        assert.ok(near(m.rates.handshakesPerSec!.mean, whole.rates.handshakesPerSec!.mean, 0.005), `${m.rates.handshakesPerSec!.mean} vs ${whole.rates.handshakesPerSec!.mean}`);
        assert.ok(near(m.duration, whole.duration, 0.005));
        assert.equal(m.client!.workers, whole.client!.workers);
        assert.equal(m.client!.cpuUsPerOp, whole.client!.cpuUsPerOp);
      }
    }
  });

  for (const skewMs of [0, 600, 2500]) {
    it(`two shards at 1,000/s for 10 s, ${skewMs} ms apart: the merged rate is the sum of theirs (2,000/s), the union and overlap are reported`, () => {
      const shards = [0, 1].map((index) => buildDoc({ workers: [index], seconds: 10, perSecond: 998, t0: T0 + index * skewMs, shard: { index, count: 2 } }));
      const { doc: m, warnings } = mergeResults(shards.map((doc, k) => ({ doc, file: `s${k}.json` })));
      const sum = shards[0].rates.handshakesPerSec!.mean + shards[1].rates.handshakesPerSec!.mean;
      assert.ok(near(sum, 2000, 0.01), `shards ${sum}`);
      const mean = m.rates.handshakesPerSec!.mean;
      assert.ok(near(mean, 2000, 0.01), `merged ${mean}/s with ${skewMs} ms skew`);
      assert.equal(mean, sum);
      assert.equal(m.intervals!.length, 10, 'no extra half-filled second');
      for (const r of m.rates.handshakesPerSec!.intervals) assert.ok(near(r, 2000, 0.01), `second at ${r}/s`);
      assert.equal(m.totals.handshakes, shards[0].totals.handshakes + shards[1].totals.handshakes);
      const w = m.merged!.window!;
      assert.equal(w.rates, 'sum');
      assert.ok(Math.abs(w.unionS - (10 + skewMs / 1000)) < 0.01, `union ${w.unionS}`);
      assert.ok(Math.abs(w.overlapS - (10 - skewMs / 1000)) < 0.01, `overlap ${w.overlapS}`);
      assert.equal(m.merged!.startSkewMs, skewMs);
      assert.equal(warnings.some((x) => /opened up to/.test(x)), skewMs > 100);
      // compare and report read it: it is a valid document.
      validateResult(JSON.parse(JSON.stringify(m)), 'merged');
    });
  }

  it('inputs that did not run together merge as consecutive parts of one run: total over their summed time', () => {
    const docs = [0, 1].map((k) => buildDoc({ workers: [k], seconds: 5, perSecond: 998, t0: T0 + k * 20_000 }));
    const { doc: m, warnings } = mergeResults(docs.map((doc, k) => ({ doc, file: `r${k}.json` })));
    const mean = m.rates.handshakesPerSec!.mean;
    assert.ok(near(mean, 1000, 0.01), `merged ${mean}/s`);
    assert.ok(near(mean, m.totals.handshakes / (docs[0].duration + docs[1].duration), 1e-9));
    assert.equal(m.intervals!.length, 10);
    assert.equal(m.merged!.window!.rates, 'consecutive');
    assert.equal(m.merged!.window!.overlapS, 0);
    assert.match(warnings.join('\n'), /do not all overlap/);
  });

  it('every section of a single document survives the merge', () => {
    const docs = [0, 1].map((index) => buildDoc({ workers: [index], seconds: 2, tailMs: 300, rounds: 2, sections: true, shard: { index, count: 2 } }));
    const { doc: m } = mergeResults(docs.map((doc, k) => ({ doc, file: `s${k}.json` })));
    const expected = Object.keys(docs[0]).filter((k) => k !== 'shard');
    // Every section buildResult can write is in this document (so a new one fails here until merge keeps it).
    for (const k of ['intervals', 'rounds', 'accounting', 'warmup', 'afterWindow', 'client', 'server', 'handshakeBytes', 'groups', 'rateTarget', 'errorRate', 'connectionLimit', 'connections', 'sends', 'perConnection', 'startAt']) {
      assert.ok(expected.includes(k), `the test document lacks ${k}`);
    }
    assert.deepEqual(expected.filter((k) => !(k in m)), []);
    assert.ok('merged' in m && 'shards' in m);
    assert.deepEqual(m.groups, Object.fromEntries(Object.keys(docs[0].groups!).map((g) => [g, docs[0].groups![g] + docs[1].groups![g]])));
    assert.equal(m.rateTarget!.requested, docs[0].rateTarget!.requested + docs[1].rateTarget!.requested);
    assert.equal(m.rateTarget!.achieved, docs[0].rateTarget!.achieved + docs[1].rateTarget!.achieved);
  });
});
