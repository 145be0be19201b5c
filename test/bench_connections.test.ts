// bench connections against independent observers: a Node TLS server in this process counts the
// connections it holds at once, the handshakes and the bytes; what bench connections reports
// (connections reached, failures by reason, round trips, memory) must agree with it.
import assert from 'node:assert/strict';
import { decodeHistogram } from '../src/engine/stats/histograms';
import { dump, runCli, runCliJson } from './helpers/cli';
import { CountingServer, startCountingServer, startResettingServer } from './helpers/bench_peers';
import { closedPort } from './helpers/free_port';

/** The counting server, plus the most TLS connections it held at once (counted from secureConnection to close). */
async function peakCountingServer(mode: 'idle' | 'echo'): Promise<CountingServer & { held: number; peak: number }> {
  const s = (await startCountingServer({ minVersion: 'TLSv1.3' }, mode)) as CountingServer & { held: number; peak: number };
  s.held = 0;
  s.peak = 0;
  s.server.on('secureConnection', (sock) => {
    s.peak = Math.max(s.peak, ++s.held);
    sock.on('close', () => s.held--);
  });
  return s;
}

describe('bench connections', function () {
  this.timeout(120_000);
  let server: CountingServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('holds every connection at once: reached agrees with the most the server held, silent connections move no bytes', async () => {
    const s = await peakCountingServer('idle');
    server = s;
    const r = await runCliJson(['bench', 'connections', `127.0.0.1:${s.port}`, '-c', '300', '--ramp', '600', '-d', '2', '-w', '2'], { killAfterMs: 90_000 });
    await s.idle(10_000);
    const c = r.doc.connections;
    console.log(`      held: reached ${c.reached}/${c.wanted}, ramp ${c.rampMs} ms, ${(c.memory.perConnectionBytes / 1024).toFixed(1)} KiB RSS per connection; server peak ${s.peak}, handshakes ${s.handshakes}`);
    assert.equal(r.code, 0, dump(r));
    assert.equal(r.doc.kind, 'connections');
    assert.equal(c.wanted, 300);
    assert.equal(s.handshakes, 300);
    assert.equal(s.peak, 300, 'the server held all 300 at once');
    assert.equal(c.reached, s.peak);
    assert.equal(c.heldAtEnd, 300);
    assert.equal(r.doc.totals.handshakes, 300);
    assert.deepEqual(r.doc.errors, {});
    assert.equal(s.bytesIn, 0);
    assert.equal(r.doc.totals.bytesOut, 0);
    assert.equal(r.doc.totals.roundTrips, 0);
    assert.equal(r.doc.latency.rtt, undefined, 'no round trips, no round-trip latency');
    // 300 connections at 600/s: the ramp cannot be shorter than the schedule (299/600 s).
    assert.ok(c.rampMs >= 498, `ramp ${c.rampMs} ms`);
    assert.equal(c.memory.scope, 'client');
    assert.ok(c.memory.peakRssBytes >= c.memory.baselineRssBytes);
    assert.equal(c.memory.perConnectionBytes, Math.round((c.memory.peakRssBytes - c.memory.baselineRssBytes) / c.reached));
    // What the loops hold at the end is reported (idle connections' pairs are checked in serve_memory and memory_wave).
    assert.ok(Number.isInteger(c.memory.nativeAtEndBytes) && c.memory.nativeAtEndBytes > 0, `native buffers at the end: ${c.memory.nativeAtEndBytes}`);
    assert.equal(r.doc.params.ramp, 600);
  });

  it('with --message-size: echo round trips agree with the bytes the server saw, one histogram sample per round trip', async () => {
    const s = await peakCountingServer('echo');
    server = s;
    const r = await runCliJson(['bench', 'connections', `127.0.0.1:${s.port}`, '-c', '100', '--ramp', '0', '-d', '3', '--message-size', '32', '--interval', '200'], {
      killAfterMs: 90_000,
    });
    await s.idle(10_000);
    const d = r.doc;
    console.log(`      echo: ${d.totals.roundTrips} round trips, p50 ${d.latency.rtt?.p50} µs; server read ${s.bytesIn} B, client wrote ${d.totals.bytesOut} B`);
    assert.equal(r.code, 0, dump(r));
    assert.equal(s.peak, 100);
    assert.equal(d.connections.reached, 100);
    // Everything the client wrote reached the server (close_notify after the last message).
    assert.equal(s.bytesIn, d.totals.bytesOut);
    assert.equal(d.totals.bytesOut % 32, 0);
    const sent = d.totals.bytesOut / 32;
    // Each connection may have one message out when the window closed (its echo not counted).
    assert.ok(d.totals.roundTrips <= sent && d.totals.roundTrips >= sent - 100, `${d.totals.roundTrips} round trips, ${sent} messages sent`);
    // ~3 s at one message per 200 ms per connection: well above a third of that, never above it by more than the ramp's slack.
    assert.ok(d.totals.roundTrips > 100 * 5, `only ${d.totals.roundTrips} round trips`);
    assert.ok(sent <= 100 * (3000 / 200 + 2), `${sent} messages: more than the interval allows`);
    const h = decodeHistogram(d.latency.rtt.encoded);
    assert.equal(h.totalCount, d.totals.roundTrips);
    assert.equal(d.params.messageSize, 32);
    assert.equal(d.params.interval, 200);
  });

  it('failures by reason: a closed port is "refused" for every connection, nothing reached, exit 1', async () => {
    const port = await closedPort();
    const r = await runCliJson(['bench', 'connections', `127.0.0.1:${port}`, '-c', '50', '--ramp', '0', '-d', '1']);
    assert.equal(r.code, 1, dump(r));
    assert.deepEqual(r.doc.errors, { refused: 50 });
    assert.equal(r.doc.connections.reached, 0);
    assert.equal(r.doc.connections.memory.perConnectionBytes, 0);
    assert.match(r.stderr, /no connection was established \(50 errors, mostly 'refused'\)/);
  });

  it('failures by reason: a server that resets every second connection; reached and errors add up to -c', async () => {
    const s = await startResettingServer(2);
    server = s;
    const r = await runCliJson(['bench', 'connections', `127.0.0.1:${s.port}`, '-c', '40', '--ramp', '0', '-d', '1', '--max-error-rate', '60']);
    await s.idle(10_000);
    assert.equal(r.code, 0, dump(r));
    assert.deepEqual(r.doc.errors, { reset: 20 });
    assert.equal(r.doc.connections.reached, 20);
    assert.equal(s.handshakes, 20);
  });

  it('the table shows what was reached and the memory per connection; --warmup is refused', async () => {
    const s = await peakCountingServer('idle');
    server = s;
    const r = await runCli(['bench', 'connections', `127.0.0.1:${s.port}`, '-c', '20', '-d', '1', '--no-plot'], { killAfterMs: 60_000 });
    assert.equal(r.code, 0, dump(r));
    assert.match(r.out, /│ Reached\s+│ 20 of 20 connections held at once, ramp [\d.]+ m?s, 20 open at the end/);
    assert.match(r.out, /│ Memory\s+│ [\d.]+ [kMG]?B per connection \(RSS [\d.]+ [kMG]?B -> [\d.]+ [kMG]?B, client\)/);
    assert.match(r.out, /│ At the end\s+│ client loops' native buffers [\d.]+ [kMG]?B/);
    const w = await runCli(['bench', 'connections', '-c', '5', '--warmup', '1']);
    assert.equal(w.code, 2, dump(w));
    assert.match(w.stderr, /^iocptls: bench connections measures from the first connect: leave out --warmup/m);
  });
});
