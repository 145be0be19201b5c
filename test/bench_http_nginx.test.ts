// bench http against nginx, an independent server: the requests, statuses and bytes bench counts
// (warmup, window and drain added up) must equal nginx's own access log, line for line.
import assert from 'node:assert/strict';
import { dump, runCliJson } from './helpers/cli';
import { AccessLine, ensureNginx, NginxHttp, startNginxHttp } from './helpers/nginx';

/** Every phase of a document added: what the server must have logged. */
function allPhases(d: any): { responses: number; statuses: Record<string, number>; headerBytes: number; bodyBytes: number } {
  const parts = [d.totals, d.warmup?.totals, d.afterWindow].filter(Boolean);
  const statuses: Record<string, number> = {};
  for (const p of parts) for (const [k, n] of Object.entries(p.statuses ?? {})) statuses[k] = (statuses[k] ?? 0) + (n as number);
  return {
    responses: parts.reduce((a, p) => a + p.roundTrips, 0),
    statuses,
    headerBytes: parts.reduce((a, p) => a + (p.headerBytes ?? 0), 0),
    bodyBytes: parts.reduce((a, p) => a + (p.bodyBytes ?? 0), 0),
  };
}

function logTotals(log: AccessLine[]) {
  const statuses: Record<string, number> = {};
  for (const l of log) statuses[l.status] = (statuses[l.status] ?? 0) + 1;
  return {
    responses: log.length,
    statuses,
    bytes: log.reduce((a, l) => a + l.bytesSent, 0),
    bodyBytes: log.reduce((a, l) => a + l.bodyBytesSent, 0),
  };
}

describe('bench http against nginx: counts equal the access log', function () {
  this.timeout(60_000);
  const nginx = ensureNginx();
  let server: NginxHttp | undefined;
  before(function () {
    if (!nginx.bin) this.skip();
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it(`HTTP/1.1 keep-alive, two paths (one a 404), pipelining 4: requests, statuses and bytes equal nginx's log${nginx.why ? ` (skipped: ${nginx.why})` : ''}`, async () => {
    server = await startNginxHttp(nginx.bin!, { files: { 'a.html': 1000, 'b.bin': 20_000 } });
    const url = `https://127.0.0.1:${server.port}/a.html`;
    const r = await runCliJson(['bench', 'http', url, '--path', '/a.html', '--path', '/b.bin', '--path', '/missing', '--expect-status', '200,404', '-c', '4', '--pipeline', '4', '-d', '2', '--warmup', '300ms', '--http', '1.1', '-w', '1']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    await server.stop();
    const log = logTotals(server.log());
    const ours = allPhases(d);
    assert.equal(d.accounting.cutOff, 0, 'the drain must let every request finish');
    assert.ok(ours.responses > 100, `only ${ours.responses} responses`);
    assert.equal(ours.responses, log.responses, `bench read ${ours.responses} responses, nginx logged ${log.responses}`);
    assert.deepEqual(ours.statuses, log.statuses);
    assert.equal(ours.bodyBytes, log.bodyBytes);
    assert.equal(ours.headerBytes + ours.bodyBytes, log.bytes, 'heads + bodies = $bytes_sent');
    assert.ok(server.log().every((l) => l.protocol === 'HTTP/1.1'));
    assert.equal(d.negotiated.alpn, 'http/1.1');
    // Accounting: every request sent is answered (404s asked for are successes here).
    assert.equal(d.accounting.started, ours.responses);
    assert.equal(d.accounting.failed, 0);
    assert.equal(d.totals.errors, 0, JSON.stringify(d.errors));
    // A head read in the warmup (or a response finished in the drain) puts one sample on one side only: at most the requests in flight.
    assert.ok(d.latency.request.count > 0 && Math.abs(d.latency.ttfb.count - d.latency.request.count) <= 16);
  });

  it('--requests-per-connection 10 --resume tickets -n 300: 300 requests logged, 30 connections, resumed handshakes', async () => {
    server = await startNginxHttp(nginx.bin!, { extra: 'ssl_session_tickets on;' });
    const r = await runCliJson(['bench', 'http', `https://127.0.0.1:${server.port}/index.html`, '-n', '300', '-c', '3', '--requests-per-connection', '10', '--resume', 'tickets', '--http', '1.1', '-w', '1']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    await server.stop();
    const log = logTotals(server.log());
    assert.equal(log.responses, 300);
    assert.equal(d.totals.roundTrips, 300);
    assert.equal(d.totals.handshakes, 30);
    assert.ok(d.totals.resumed > 0, `no resumed handshake: ${JSON.stringify(d.totals)}`);
    assert.deepEqual(d.totals.statuses, { 200: 300 });
    assert.equal(d.totals.bodyBytes, log.bodyBytes);
  });

  it('HTTP/2 (ALPN h2), 8 streams per connection, a 1 MB response among small ones: requests, statuses and body bytes equal nginx\'s log', async () => {
    server = await startNginxHttp(nginx.bin!, { http2: true, files: { 'index.html': 1024, 'big.bin': 1_000_000 } });
    const r = await runCliJson(['bench', 'http', `https://127.0.0.1:${server.port}/`, '--path', '/index.html', '--path', '/index.html', '--path', '/big.bin', '-c', '2', '-m', '8', '-d', '2', '--warmup', '300ms', '-w', '1']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    await server.stop();
    const lines = server.log();
    const log = logTotals(lines);
    const ours = allPhases(d);
    assert.equal(d.negotiated.alpn, 'h2');
    assert.ok(lines.every((l) => l.protocol === 'HTTP/2.0'), 'nginx saw HTTP/2 only');
    assert.equal(d.accounting.cutOff, 0);
    assert.ok(ours.responses > 50, `only ${ours.responses} responses`);
    assert.equal(ours.responses, log.responses);
    assert.deepEqual(ours.statuses, log.statuses);
    // HTTP/2 heads are HPACK blocks (nginx's $bytes_sent counts frames too): the bodies are what compare.
    assert.equal(ours.bodyBytes, log.bodyBytes);
    assert.ok(lines.filter((l) => l.uri === '/big.bin').length > 0, 'the large response was fetched');
    assert.equal(d.totals.errors, 0, JSON.stringify(d.errors));
  });

  it('a status other than --expect-status is counted by code and as a failed request', async () => {
    server = await startNginxHttp(nginx.bin!);
    const r = await runCliJson(['bench', 'http', `https://127.0.0.1:${server.port}/nope`, '-n', '50', '-c', '2', '--http', '1.1', '-w', '1', '--max-error-rate', '100']);
    assert.equal(r.code, 0, dump(r));
    const d = r.doc;
    assert.deepEqual(d.totals.statuses, { 404: 50 });
    assert.deepEqual(d.errors, { 'status 404': 50 });
    assert.equal(d.accounting.failed, 50);
    assert.equal(d.accounting.succeeded, 0);
  });
});
