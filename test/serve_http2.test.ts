// `serve --mode http` speaking HTTP/2 (ALPN h2) to clients we did not write: nghttp and h2load
// (nghttp2's reference clients), curl --http2, and Node's http2 client. Counts must agree exactly
// with the server's own totals; bodies have the configured size, also through tiny windows; and
// hostile clients (garbage after the preface, a window that never opens, a SETTINGS flood) end
// their own connections only, counted by reason, while a good client carries on.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import http2 from 'node:http2';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { Flag, FrameType, PREFACE, Setting } from '../src/engine/http/h2/frames';
import { HpackEncoder } from '../src/engine/http/h2/hpack';
import { dump, fixture, runCli } from './helpers/cli';
import { frame, settingsPayload } from './helpers/h2_frames';
import { CA, dumpServe, ServeProcess, servesEachTest, sleep, startServe } from './helpers/serve';

const run = promisify(execFile);
const CERT = ['--cert', fixture('localhost.pem'), '--key', fixture('localhost.key')];
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const HAS_NGHTTP = has('nghttp') && has('h2load');
const HAS_CURL_H2 = has('curl') && /HTTP2/.test(spawnSync('curl', ['--version']).stdout?.toString() ?? '');

/** Node's http2 client: n GETs (or the given methods) over one connection; [status, body bytes] each. */
async function nodeRequests(port: number, paths: Array<[string, string]>, settings: http2.Settings = {}): Promise<Array<[number, number]>> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: CA, servername: 'localhost', settings });
  try {
    return await Promise.all(
      paths.map(
        ([method, path]) =>
          new Promise<[number, number]>((resolve, reject) => {
            const req = session.request({ ':method': method, ':path': path });
            let status = 0;
            let n = 0;
            req.on('response', (h) => (status = Number(h[':status'])));
            req.on('data', (d: Buffer) => (n += d.length));
            req.on('end', () => resolve([status, n]));
            req.on('error', reject);
            req.end();
          }),
      ),
    );
  } finally {
    session.close();
  }
}

/** A raw TLS connection that has chosen h2: to play a client that breaks the rules. */
async function rawH2(port: number): Promise<tls.TLSSocket> {
  const s = tls.connect({ host: '127.0.0.1', port, ca: CA, servername: 'localhost', ALPNProtocols: ['h2'] });
  await new Promise<void>((resolve, reject) => {
    s.once('secureConnect', () => resolve());
    s.once('error', reject);
  });
  assert.equal(s.alpnProtocol, 'h2');
  s.on('error', () => {});
  return s;
}

function closed(s: tls.TLSSocket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  return new Promise((r) => s.once('close', () => r(Buffer.concat(chunks))));
}

describe('serve --mode http over HTTP/2', function () {
  this.timeout(60_000);
  // One server for the well-behaved clients (its totals are checked against all of them at the
  // end), one with 1 MiB bodies and a short header timeout for windows and hostile clients.
  let small: ServeProcess;
  let big: ServeProcess;
  /** Requests the clients saw answered by `small`, to compare with its own totals. */
  let answered = 0;
  before(async () => {
    [small, big] = await Promise.all([
      startServe(['--mode', 'http', ...CERT, '--body-size', '1000', '--workers', '2']),
      startServe(['--mode', 'http', ...CERT, '--body-size', String(1 << 20), '--header-timeout', '1500', '--workers', '1']),
    ]);
  });
  after(async () => {
    await Promise.all([small, big].map((s) => s?.stop('SIGKILL', 2000)));
  });
  const start = servesEachTest();

  it('nghttp -nv: ALPN h2, SETTINGS exchanged, a 200 with a --body-size body', async function () {
    if (!HAS_NGHTTP) return this.skip(); // apt-get install nghttp2-client
    const { stdout } = await run('nghttp', ['-nv', `https://127.0.0.1:${small.port}/any/path?q=1`]);
    answered++;
    assert.match(stdout, /The negotiated protocol: h2/);
    assert.match(stdout, /SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):128/);
    assert.match(stdout, /recv \(stream_id=\d+\) :status: 200/);
    assert.match(stdout, /recv \(stream_id=\d+\) content-length: 1000/);
    const data = [...stdout.matchAll(/recv DATA frame <length=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
    assert.equal(data, 1000);
  });

  it('h2load -n 2000 -c 4 -m 10: 2000 succeeded, data bytes exact', async function () {
    if (!HAS_NGHTTP) return this.skip();
    const { stdout } = await run('h2load', ['-n', '2000', '-c', '4', '-m', '10', `https://127.0.0.1:${small.port}/`]);
    assert.match(stdout, /requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout/, stdout);
    answered += 2000;
    assert.match(stdout, /status codes: 2000 2xx/);
    assert.match(stdout, /traffic: .* \(2000000\) data/, stdout);
  });

  it('curl --http2 gets h2, curl --http1.1 still HTTP/1.1, same body', async function () {
    if (!HAS_CURL_H2) return this.skip();
    const fmt = ['-s', '--cacert', fixture('ca.pem'), '-o', '/dev/null', '-w', '%{http_version} %{http_code} %{size_download}'];
    const url = `https://localhost:${small.port}/x`;
    const resolve = ['--resolve', `localhost:${small.port}:127.0.0.1`];
    assert.equal((await run('curl', [...fmt, ...resolve, '--http2', url])).stdout, '2 200 1000');
    assert.equal((await run('curl', [...fmt, ...resolve, '--http1.1', url])).stdout, '1.1 200 1000');
    assert.equal((await run('curl', [...fmt, ...resolve, '--http2', '-I', url])).stdout, '2 200 0');
    answered += 3;
  });

  it("Node's http2 client: 300 streams on one connection (GET, HEAD, POST -> 405)", async () => {
    const reqs: Array<[string, string]> = Array.from({ length: 300 }, (_, i) => [i % 10 === 1 ? 'HEAD' : i % 50 === 7 ? 'POST' : 'GET', `/${i}`]);
    const got = await nodeRequests(small.port, reqs);
    got.forEach(([status, n], i) => {
      const m = reqs[i][0];
      assert.equal(status, m === 'POST' ? 405 : 200, `${i}`);
      assert.equal(n, m === 'GET' ? 1000 : m === 'HEAD' ? 0 : 'method not allowed\n'.length, `${i}`);
    });
    answered += 300;
  });

  it('ALPN: h2 preferred, http/1.1 for a client that offers only it; --alpn http/1.1 refuses h2-only clients; --alpn h3 is refused', async () => {
    // Each connection completes an exchange, so the server's totals stay free of cut handshakes.
    for (const [offer, want] of [
      [['h2', 'http/1.1'], 'h2'],
      [['http/1.1', 'h2'], 'h2'],
      [['http/1.1'], 'http/1.1'],
    ] as Array<[string[], string]>) {
      const c = tls.connect({ host: '127.0.0.1', port: small.port, ca: CA, servername: 'localhost', ALPNProtocols: offer });
      await new Promise((r) => c.once('secureConnect', r));
      assert.equal(c.alpnProtocol, want, offer.join(','));
      const done = closed(c);
      if (want === 'h2') c.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0), frame(FrameType.GOAWAY, 0, 0, Buffer.alloc(8))]));
      else c.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      c.once('data', () => want === 'h2' && c.end());
      const reply = await done;
      if (want === 'h2') assert.equal(reply[3], FrameType.SETTINGS);
      else {
        assert.match(reply.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
        answered++;
      }
    }
    const h1only = await start(['--mode', 'http', ...CERT, '--alpn', 'http/1.1']);
    const c = tls.connect({ host: '127.0.0.1', port: h1only.port, ca: CA, servername: 'localhost', ALPNProtocols: ['h2'] });
    const err = await new Promise<Error>((r) => c.once('error', r));
    assert.match(String(err), /no application protocol|alert number 120/);
    const bad = await runCli(['serve', '--mode', 'http', '--alpn', 'h3,http/1.1', '--port', '0']);
    assert.equal(bad.code, 2, dump(bad));
    assert.match(bad.stderr, /^iocptls: --alpn h3: --mode http speaks h2 \(HTTP\/2 over TLS\) and HTTP\/1\.x only/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });

  it("the server's totals: exactly the requests the clients counted, no errors", async () => {
    const x = await small.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.equal(x.doc.totals.roundTrips, answered);
    assert.deepEqual(x.doc.totals.errors, {});
  });

  it('flow control: 1 MiB bodies whole through 1 KiB stream windows (h2load -w 10, Node initialWindowSize 1024)', async function () {
    const node = await nodeRequests(
      big.port,
      Array.from({ length: 3 }, (_, i) => ['GET', `/${i}`]),
      { initialWindowSize: 1024 },
    );
    assert.deepEqual(node, [
      [200, 1 << 20],
      [200, 1 << 20],
      [200, 1 << 20],
    ]);
    if (!HAS_NGHTTP) return;
    const { stdout } = await run('h2load', ['-n', '16', '-c', '1', '-m', '4', '-w', '10', '-W', '16', `https://127.0.0.1:${big.port}/`], { maxBuffer: 1 << 20 });
    assert.match(stdout, /requests: 16 total, 16 started, 16 done, 16 succeeded/, stdout);
    assert.match(stdout, new RegExp(`traffic: .* \\(${16 << 20}\\) data`), stdout);
  });

  it('hostile clients (garbage after the preface, a SETTINGS flood, a window that never opens) end only their own connections', async () => {
    const s = big;
    // Garbage after the preface: GOAWAY PROTOCOL_ERROR (the first frame must be SETTINGS), then close.
    const garbage = await rawH2(s.port);
    const garbageDone = closed(garbage);
    garbage.write(Buffer.concat([PREFACE, Buffer.from('this is not an HTTP/2 frame at all, just bytes\r\n\r\n')]));
    // A SETTINGS flood: 20,000 frames in one write.
    const flood = await rawH2(s.port);
    const floodDone = closed(flood);
    flood.write(Buffer.concat([PREFACE, ...Array.from({ length: 20_000 }, () => frame(FrameType.SETTINGS, 0, 0))]));
    // A window that never opens: SETTINGS_INITIAL_WINDOW_SIZE 0, then ten GETs of 1 MiB.
    const stalled = await rawH2(s.port);
    const stalledDone = closed(stalled);
    const enc = new HpackEncoder();
    const get = (): Array<[string, string]> => [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/'],
      [':authority', 'localhost'],
    ];
    stalled.write(
      Buffer.concat([
        PREFACE,
        frame(FrameType.SETTINGS, 0, 0, settingsPayload([[Setting.INITIAL_WINDOW_SIZE, 0]])),
        ...Array.from({ length: 10 }, (_, i) => frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 2 * i + 1, enc.encode(get()))),
      ]),
    );
    // Meanwhile a good client is served in full.
    const good = await nodeRequests(
      s.port,
      Array.from({ length: 20 }, (_, i) => ['GET', `/${i}`]),
    );
    assert.ok(good.every(([st, n]) => st === 200 && n === 1 << 20));
    const [g, f, st] = await Promise.all([garbageDone, floodDone, stalledDone]);
    // What each hostile client got last: a GOAWAY frame (type 7) with its code.
    const lastGoaway = (b: Buffer) => {
      for (let p = b.length - 17; p >= 0; p--) if (b[p + 3] === 7 && b.readUIntBE(p, 3) === 8 && b.readUInt32BE(p + 5) === 0) return b.readUInt32BE(p + 13);
      return -1;
    };
    assert.equal(lastGoaway(g), 0x1, 'garbage: PROTOCOL_ERROR');
    assert.equal(lastGoaway(f), 0xb, 'flood: ENHANCE_YOUR_CALM');
    assert.equal(lastGoaway(st), 0x0, 'stalled: GOAWAY NO_ERROR at the header timeout');
    // The stalled client got the heads and no DATA at all.
    await sleep(100);
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.deepEqual(x.doc.totals.errors, {
      'http2: PROTOCOL_ERROR': 1,
      'http2: ENHANCE_YOUR_CALM': 1,
      'http2: timeout with streams open': 1,
    });
    // 20 good, 10 stalled; and the flow control test's 3 + 16 (h2load) when nghttp2-client is there.
    assert.equal(x.doc.totals.roundTrips, 30 + 3 + (HAS_NGHTTP ? 16 : 0));
  });
});
