// bench http against peers we did not write: Node's http2 server (counts equal its own), the
// embedded default, and misbehaving servers written here in a few lines each — every one must
// give counted errors and a finished report within the run, never a hang.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { dump, fixture, runCli, runCliJson } from './helpers/cli';
import { frame, u32 } from './helpers/h2_frames';

const creds = () => ({ cert: fs.readFileSync(fixture('localhost.pem')), key: fs.readFileSync(fixture('localhost.key')) });

interface Closable {
  port: number;
  close(): Promise<void>;
}

function listen(server: tls.Server | http2.Http2SecureServer, onClose?: () => void): Promise<Closable> {
  return new Promise((resolve) => {
    const sockets = new Set<import('node:net').Socket>();
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as import('node:net').AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            onClose?.();
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      })
    );
  });
}

/** A TLS server that answers each HTTP/1.1 request head with `answer(n)` (n counts from 0), or does what it says. */
function h1Server(answer: (socket: tls.TLSSocket, n: number) => void): Promise<Closable> {
  let n = 0;
  // No ALPN: a server from before it, as a client offering h2 only may meet.
  const server = tls.createServer(creds(), (socket) => {
    let buf = '';
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        buf = buf.slice(i + 4);
        answer(socket, n++);
      }
    });
  });
  return listen(server);
}

/**
 * A raw HTTP/2 server over TLS, frames written by hand, to do what Node's http2 would not: each
 * request (HEADERS from the client) gets `answer(id, n)`'s frames (n counts requests on the
 * connection from 0). The client's SETTINGS are acknowledged; everything else it sends is ignored.
 */
function rawH2Server(answer: (id: number, n: number) => Buffer[]): Promise<Closable> {
  const server = tls.createServer({ ...creds(), ALPNProtocols: ['h2'] }, (socket) => {
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let preface = false;
    let n = 0;
    socket.write(frame(4, 0, 0)); // our (empty) SETTINGS
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!preface) {
        if (buf.length < 24) return;
        buf = buf.subarray(24);
        preface = true;
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) return;
        const type = buf[3];
        const flags = buf[4];
        const id = buf.readUInt32BE(5) & 0x7fffffff;
        buf = buf.subarray(9 + len);
        if (type === 4 && !(flags & 1)) socket.write(frame(4, 1, 0)); // SETTINGS ACK
        if (type === 1) for (const f of answer(id, n++)) socket.write(f);
      }
    });
  });
  return listen(server);
}

/** HEADERS with :status 200 (HPACK static index 8), END_HEADERS, and END_STREAM when `end`. */
const h2Status200 = (id: number, end: boolean) => frame(1, 0x4 | (end ? 0x1 : 0), id, [0x88]);
const h2Data = (id: number, bytes: number, end: boolean) => frame(0, end ? 0x1 : 0, id, Buffer.alloc(bytes, 'd'));

/** Every phase's count of a document. */
const responses = (d: any) => d.totals.roundTrips + (d.warmup?.totals.roundTrips ?? 0) + (d.afterWindow?.roundTrips ?? 0);

describe('bench http against Node peers and misbehaving servers', function () {
  this.timeout(30_000);
  let server: Closable | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('the embedded default: `bench http` with no target runs and prints its report', async () => {
    const r = await runCli(['bench', 'http', '-d', '1', '--warmup', '0', '-c', '2']);
    assert.equal(r.code, 0, dump(r));
    assert.match(r.out, /HTTP request benchmark · 127\.0\.0\.1:\d+ \(embedded server\)/);
    assert.match(r.out, /Responses\s+│\s+[\d,]+ \(200: [\d,]+\)/);
    assert.match(r.out, /Server answered\s+│\s+[\d,]+ requests, warmup and drain included: agrees with ours/);
    assert.match(r.out, /Request latency/);
  });

  it("Node's http2 server: streams, statuses and body bytes equal what it served", async () => {
    let served = 0;
    let bodyBytes = 0;
    const body = Buffer.alloc(3000, 'b');
    const s = http2.createSecureServer({ ...creds(), allowHTTP1: false });
    s.on('stream', (stream, headers) => {
      served++;
      const status = headers[':path'] === '/teapot' ? 418 : 200;
      stream.respond({ ':status': status, 'content-length': body.length });
      stream.end(body);
      bodyBytes += body.length;
    });
    server = await listen(s);
    const r = await runCliJson(['bench', 'http', `https://127.0.0.1:${server.port}/`, '--path', '/', '--path', '/teapot', '--expect-status', '200,418', '--http', '2', '-c', '2', '-m', '4', '-d', '1', '--warmup', '0', '-w', '1']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    assert.equal(d.negotiated.alpn, 'h2');
    assert.equal(d.accounting.cutOff, 0);
    assert.equal(responses(d), served);
    assert.equal(d.totals.bodyBytes + (d.afterWindow?.bodyBytes ?? 0) + (d.warmup?.totals.bodyBytes ?? 0), bodyBytes);
    assert.ok(d.totals.statuses['418'] > 0 && d.totals.statuses['200'] > 0, JSON.stringify(d.totals.statuses));
    assert.equal(d.totals.errors, 0, JSON.stringify(d.errors));
  });

  it('--http 2 against a server without h2: a counted error naming what the server chose, and exit 1', async () => {
    server = await h1Server((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const r = await runCliJson(['bench', 'http', `127.0.0.1:${server.port}`, '--http', '2', '-d', '1', '--warmup', '0', '-c', '1', '-w', '1']);
    assert.equal(r.code, 1, dump(r));
    assert.ok(r.doc.errors['no h2: the server chose no ALPN protocol'] > 0, JSON.stringify(r.doc.errors));
    assert.match(r.stderr, /no response came back/);
  });

  it('a wrong Content-Length (more body than it says): bad responses counted, connections replaced, report finished', async () => {
    server = await h1Server((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n0123456789'));
    const r = await runCliJson(['bench', 'http', `127.0.0.1:${server.port}`, '--http', '1.1', '-d', '1', '--warmup', '0', '-c', '2', '-w', '1', '--max-error-rate', '100']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    const bad = Object.entries(d.errors).filter(([k]) => k.startsWith('bad response:'));
    assert.ok(bad.length > 0, JSON.stringify(d.errors));
    assert.ok(d.totals.handshakes > 1, 'the broken connections were replaced');
    assert.equal(d.accounting.started, d.accounting.succeeded + d.accounting.failed + d.accounting.cutOff);
  });

  it('a connection closed mid-body: counted as such, never a hang', async () => {
    server = await h1Server((s, n) => {
      if (n % 3 === 2) {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a little');
        s.end();
      } else s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const r = await runCliJson(['bench', 'http', `127.0.0.1:${server.port}`, '--http', '1.1', '-d', '1', '--warmup', '0', '-c', '2', '-w', '1', '--max-error-rate', '100']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    assert.ok(d.errors['bad response: connection closed mid-response'] > 0, JSON.stringify(d.errors));
    assert.ok(d.totals.statuses['200'] > d.totals.errors, 'good responses between the cut ones');
  });

  it('a server that never answers: requests time out after --timeout, counted, report within the run', async () => {
    server = await h1Server(() => undefined);
    const r = await runCliJson(['bench', 'http', `127.0.0.1:${server.port}`, '--http', '1.1', '-d', '2', '--warmup', '0', '-c', '2', '-w', '1', '--timeout', '500', '--max-error-rate', '100']);
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    assert.ok(r.doc.errors.timeout > 0, JSON.stringify(r.doc.errors));
  });

  it('HTTP/2 streams reset mid-body (RST_STREAM CANCEL): counted by code, the connection goes on', async () => {
    // Every other response stops after 100 bytes of body with RST_STREAM CANCEL (code 8).
    server = await rawH2Server((id, n) => (n % 2 === 1 ? [h2Status200(id, false), h2Data(id, 100, false), frame(3, 0, id, u32(8))] : [h2Status200(id, false), h2Data(id, 4, true)]));
    const r = await runCliJson(['bench', 'http', `127.0.0.1:${server.port}`, '--http', '2', '-m', '4', '-d', '1', '--warmup', '0', '-c', '1', '-w', '1', '--max-error-rate', '100']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    assert.ok(d.errors['h2: RST_STREAM CANCEL'] > 0, JSON.stringify(d.errors));
    assert.ok(d.totals.statuses['200'] > 0);
    assert.equal(d.totals.handshakes + (d.warmup?.totals.handshakes ?? 0), 1, 'a stream reset does not cost the connection');
    assert.equal(d.accounting.started, d.accounting.succeeded + d.accounting.failed + d.accounting.cutOff);
  });

  it('HTTP/2 GOAWAY mid-run: streams above its last id fail as GOAWAY, a new connection carries on', async () => {
    // The 10th request of each connection gets its response and a GOAWAY naming it the last; later ones are never answered.
    let last = Infinity;
    server = await rawH2Server((id, n) => {
      if (n === 0) last = Infinity;
      if (n === 9) {
        last = id;
        return [h2Status200(id, false), h2Data(id, 2, true), frame(7, 0, 0, Buffer.concat([u32(id), u32(0)]))];
      }
      return id > last ? [] : [h2Status200(id, false), h2Data(id, 2, true)];
    });
    const r = await runCliJson(['bench', 'http', `127.0.0.1:${server.port}`, '--http', '2', '-m', '8', '-d', '1', '--warmup', '0', '-c', '1', '-w', '1', '--max-error-rate', '100', '--timeout', '2000']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    assert.ok(d.totals.handshakes > 1, `new connections after each GOAWAY: ${JSON.stringify(d.totals)} ${JSON.stringify(d.errors)}`);
    assert.ok(d.errors['h2: GOAWAY NO_ERROR'] > 0, JSON.stringify(d.errors));
    assert.equal(d.accounting.started, d.accounting.succeeded + d.accounting.failed + d.accounting.cutOff);
  });

  it('HTTP/2 with a window that never opens (a POST body the server never lets in): timeouts, counted, within the run', async () => {
    const s = http2.createSecureServer({ ...creds(), settings: { initialWindowSize: 0 } });
    s.on('stream', (stream) => {
      stream.on('error', () => undefined);
      stream.pause(); // never reads: no WINDOW_UPDATE for the body
    });
    server = await listen(s);
    const bodyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-body-')), 'body');
    fs.writeFileSync(bodyFile, Buffer.alloc(100_000, 'p'));
    const r = await runCliJson(['bench', 'http', `127.0.0.1:${server.port}`, '--http', '2', '--method', 'POST', '--body', `@${bodyFile}`, '-d', '2', '--warmup', '0', '-c', '1', '-w', '1', '--timeout', '500', '--max-error-rate', '100']);
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    assert.ok(r.doc.errors.timeout > 0, JSON.stringify(r.doc.errors));
    assert.equal(r.doc.totals.roundTrips, 0);
  });
});
