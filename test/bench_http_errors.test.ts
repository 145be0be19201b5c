// bench http against misbehaving servers written here in a few lines each (TLS with HTTP/1.1 by
// hand, HTTP/2 frames by hand): every one must give counted errors and a finished report within
// the run, never a hang.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { dump, runCliJson } from './helpers/cli';
import { frame, u32 } from './helpers/h2_frames';
import { Closable, creds, h1Server, h2Data, h2Status200, listen, rawH2Server } from './helpers/http_peers';
import { withTempDir } from './helpers/temp_dir';


describe('bench http against misbehaving servers', function () {
  this.timeout(30_000);
  let server: Closable | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
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
    const port = server.port;
    const r = await withTempDir('iocptls-body-', async (dir) => {
      const bodyFile = path.join(dir, 'body');
      fs.writeFileSync(bodyFile, Buffer.alloc(100_000, 'p'));
      return runCliJson(['bench', 'http', `127.0.0.1:${port}`, '--http', '2', '--method', 'POST', '--body', `@${bodyFile}`, '-d', '2', '--warmup', '0', '-c', '1', '-w', '1', '--timeout', '500', '--max-error-rate', '100']);
    });
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    assert.ok(r.doc.errors.timeout > 0, JSON.stringify(r.doc.errors));
    assert.equal(r.doc.totals.roundTrips, 0);
  });
});
