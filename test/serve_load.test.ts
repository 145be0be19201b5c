// `iocptls serve` under load and abuse: many concurrent clients spread over workers, bad clients
// among good ones (each failure counted by reason, nothing leaked), and signals during load.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { fixture } from './helpers/cli';
import { CA, connectTls, dumpServe, echoOnce, readN, ServeProcess, servesEachTest, sleep, startServe, until } from './helpers/serve';

const CERT = ['--cert', fixture('localhost.pem'), '--key', fixture('localhost.key')];

/** Resolves when the socket is closed (by either side); errors are part of the expected outcome. */
function closed(s: net.Socket, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let err = '';
    s.on('error', (e: NodeJS.ErrnoException) => (err = e.code ?? e.message));
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('the server never closed the connection'));
    }, timeoutMs);
    s.once('close', () => {
      clearTimeout(t);
      resolve(err || 'closed');
    });
  });
}

function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

// The first bytes of a TLS 1.2/1.3 ClientHello record (handshake, length 512, ClientHello, ...).
// record: handshake, TLS 1.0, 512 bytes; handshake: ClientHello, 508 bytes, client_version 1.2, random...
const CLIENT_HELLO_PREFIX = Buffer.concat([Buffer.from('16030102000100 01fc0303'.replace(/ /g, ''), 'hex'), Buffer.alloc(32, 0x11)]);

const badClients = {
  async garbage(port: number) {
    const s = await rawConnect(port);
    s.resume();
    s.write(Buffer.from('\x00\x01\x02 definitely not TLS \xff\xfe\r\n'.repeat(4), 'latin1'));
    return closed(s);
  },
  async plainHttp(port: number) {
    const s = await rawConnect(port);
    let reply = '';
    s.on('data', (d) => (reply += d.toString('latin1')));
    s.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await closed(s);
    return reply;
  },
  async resetInHandshake(port: number) {
    const s = await rawConnect(port);
    s.on('error', () => {});
    s.write(CLIENT_HELLO_PREFIX);
    await sleep(50);
    s.resetAndDestroy();
  },
  async resetInTransfer(port: number) {
    const raw = await rawConnect(port);
    raw.on('error', () => {});
    const s = tls.connect({ socket: raw, ca: CA, servername: 'localhost' });
    s.on('error', () => {});
    await new Promise((r) => s.once('secureConnect', r));
    s.write(Buffer.alloc(50_000, 1));
    await new Promise((r) => s.once('data', r));
    raw.resetAndDestroy();
  },
  async silent(port: number) {
    // Never sends a byte: the server's --handshake-timeout closes it.
    const s = await rawConnect(port);
    return closed(s, 3000);
  },
  async tooOld(port: number) {
    // The server wants TLS 1.3; a TLS 1.2-only client gets a protocol_version alert.
    await assert.rejects(connectTls({ port, maxVersion: 'TLSv1.2' }), /alert|protocol|version/i);
  },
};

describe('serve: load and abuse', function () {
  this.timeout(60_000);
  const serve = servesEachTest();

  it('500 concurrent clients over 2 workers: all served, spread by SO_REUSEPORT', async () => {
    const s = await serve(['--workers', '2', ...CERT]);
    const N = 500;
    const msg = Buffer.from('ping from a concurrent client');
    const results = await Promise.allSettled(Array.from({ length: N }, () => echoOnce({ port: s.port }, msg, 30_000)));
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.equal(failed.length, 0, `failed clients: ${failed.slice(0, 5).map((f) => f.reason?.message).join('; ')}`);
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    const d = x.doc;
    assert.equal(d.workers, 2);
    assert.equal(d.totals.handshakes, N);
    assert.equal(d.connections.accepted, N);
    assert.equal(d.totals.bytesIn, N * msg.length);
    assert.equal(d.totals.bytesOut, N * msg.length);
    assert.deepEqual(d.totals.errors, {});
    const per = d.perWorker.map((w: { accepted: number }) => w.accepted);
    assert.equal(per.length, 2);
    assert.equal(per[0] + per[1], N);
    for (const a of per) assert.ok(a >= N / 4, `uneven spread across workers: ${per}`);
    assert.equal(d.perWorker[0].handshakes + d.perWorker[1].handshakes, N);
    assert.deepEqual(d.leftover, { connections: 0, recvBuffers: 0, pendingOps: 0, listeners: 0 });
  });

  it('bad clients among good ones: good ones all succeed, failures counted by reason, nothing leaks', async () => {
    const s = await serve(['--handshake-timeout', '500', '--tls-min', '1.3', ...CERT]);
    const baseline = s.fdCount();
    const good = () => echoOnce({ port: s.port }, Buffer.alloc(2000, 3));
    const jobs: Promise<unknown>[] = [];
    const outcomes: Record<string, unknown> = {};
    for (const [name, bad] of Object.entries(badClients)) {
      jobs.push(good(), bad(s.port).then((o) => (outcomes[name] = o)), good());
    }
    const settled = await Promise.allSettled(jobs);
    const failures = settled.map((r, i) => [i, r] as const).filter(([, r]) => r.status === 'rejected');
    assert.equal(failures.length, 0, failures.map(([i, r]) => `job ${i}: ${(r as PromiseRejectedResult).reason?.message}`).join('\n'));
    assert.match(String(outcomes.plainHttp), /^$|HTTP\/1\.[01] 400/, 'a plain HTTP client gets nothing or a 400, never a hang');

    // The descriptors of every bad connection are closed once the server is done with them.
    await until(() => s.fdCount() === baseline, `fds back to ${baseline} (now ${s.fdCount()})`, 3000);
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    const d = x.doc;
    if (process.env.SERVE_TEST_VERBOSE) console.log(JSON.stringify({ outcomes, errors: d.totals.errors, fds: baseline }));
    const goodCount = Object.keys(badClients).length * 2;
    // The mid-transfer reset client sent 50000 bytes, of which the server read some before the reset.
    assert.ok(d.totals.bytesIn > goodCount * 2000 && d.totals.bytesIn <= goodCount * 2000 + 50_000, `bytesIn ${d.totals.bytesIn}`);
    // Good clients + the mid-transfer reset client completed handshakes.
    assert.equal(d.totals.handshakes, goodCount + 1);
    assert.equal(d.connections.accepted, goodCount + Object.keys(badClients).length);
    const errors = d.totals.errors as Record<string, number>;
    const reasons = Object.keys(errors);
    const expect = (what: string, re: RegExp) =>
      assert.ok(reasons.some((r) => re.test(r)), `no error reason for ${what} (${re}) in ${JSON.stringify(errors)}`);
    expect('garbage bytes', /^tls: (wrong version number|record layer failure|packet length too long|unknown protocol)/);
    expect('plain HTTP', /^tls: http request/);
    expect('resets', /^reset$/);
    expect('silent client', /^timeout$/);
    expect('TLS 1.2 client vs --tls-min 1.3', /^tls: unsupported protocol/);
    // The mid-transfer reset is an error while the server still held bytes to echo, a close
    // (closedByReset) once it had echoed all it read: which one depends on where the reset lands.
    const closes = d.totals.closedByReset ?? 0;
    assert.ok(closes <= 1, `only the mid-transfer reset can be a close: ${closes}`);
    assert.equal(Object.values(errors).reduce((a, b) => a + b, 0) + closes, Object.keys(badClients).length, JSON.stringify(errors));
    assert.deepEqual(d.leftover, { connections: 0, recvBuffers: 0, pendingOps: 0, listeners: 0 });
  });

  it('source: a client that stops reading, then leaves, costs nothing afterwards', async () => {
    const s = await serve(['--mode', 'source', '--body-size', '16384', ...CERT]);
    const baseline = s.fdCount();
    const stalled = await connectTls({ port: s.port });
    stalled.pause(); // stop reading: the server's sends block on a full TCP window
    const readers = await Promise.all([1, 2, 3].map(() => readN({ port: s.port }, 1_000_000)));
    await sleep(500);
    assert.ok(stalled.bytesRead < 20_000_000, 'a paused client does not read');
    stalled.destroy();
    await until(() => s.fdCount() === baseline, `fds back to ${baseline}`, 3000);
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.ok(x.doc.totals.bytesOut >= readers.reduce((a, b) => a + b, 0));
    assert.equal(x.doc.totals.handshakes, 4);
    const errors = x.doc.totals.errors as Record<string, number>;
    assert.ok(Object.keys(errors).every((k) => k === 'reset' || k === 'eof'), JSON.stringify(errors));
    // A reset ends a source stream (there is no exchange to cut): a close, counted apart; a FIN
    // without close_notify stays an error ('eof').
    const left = Object.values(errors).reduce((a, b) => a + b, 0) + (x.doc.totals.closedByReset ?? 0);
    assert.equal(left, 4, `every client left without close_notify: ${JSON.stringify(errors)}, closedByReset ${x.doc.totals.closedByReset}`);
    assert.deepEqual(x.doc.leftover, { connections: 0, recvBuffers: 0, pendingOps: 0, listeners: 0 });
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during load: totals printed, exit 0 within a couple of seconds`, async () => {
      const s = await serve(CERT);
      let stop = false;
      let ok = 0;
      const hammer = async () => {
        while (!stop) {
          try {
            await echoOnce({ port: s.port }, Buffer.alloc(4000, 9), 5000);
            ok++;
          } catch {
            // after the signal the server goes away: refused / reset are expected
            await sleep(10);
          }
        }
      };
      const started = Date.now();
      const clients = Array.from({ length: 40 }, hammer);
      await until(() => ok >= 100, '100 exchanges before the signal', 20_000);
      const t0 = Date.now();
      const x = await s.stop(signal);
      stop = true;
      if (process.env.SERVE_TEST_VERBOSE) console.log(`${ok} exchanges in ${t0 - started} ms before ${signal}; exit after ${Math.round(x.stopMs)} ms`);
      await Promise.all(clients);
      assert.equal(x.code, 0, dumpServe(x));
      assert.ok(x.stopMs < 3000, `stopped after ${Math.round(x.stopMs)} ms`);
      assert.ok(x.doc, 'the --json totals document was printed');
      assert.ok(x.doc.totals.handshakes >= 100, `handshakes ${x.doc.totals.handshakes}`);
      assert.ok(x.doc.totals.bytesIn >= 100 * 4000);
      assert.deepEqual(x.doc.leftover, { connections: 0, recvBuffers: 0, pendingOps: 0, listeners: 0 });
    });
  }
});
