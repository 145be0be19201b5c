// bench --rounds: several measured rounds in one document, each a complete run against the same
// target, whose sum is the run — counts added, histograms added (never averaged), rates over the
// summed time — and that reconciles with the embedded server's own count. Ctrl-C mid-rounds
// still reports the rounds done.
import assert from 'node:assert/strict';
import { decodeHistogram, mergeHistograms } from '../src/engine/stats/histograms';
import { dump, runCli, runCliJson } from './helpers/cli';

const LONG = { killAfterMs: 120_000 };

function checkRounds(d: any, rounds: number, count: (t: any) => number, requested = rounds): void {
  assert.equal(d.rounds.length, rounds);
  assert.equal(d.params.rounds, requested);
  // The run is the rounds added up.
  assert.equal(d.rounds.reduce((t: number, r: any) => t + count(r.totals), 0), count(d.totals));
  assert.ok(Math.abs(d.rounds.reduce((t: number, r: any) => t + r.duration, 0) - d.duration) < 1e-6);
  const key = d.kind === 'handshake' ? 'handshakesPerSec' : d.kind === 'pingpong' ? 'roundTripsPerSec' : 'bitsPerSec';
  const unit = d.kind === 'throughput' ? 8 : 1;
  assert.ok(Math.abs(d.rates[key].mean - (count(d.totals) * unit) / d.duration) < 1e-6 * d.rates[key].mean + 1e-9, 'rate over the summed time');
  // Intervals: one after the other, numbered across rounds, each tagged with its round, adding up to each round.
  d.intervals.forEach((s: any, i: number) => assert.equal(s.index, i));
  for (const r of d.rounds) {
    const own = d.intervals.filter((s: any) => s.round === r.index);
    assert.ok(own.length > 0, `round ${r.index} has intervals`);
    assert.equal(own.reduce((t: number, s: any) => t + count(s.counters), 0), count(r.totals));
  }
  // Rounds in time order, none overlapping the next.
  for (let i = 1; i < d.rounds.length; i++) {
    const prev = d.rounds[i - 1];
    assert.ok(new Date(d.rounds[i].start).getTime() >= new Date(prev.start).getTime() + prev.duration * 1000, `round ${i} starts after round ${i - 1} ends`);
  }
  assert.equal(d.accounting.started, d.accounting.succeeded + d.accounting.failed + d.accounting.cutOff);
}

/** The run's latency histogram is the rounds' added: same count, same percentiles. */
function checkHistogramsAdd(d: any, name: string): void {
  const whole = decodeHistogram(d.latency[name].encoded);
  const sum = mergeHistograms(d.rounds.map((r: any) => r.latency[name].encoded));
  assert.equal(whole.totalCount, sum.totalCount);
  for (const p of [50, 90, 99, 99.9, 100]) assert.equal(whole.getValueAtPercentile(p), sum.getValueAtPercentile(p), `p${p}`);
  assert.equal(d.latency[name].count, d.rounds.reduce((t: number, r: any) => t + r.latency[name].count, 0));
}

describe('bench --rounds', function () {
  this.timeout(180_000);

  it('handshake, 3 rounds against the embedded server: rounds add up to the run, and the server saw every handshake', async () => {
    const r = await runCliJson(['bench', '-c', '2', '-d', '500ms', '--rounds', '3', '--round-pause', '0.5', '--warmup', '0.5'], LONG);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    checkRounds(d, 3, (t) => t.handshakes);
    checkHistogramsAdd(d, 'handshake');
    assert.equal(d.params.roundPause, 0.5);
    // The pause is there: each round starts at least its warmup (0.5 s) + 0.5 s after the previous ended.
    for (let i = 1; i < 3; i++) {
      const prev = d.rounds[i - 1];
      const gap = new Date(d.rounds[i].start).getTime() - (new Date(prev.start).getTime() + prev.duration * 1000);
      assert.ok(gap >= 900, `gap before round ${i}: ${gap} ms`);
    }
    // One server served every round: warmups, windows and drains add up to its count.
    assert.equal(d.server.handshakes, d.warmup.totals.handshakes + d.totals.handshakes + d.afterWindow.handshakes);
    assert.ok(d.warmup.duration >= 1.4, `warmup ${d.warmup.duration} s: once per round`);
    console.log(`      rounds: ${d.rounds.map((x: any) => `${x.rates.handshakesPerSec.mean.toFixed(0)}/s`).join(', ')}; run ${d.rates.handshakesPerSec.mean.toFixed(0)}/s`);
  });

  it('text output: a per-round table and the round-to-round spread', async () => {
    const r = await runCli(['bench', '-c', '2', '-d', '500ms', '--rounds', '2', '--round-pause', '0', '--warmup', '0', '--no-plot'], LONG);
    assert.equal(r.code, 0, dump(r));
    assert.match(r.out, /│ Round │\s+Start │ Seconds │ Handshakes\/s │ Handshake p50 │\s+p99 │ Errors │/);
    assert.match(r.out, /│ 1\s+│ \+0\.0 s │/);
    assert.match(r.out, /│ 2\s+│ \+\d+\.\d s │/);
    assert.match(r.out, /Round to round: handshakes \S+ \.\. \S+, coefficient of variation \d+\.\d% over 2 rounds/);
  });

  it('throughput and ping-pong: rounds of bits and of round trips', async () => {
    const t = await runCliJson(['bench', 'throughput', '-d', '500ms', '--rounds', '2', '--round-pause', '0', '--warmup', '0'], LONG);
    assert.equal(t.code, 0, dump(t));
    checkRounds(t.doc, 2, (x) => x.bytesIn + x.bytesOut);
    assert.ok(t.doc.rounds.every((x: any) => x.rates.bitsPerSec.mean > 0));
    const p = await runCliJson(['bench', 'throughput', '--pingpong', '64', '-c', '2', '-d', '500ms', '--rounds', '2', '--round-pause', '0', '--warmup', '0'], LONG);
    assert.equal(p.code, 0, dump(p));
    checkRounds(p.doc, 2, (x) => x.roundTrips);
    checkHistogramsAdd(p.doc, 'rtt');
  });

  it('SIGINT mid-rounds: the rounds done (and the one cut short) are reported; exit 130', async () => {
    // 6 s: past the first round (1 s) and its start-up even on a loaded machine, far from the 20th.
    const r = await runCli(['bench', '-c', '2', '-d', '1', '--rounds', '20', '--round-pause', '0', '--warmup', '0', '--json'], { interruptAfterMs: 6000, killAfterMs: 90_000 });
    assert.equal(r.code, 130, r.stderr);
    const d = JSON.parse(r.out);
    assert.deepEqual(d.interrupted, { signal: 'SIGINT' });
    assert.ok(d.rounds.length >= 1 && d.rounds.length < 20, `${d.rounds.length} rounds`);
    console.log(`      interrupted after ${d.rounds.length} round(s), ${d.duration.toFixed(1)} s measured; last round interrupted: ${d.rounds.at(-1).interrupted === true}`);
    checkRounds(d, d.rounds.length, (t) => t.handshakes, 20);
    // Only the last round can have been cut short.
    assert.ok(d.rounds.slice(0, -1).every((x: any) => !x.interrupted));
    assert.equal(d.server.handshakes, d.warmup.totals.handshakes + d.totals.handshakes + d.afterWindow.handshakes);
  });

  it('bad --round-pause: one line, exit 2', async () => {
    const r = await runCli(['bench', '--rounds', '2', '--round-pause', 'soon']);
    assert.equal(r.code, 2, dump(r));
    assert.match(r.stderr, /--round-pause: 'soon' is not a length of time/);
    assert.ok(!/^\s+at /m.test(r.stderr), r.stderr);
  });
});
