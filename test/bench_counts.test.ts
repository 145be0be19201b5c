// bench's counts against an independent observer: a Node.js TLS server in this process counts
// handshakes, bytes and echoed messages from its own side, and bench must agree with it.
import assert from 'node:assert/strict';
import { dump, runCliJson } from './helpers/cli';
import { CountingServer, startCountingServer } from './helpers/bench_peers';

const target = (s: CountingServer) => `127.0.0.1:${s.port}`;

describe('bench counts agree with a Node.js TLS server', function () {
  this.timeout(30_000);
  let server: CountingServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    it(`handshake -n 300 -c 8 (${version}, RST after the handshake): bench and server both count 300`, async () => {
      server = await startCountingServer({ minVersion: version, maxVersion: version });
      const r = await runCliJson(['bench', 'handshake', target(server), '-n', '300', '-c', '8']);
      assert.equal(r.code, 0, dump(r));
      const d = r.doc;
      assert.equal(d.totals.handshakes, 300, dump(r));
      assert.equal(d.totals.errors, 0, JSON.stringify(d.errors));
      assert.equal(d.negotiated.protocol, version);
      assert.equal(d.params.close, 'rst');
      // The RST follows the client's last flight at once: the server must still complete every handshake.
      await server.idle();
      assert.equal(server.handshakes, 300, `server saw ${server.handshakes} handshakes of ${server.accepted} connections`);
      assert.equal(server.accepted, 300);
      // Every handshake has its latency sample.
      assert.equal(d.latency.handshake.count, 300);
    });
  }

  it('handshake --close fin: the same count, with close_notify', async () => {
    server = await startCountingServer({ minVersion: 'TLSv1.3' });
    const r = await runCliJson(['bench', 'handshake', target(server), '-n', '200', '-c', '4', '--close', 'fin']);
    assert.equal(r.code, 0, dump(r));
    assert.equal(r.doc.totals.handshakes, 200);
    await server.idle();
    assert.equal(server.handshakes, 200);
  });

  it('throughput --direction up: bench bytesOut == bytes the server received', async () => {
    server = await startCountingServer({}, 'sink');
    const r = await runCliJson(['bench', 'throughput', target(server), '--direction', 'up', '-d', '1', '--warmup', '0', '-c', '2']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    assert.equal(d.totals.errors, 0, JSON.stringify(d.errors));
    assert.ok(d.totals.bytesOut > 1e6, `only ${d.totals.bytesOut} bytes sent`);
    await server.idle();
    assert.equal(d.totals.bytesOut, server.bytesIn, `bench counted ${d.totals.bytesOut}, server received ${server.bytesIn}`);
    assert.equal(d.totals.bytesIn, 0);
  });

  it('throughput --direction down: 0 < bench bytesIn <= bytes the server sent', async () => {
    server = await startCountingServer({}, 'source');
    const r = await runCliJson(['bench', 'throughput', target(server), '--direction', 'down', '-d', '1', '--warmup', '0', '-c', '2']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    assert.ok(d.totals.bytesIn > 1e6, `only ${d.totals.bytesIn} bytes received`);
    await server.idle();
    assert.ok(d.totals.bytesIn <= server.bytesOut, `bench counted ${d.totals.bytesIn}, server sent ${server.bytesOut}`);
    assert.equal(server.bytesIn, 0);
  });

  it('throughput --pingpong 64 -c 4: round trips == messages the server echoed (within the in-flight ones)', async () => {
    server = await startCountingServer({}, 'echo');
    const r = await runCliJson(['bench', 'throughput', target(server), '--pingpong', '64', '-d', '1', '--warmup', '0', '-c', '4']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    assert.equal(d.kind, 'pingpong');
    assert.ok(d.totals.roundTrips > 100, `only ${d.totals.roundTrips} round trips`);
    await server.idle();
    const echoed = server.bytesOut / 64;
    assert.ok(Number.isInteger(echoed), `server echoed ${server.bytesOut} bytes, not whole messages`);
    assert.ok(d.totals.roundTrips <= echoed && echoed <= d.totals.roundTrips + 4, `bench ${d.totals.roundTrips} round trips, server echoed ${echoed}`);
    assert.equal(d.totals.bytesOut, server.bytesIn, 'every ping bench counted reached the server');
    assert.equal(d.latency.rtt.count, d.totals.roundTrips);
  });
});
