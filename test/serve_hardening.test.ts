// `serve` as one server, however many workers: one connection limit, one session cache (TLS 1.2
// session IDs resume on any worker, checked with openssl s_client), SIGHUP as a graceful stop,
// source's default record size (seen on the wire by Node), the key log opened once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { dump, fixture, runCli } from './helpers/cli';
import { CA, connectTls, dumpServe, echoOnce, ServeProcess, servesEachTest, sleep, startServe, until } from './helpers/serve';

const CERT = ['--cert', fixture('localhost.pem'), '--key', fixture('localhost.key')];

describe('serve: one server over its workers', function () {
  this.timeout(60_000);
  let tmp = '';
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-hardening-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const serve = servesEachTest();

  it('-w 2 --max-connections 100 admits 100 of 150 concurrent clients, not 150 (one count for all workers)', async () => {
    const s = await serve(['-w', '2', '--max-connections', '100', ...CERT]);
    const results = await Promise.all(
      Array.from({ length: 150 }, () => connectTls({ port: s.port }, 15_000).then((c) => c, (e: Error) => e))
    );
    const open = results.filter((r): r is tls.TLSSocket => r instanceof tls.TLSSocket);
    const refused = results.filter((r) => !(r instanceof tls.TLSSocket));
    // The 100 admitted are still open: each still echoes.
    for (const c of open.slice(0, 5)) {
      c.write('x');
      await new Promise((r) => c.once('data', r));
    }
    for (const c of open) c.destroy();
    await sleep(300);
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    console.log(`      ${open.length} admitted, ${refused.length} refused; per worker ${JSON.stringify(x.doc.perWorker)}`);
    assert.equal(open.length, 100, `admitted ${open.length}`);
    assert.equal(refused.length, 50);
    assert.equal(x.doc.connections.accepted, 100);
    assert.equal(x.doc.connections.rejected, 50);
    assert.ok(x.doc.perWorker.every((w: { accepted: number }) => w.accepted > 0), 'both workers took connections');
  });

  it('TLS 1.2 session IDs (tickets off) resume on any of 2 workers: openssl s_client -sess_in, 20 of 20', async () => {
    const s = await serve(['-w', '2', '--no-tickets', ...CERT]);
    const sess = path.join(tmp, 'sess.pem');
    // stdin at EOF: s_client handshakes, prints its summary and closes (with close_notify).
    const client = (more: string[]) =>
      new Promise<{ stdout: string }>((resolve) => {
        const c = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${s.port}`, '-tls1_2', '-no_ticket', '-CAfile', fixture('ca.pem'), '-servername', 'localhost', ...more], {
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        let stdout = '';
        c.stdout.on('data', (d) => (stdout += d));
        const t = setTimeout(() => c.kill(), 10_000);
        c.on('close', () => {
          clearTimeout(t);
          resolve({ stdout });
        });
      });
    const first = await client(['-sess_out', sess]);
    assert.match(first.stdout, /^New, /m, first.stdout);
    let reused = 0;
    for (let i = 0; i < 20; i++) {
      const r = await client(['-sess_in', sess]);
      if (/^Reused, /m.test(r.stdout)) reused++;
    }
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    console.log(`      s_client reused ${reused}/20; serve: ${x.doc.totals.resumed} resumed, per worker ${JSON.stringify(x.doc.perWorker)}, cache ${JSON.stringify(x.doc.sessionCache)}`);
    assert.equal(reused, 20);
    assert.equal(x.doc.totals.resumed, 20);
    assert.equal(x.doc.totals.full, 1);
    assert.equal(x.doc.sessionCache.hits, 20);
    // 21 connections over 2 SO_REUSEPORT listeners: both workers resumed some (2^-20 odds otherwise).
    assert.ok(x.doc.perWorker.every((w: { accepted: number }) => w.accepted > 0), JSON.stringify(x.doc.perWorker));
  });

  it('a session survives a client that resets after its handshake (as bench --close rst does)', async () => {
    const s = await serve(['-w', '1', '--no-tickets', ...CERT]);
    const raw = net.connect(s.port, '127.0.0.1');
    const first = tls.connect({ socket: raw, ca: CA, servername: 'localhost', maxVersion: 'TLSv1.2' });
    await new Promise((r) => first.once('secureConnect', r));
    const session = first.getSession()!;
    first.on('error', () => {});
    raw.resetAndDestroy();
    await sleep(200);
    const again = await connectTls({ port: s.port, maxVersion: 'TLSv1.2', session });
    const reused = again.isSessionReused();
    again.destroy();
    assert.equal(reused, true);
  });

  for (const signal of ['SIGHUP', 'SIGTERM'] as const) {
    it(`${signal}: graceful stop, totals (stopped by ${signal}), exit 0`, async () => {
      const s = await serve(['-w', '2', ...CERT]);
      assert.equal((await echoOnce({ port: s.port }, Buffer.from('hup'))).received, 3);
      const x = await s.stop(signal);
      assert.equal(x.code, 0, dumpServe(x));
      assert.equal(x.signal, null);
      assert.equal(x.doc.stoppedBy, signal);
      assert.equal(x.doc.totals.handshakes, 1);
      assert.equal(x.doc.totals.bytesIn, 3);
    });
  }

  it('source writes full 16 KiB records by default: ciphertext on the wire is within 1% of the plaintext', async () => {
    const s = await serve(['--mode', 'source', ...CERT]);
    const raw = net.connect(s.port, '127.0.0.1');
    const c = tls.connect({ socket: raw, ca: CA, servername: 'localhost' });
    let plain = 0;
    await new Promise<void>((resolve, reject) => {
      c.on('data', (d: Buffer) => {
        plain += d.length;
        if (plain >= 32 * 1024 * 1024) {
          c.removeAllListeners('data');
          resolve();
        }
      });
      c.once('error', reject);
    });
    const wire = raw.bytesRead;
    c.destroy();
    const overhead = wire / plain - 1;
    console.log(`      ${plain} plaintext bytes in ${wire} wire bytes (+${(overhead * 100).toFixed(2)}%)`);
    // 16 KiB records cost 22 bytes each (+0.13%; Node reads some ciphertext ahead of what it has
    // decrypted, hence the margin); 2-byte records cost 1100%.
    assert.ok(overhead < 0.01, `overhead ${(overhead * 100).toFixed(2)}%`);
  });

  it('--keylog: opened once for all workers; a path that cannot be opened is one line and exit 2', async () => {
    const file = path.join(tmp, 'keys.log');
    const s = await serve(['-w', '2', '--keylog', file, ...CERT]);
    await Promise.all([1, 2, 3, 4].map(() => echoOnce({ port: s.port }, Buffer.from('k'))));
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.filter((l) => l.startsWith('CLIENT_TRAFFIC_SECRET_0 ')).length, 4, lines.join('\n'));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const bad = await runCli(['serve', '--keylog', '/nonexistent/dir/k.log', '--port', '0']);
    assert.equal(bad.code, 2, dump(bad));
    assert.equal(bad.stderr, 'iocptls: --keylog /nonexistent/dir/k.log: cannot open the key log file: no such file or directory (ENOENT)\n');
  });

  it('--stats lines carry rejected connections and accept errors', async () => {
    const s = await serve(['--stats', '-w', '1', '--max-connections', '1', ...CERT]);
    const a = await connectTls({ port: s.port });
    await connectTls({ port: s.port }, 5000).then(
      (c) => c.destroy(),
      () => undefined
    );
    await until(() => /rejected 1 {2}accept errors 0/.test(s.stderr()), 'a stats line with the rejection', 5000);
    a.destroy();
    const x = await s.stop();
    assert.equal(x.doc.connections.rejected, 1);
    assert.deepEqual(x.doc.connections.acceptErrors, {});
    assert.deepEqual(x.doc.leftover, { connections: 0, recvBuffers: 0, pendingOps: 0, listeners: 0 });
  });
});
