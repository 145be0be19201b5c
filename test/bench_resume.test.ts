// bench handshake --resume: what bench counts as resumed must be what the server resumed,
// counted on the server's side (Node's isSessionReused(), or iocptls serve's own totals).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { dump, runCliJson } from './helpers/cli';
import { CountingServer, startCountingServer } from './helpers/bench_peers';
import { findStreamNginx, startStreamNginx, StreamNginx } from './helpers/nginx_stream';
import { dumpServe, ServeProcess, sleep, startServe } from './helpers/serve';

const N = 200;

describe('bench handshake --resume agrees with the server', function () {
  this.timeout(30_000);
  let server: CountingServer | undefined;
  let serve: ServeProcess | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    if (serve) await serve.stop('SIGKILL');
    serve = undefined;
  });

  const bench = (port: number, ...more: string[]) => runCliJson(['bench', 'handshake', `127.0.0.1:${port}`, '-n', String(N), '-c', '4', ...more]);

  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    it(`--resume tickets against Node (${version}): resumed > 0 and == the server's reused sessions`, async () => {
      server = await startCountingServer({ minVersion: version, maxVersion: version });
      const r = await bench(server.port, '--resume', 'tickets');
      assert.equal(r.code, 0, dump(r));
      const t = r.doc.totals;
      await server.idle();
      const info = `bench ${t.resumed}/${t.handshakes} resumed, server ${server.reused}/${server.handshakes}`;
      console.log(`      ${info}`);
      assert.equal(t.handshakes, N, info);
      assert.equal(server.handshakes, N, info);
      assert.equal(t.errors, 0, JSON.stringify(r.doc.errors));
      assert.ok(t.resumed > N / 2, info); // all but the first few, which start before any session is at hand
      assert.equal(t.resumed, server.reused, info);
      assert.equal(t.full + t.resumed, t.handshakes);
      assert.equal(r.doc.params.resume, 'tickets');
    });
  }

  it('--resume tickets --resume-ratio 0.5: about half resume', async () => {
    server = await startCountingServer({ minVersion: 'TLSv1.3' });
    const r = await runCliJson(['bench', 'handshake', `127.0.0.1:${server.port}`, '-n', '400', '-c', '4', '--resume', 'tickets', '--resume-ratio', '0.5']);
    assert.equal(r.code, 0, dump(r));
    const t = r.doc.totals;
    await server.idle();
    const info = `bench ${t.resumed}/${t.handshakes} resumed, server ${server.reused}/${server.handshakes}`;
    console.log(`      ${info}`);
    assert.equal(t.handshakes, 400, info);
    assert.equal(t.resumed, server.reused, info);
    // Binomial(~396, 0.5): sd ~10, so 150..250 is a 5-sigma band.
    assert.ok(t.resumed >= 150 && t.resumed <= 250, info);
    assert.equal(r.doc.params.resumeRatio, 0.5);
  });

  it('--resume ids (TLS 1.2, server without tickets): resumes by session ID', async () => {
    // Node keeps no internal session cache: the newSession/resumeSession events are its session-ID cache.
    server = await startCountingServer({
      maxVersion: 'TLSv1.2',
      secureOptions: crypto.constants.SSL_OP_NO_TICKET,
      sessionIdContext: 'bench-test',
    });
    const cache = new Map<string, Buffer>();
    server.server.on('newSession', (id: Buffer, data: Buffer, cb: () => void) => {
      cache.set(id.toString('hex'), data);
      cb();
    });
    server.server.on('resumeSession', (id: Buffer, cb: (err: Error | null, data: Buffer | null) => void) => cb(null, cache.get(id.toString('hex')) ?? null));
    const r = await bench(server.port, '--resume', 'ids');
    assert.equal(r.code, 0, dump(r));
    const t = r.doc.totals;
    await server.idle();
    const info = `bench ${t.resumed}/${t.handshakes} resumed, server ${server.reused}/${server.handshakes}, ${cache.size} sessions cached`;
    console.log(`      ${info}`);
    assert.equal(t.handshakes, N, info);
    assert.equal(r.doc.negotiated.protocol, 'TLSv1.2');
    assert.ok(t.resumed > N / 2, info);
    assert.equal(t.resumed, server.reused, info);
    assert.ok(cache.size > 0 && cache.size < N, info);
  });

  it('--resume tickets against iocptls serve: resumed == serve --json totals.resumed', async () => {
    serve = await startServe(['-w', '1']);
    const r = await bench(serve.port, '--resume', 'tickets');
    assert.equal(r.code, 0, dump(r));
    const x = await serve.stop('SIGINT');
    serve = undefined;
    assert.ok(x.doc, dumpServe(x));
    const t = r.doc.totals;
    const info = `bench ${t.resumed}/${t.handshakes} resumed, serve ${x.doc.totals.resumed}/${x.doc.totals.handshakes}`;
    console.log(`      ${info}`);
    assert.equal(t.handshakes, N, info);
    assert.ok(t.resumed > N / 2, info);
    assert.equal(x.doc.totals.handshakes, N, info);
    assert.equal(x.doc.totals.resumed, t.resumed, info);
  });

  it('--resume ids against iocptls serve -w 2 --no-tickets: resumes by session ID on both workers, counts agree', async () => {
    serve = await startServe(['-w', '2', '--no-tickets']);
    const r = await bench(serve.port, '--resume', 'ids');
    assert.equal(r.code, 0, dump(r));
    const x = await serve.stop('SIGINT');
    serve = undefined;
    assert.ok(x.doc, dumpServe(x));
    const t = r.doc.totals;
    const info = `bench ${t.resumed}/${t.handshakes} resumed, serve ${x.doc.totals.resumed}/${x.doc.totals.handshakes}, cache ${JSON.stringify(x.doc.sessionCache)}`;
    console.log(`      ${info}`);
    assert.equal(r.doc.negotiated.protocol, 'TLSv1.2');
    assert.ok(t.resumed > N * 0.9, info);
    assert.equal(x.doc.totals.resumed, t.resumed, info);
    assert.equal(x.doc.sessionCache.hits, t.resumed, info);
  });
});

// nginx resuming by one mechanism only tells which one the client used: --resume ids must not
// resume where only tickets work (it did: the client never turned tickets off), and must where
// only session IDs work. nginx counts from its own side ($ssl_session_reused).
describe('bench handshake --resume against nginx configured for one mechanism', function () {
  this.timeout(120_000);
  let bin = '';
  let server: StreamNginx | undefined;
  before(function () {
    this.timeout(600_000); // may install nginx and its stream module
    const nginx = findStreamNginx();
    if (!nginx.bin) {
      console.log(`      skipped: ${nginx.why}`);
      this.skip();
    }
    bin = nginx.bin!;
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  const M = 100;
  const cases: [resumeBy: 'tickets' | 'ids', flag: 'tickets' | 'ids', resumes: boolean][] = [
    ['tickets', 'tickets', true],
    ['tickets', 'ids', false],
    ['ids', 'ids', true],
  ];
  for (const [resumeBy, flag, resumes] of cases) {
    it(`nginx resuming by ${resumeBy} only: --resume ${flag} ${resumes ? 'resumes' : 'never resumes'}, as nginx counts`, async () => {
      server = await startStreamNginx(resumeBy, bin);
      const r = await runCliJson(['bench', 'handshake', `127.0.0.1:${server.port}`, '-n', String(M), '-c', '2', '--resume', flag]);
      assert.equal(r.code, 0, dump(r));
      const t = r.doc.totals;
      let seen = server.reuse();
      for (let i = 0; i < 50 && seen.total < M; i++) {
        await sleep(100);
        seen = server.reuse();
      }
      const info = `bench ${t.resumed}/${t.handshakes} resumed, nginx ${seen.reused}/${seen.total}`;
      console.log(`      ${info}`);
      assert.equal(t.handshakes, M, info);
      assert.equal(seen.total, M, info);
      assert.equal(t.resumed, seen.reused, info);
      if (resumes) assert.ok(t.resumed > M * 0.9, info);
      else assert.equal(t.resumed, 0, info);
    });
  }
});

