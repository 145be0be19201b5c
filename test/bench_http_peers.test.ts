// bench http against peers we did not write: Node's http2 server (its own count of what it
// served equals ours), the embedded default (serve --mode http), and a server without h2.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { dump, runCli, runCliJson } from './helpers/cli';
import { Closable, creds, h1Server, listen } from './helpers/http_peers';
import { withTempDir } from './helpers/temp_dir';

/** Every phase's count of a document. */
const responses = (d: any) => d.totals.roundTrips + (d.warmup?.totals.roundTrips ?? 0) + (d.afterWindow?.roundTrips ?? 0);

describe('bench http against Node peers and the embedded server', function () {
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

  it('--rounds, --hgrm and --html, then compare (requests/s and request latency gate), merge (statuses added) and report of http documents', () =>
    withTempDir('iocptls-http-docs-', async (dir) => {
      const f = (n: string) => path.join(dir, n);
      const a = await runCli(['bench', 'http', '-d', '1', '--warmup', '0', '-c', '2', '--rounds', '2', '--round-pause', '0', '--json', '--hgrm', f('a.hgrm'), '--html', f('a.html')]);
      assert.equal(a.code, 0, dump(a));
      fs.writeFileSync(f('a.json'), a.stdout);
      const doc = JSON.parse(a.out);
      assert.equal(doc.kind, 'http');
      assert.equal(doc.rounds.length, 2);
      assert.ok(doc.rounds.every((r: any) => r.rates.requestsPerSec.mean > 0 && r.latency.request.count > 0));
      assert.match(fs.readFileSync(f('a.hgrm'), 'utf8'), /Percentile/);
      assert.match(fs.readFileSync(f('a.html'), 'utf8'), /Requests\/s/);
      const cmp = await runCli(['compare', f('a.json'), f('a.json'), '--json']);
      const rows = JSON.parse(cmp.out).rows.filter((r: any) => r.gated).map((r: any) => r.id);
      assert.ok(rows.some((id: string) => /requestsPerSec/.test(id)) && rows.some((id: string) => /request/.test(id) && /p50/.test(id)), JSON.stringify(rows));
      const m = await runCli(['merge', f('a.json'), f('a.json'), '--out', f('m.json')]);
      assert.equal(m.code, 0, dump(m));
      const merged = JSON.parse(fs.readFileSync(f('m.json'), 'utf8'));
      assert.deepEqual(merged.totals.statuses, { 200: doc.totals.statuses['200'] * 2 });
      assert.equal(merged.totals.bodyBytes, doc.totals.bodyBytes * 2);
      const rep = await runCli(['report', f('a.json')]);
      assert.equal(rep.code, 0, dump(rep));
      assert.match(rep.out, /Request latency/);
    }));

  it('bad input: one line naming the cause, exit 2, no load', async () => {
    for (const [args, why] of [
      [['http://127.0.0.1:1/'], /speaks HTTPS only/],
      [['--header', 'nocolon'], /--header 'nocolon' is not 'Name: value'/],
      [['--body', '@/nonexistent/body'], /--body @\/nonexistent\/body: cannot read \(ENOENT\)/],
      [['--alpn', 'h2'], /use --http 1\.1\|2\|auto instead of --alpn/],
    ] as Array<[string[], RegExp]>) {
      const r = await runCli(['bench', 'http', ...args, '-d', '1']);
      assert.equal(r.code, 2, dump(r));
      assert.match(r.stderr, why);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
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

});
