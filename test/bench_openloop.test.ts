// Open loop vs closed loop against a server that stalls every handshake for 400 ms once a
// second (as wrk2 demonstrates coordinated omission): the closed loop only waits, so the stall
// is a handful of samples among thousands; the open loop keeps its schedule and measures each
// handshake from its intended start, so the stall shows in the high percentiles.
import assert from 'node:assert/strict';
import { dump, runCliJson } from './helpers/cli';
import { CountingServer, startStallingServer } from './helpers/bench_peers';

const STALL_MS = 400;
const PERIOD_MS = 1000;
const ms = (us: number) => Math.round(us / 100) / 10;

describe('bench handshake: open loop shows a stalling server, closed loop hides it', function () {
  this.timeout(40_000);
  let server: (CountingServer & { stalled: number }) | undefined;
  beforeEach(async () => {
    server = await startStallingServer(STALL_MS, PERIOD_MS);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('closed loop -c 4 -d 2: p50 and p90 stay low although the server stalls', async () => {
    const r = await runCliJson(['bench', 'handshake', `127.0.0.1:${server!.port}`, '-c', '4', '-d', '2', '--warmup', '0', '-w', '1']);
    assert.equal(r.code, 0, dump(r));
    const h = r.doc.latency.handshake;
    const info = `closed loop: ${r.doc.totals.handshakes} handshakes, p50 ${ms(h.p50)} ms, p90 ${ms(h.p90)} ms, p99 ${ms(h.p99)} ms, max ${ms(h.max)} ms; server stalled ${server!.stalled}`;
    console.log(`      ${info}`);
    assert.ok(server!.stalled > 0, info);
    assert.ok(h.p50 < 100_000 && h.p90 < 100_000, info);
    // The stall is there, but only in the few samples that waited it out.
    assert.ok(h.max >= 300_000, info);
    assert.equal(r.doc.rateTarget, undefined);
  });

  it('open loop --rate 100 -c 100 -d 3: p99 and max carry the stall; rateTarget met', async () => {
    // 100/s and X25519, not more: the Node.js server must keep up outside its stalls on a busy
    // 2-core machine (at 200/s and load 7 it fell behind and every start queued for a second; on
    // OpenSSL 3.5 the default ML-KEM hybrid costs the server more again).
    const r = await runCliJson(['bench', 'handshake', `127.0.0.1:${server!.port}`, '--rate', '100', '-c', '100', '-d', '3', '--warmup', '0', '-w', '1', '--groups', 'X25519']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    const h = d.latency.handshake;
    const info =
      `open loop: ${d.totals.handshakes} handshakes, p50 ${ms(h.p50)} ms, p90 ${ms(h.p90)} ms, p99 ${ms(h.p99)} ms, max ${ms(h.max)} ms; ` +
      `rateTarget ${JSON.stringify(d.rateTarget)}; server stalled ${server!.stalled}`;
    console.log(`      ${info}`);
    assert.equal(d.totals.errors, 0, JSON.stringify(d.errors));
    // About 40% of the starts land in a stall window and wait up to 400 ms from their intended start.
    assert.ok(h.p99 >= 300_000, info);
    assert.ok(h.max >= 300_000 && h.max < 2 * STALL_MS * 1000, info);
    assert.ok(h.p90 >= 150_000, info);
    assert.equal(d.params.rate, 100);
    assert.equal(d.rateTarget.requested, 100);
    assert.ok(Math.abs(d.rateTarget.achieved - 100) <= 10, info);
    assert.ok(d.rateTarget.shortfallPct >= 0 && d.rateTarget.shortfallPct < 10, info);
    // The rate is kept on the starts; handshakes still stalled when the window closed finish in the drain.
    assert.ok(Math.abs(d.totals.started - 300) <= 30, info);
    assert.ok(Math.abs(d.totals.handshakes + d.afterWindow.handshakes - d.totals.started) <= 5, info);
    assert.equal(d.accounting.started, d.accounting.succeeded + d.accounting.failed + d.accounting.cutOff);
  });

  it('open loop beyond what the server can do: rateTarget reports the shortfall, latency the queueing', async () => {
    // Two connections cannot do 20,000 handshakes/s against a Node server: the schedule falls behind,
    // and each start's wait for a free connection counts in its latency.
    const r = await runCliJson(['bench', 'handshake', `127.0.0.1:${server!.port}`, '--rate', '20000', '-c', '2', '-d', '2', '--warmup', '0', '-w', '1']);
    assert.equal(r.code, 0, dump(r));
    const rt = r.doc.rateTarget;
    const h = r.doc.latency.handshake;
    console.log(`      --rate 20000 -c 2: rateTarget ${JSON.stringify(rt)}, handshakes ${r.doc.totals.handshakes}, p50 ${ms(h.p50)} ms, max ${ms(h.max)} ms`);
    assert.equal(rt.requested, 20000);
    assert.ok(rt.achieved > 0 && rt.achieved < 10000, JSON.stringify(rt));
    assert.ok(Math.abs(rt.shortfallPct - ((20000 - rt.achieved) / 20000) * 100) < 1e-9, JSON.stringify(rt));
    assert.ok(Math.abs(rt.achieved - r.doc.totals.handshakes / r.doc.duration) / rt.achieved < 0.1, 'achieved is the measured handshake rate');
    // Late starts pile up: by the end of 2 s the newest handshakes were due long before they began.
    assert.ok(h.max >= 1_000_000, `max ${ms(h.max)} ms`);
  });
});
