// `iocptls serve` against independent clients on loopback: curl, openssl s_client and Node's tls.
// Each test starts its own server, drives it, stops it with SIGINT and checks the --json totals
// against what the clients did.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { fixture } from './helpers/cli';
import { connectTls, dumpServe, echoOnce, readN, sendAll, ServeProcess, servesEachTest, sleep, startServe, until } from './helpers/serve';

const run = promisify(execFile);
const CERT = ['--cert', fixture('localhost.pem'), '--key', fixture('localhost.key')];

describe('serve: independent clients', function () {
  this.timeout(30_000);
  const serve = servesEachTest();

  it('http: curl keep-alive reuses one connection, --http1.0 closes, bodies are exact', async () => {
    const s = await serve(['--mode', 'http', '--body-size', '100000', ...CERT]);
    const url = `https://localhost:${s.port}`;
    const common = ['-s', '--cacert', fixture('ca.pem'), '--resolve', `localhost:${s.port}:127.0.0.1`];
    const ka = await run('curl', [...common, '-v', '-o', '/dev/null', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{num_connects}\n', `${url}/a`, `${url}/b`]);
    assert.match(ka.stderr, /Re-using existing connection/, ka.stderr);
    assert.deepEqual(ka.stdout.trim().split('\n'), ['200 100000 1', '200 100000 0']);
    const h10 = await run('curl', [...common, '-v', '--http1.0', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `${url}/`]);
    assert.equal(h10.stdout, '200 100000');
    assert.match(h10.stderr, /Connection: close/i);
    assert.match(h10.stderr, /Closing connection/, h10.stderr);

    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    const d = x.doc;
    assert.equal(d.connections.accepted, 2, 'one keep-alive connection + one HTTP/1.0 connection');
    assert.equal(d.totals.handshakes, 2);
    assert.equal(d.totals.roundTrips, 3, 'three requests answered');
    assert.ok(d.totals.bytesOut >= 300_000 && d.totals.bytesOut < 301_000, `bytesOut ${d.totals.bytesOut}`);
    assert.deepEqual(d.totals.errors, {});
    assert.deepEqual(d.leftover, { connections: 0, recvBuffers: 0, pendingOps: 0, listeners: 0 });
  });

  it('echo: openssl s_client -quiet gets its lines back', async () => {
    const s = await serve(CERT);
    const c = spawn('openssl', ['s_client', '-quiet', '-connect', `127.0.0.1:${s.port}`, '-CAfile', fixture('ca.pem'), '-verify_return_error', '-servername', 'localhost'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    try {
      c.stdin.write('hello\n');
      await until(() => out.includes('hello\n'), `first echo (stderr: ${err})`);
      c.stdin.write('second line\n');
      await until(() => out.includes('second line\n'), 'second echo');
      assert.equal(out, 'hello\nsecond line\n');
      assert.match(err, /verify return:1/);
    } finally {
      c.kill();
    }
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.equal(x.doc.totals.bytesIn, 18);
    assert.equal(x.doc.totals.bytesOut, 18);
  });

  it('echo: Node clients byte counts equal serve totals', async () => {
    const s = await serve(CERT);
    const sizes = [1, 1000, 100_000, 1_000_000];
    const results = await Promise.all(sizes.map((n) => echoOnce({ port: s.port }, Buffer.alloc(n, n % 251))));
    const total = sizes.reduce((a, b) => a + b, 0);
    assert.equal(results.reduce((a, r) => a + r.received, 0), total);
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    const t = x.doc.totals;
    assert.equal(t.bytesIn, total);
    assert.equal(t.bytesOut, total);
    assert.equal(t.handshakes, sizes.length);
    assert.equal(x.doc.connections.accepted, sizes.length);
    assert.deepEqual(t.errors, {});
    assert.deepEqual(x.doc.leftover, { connections: 0, recvBuffers: 0, pendingOps: 0, listeners: 0 });
  });

  it('sink: counts every byte the clients sent and sends nothing', async () => {
    const s = await serve(['--mode', 'sink', ...CERT]);
    const sizes = [10, 70_000, 2_000_000];
    const results = await Promise.all(sizes.map((n) => sendAll({ port: s.port }, Buffer.alloc(n, 7))));
    assert.deepEqual(results.map((r) => r.received), [0, 0, 0]);
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.equal(x.doc.totals.bytesIn, sizes.reduce((a, b) => a + b, 0));
    assert.equal(x.doc.totals.bytesOut, 0);
    assert.deepEqual(x.doc.totals.errors, {});
  });

  it('source: a client reads N bytes and leaves; the server sent at least N', async () => {
    const s = await serve(['--mode', 'source', '--body-size', '16384', ...CERT]);
    const n = 3_000_000;
    const got = await readN({ port: s.port }, n);
    assert.ok(got >= n);
    await sleep(200); // let the server see the reset
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.ok(x.doc.totals.bytesOut >= got, `server bytesOut ${x.doc.totals.bytesOut} < client read ${got}`);
    assert.equal(x.doc.totals.handshakes, 1);
    assert.deepEqual(x.doc.leftover, { connections: 0, recvBuffers: 0, pendingOps: 0, listeners: 0 });
  });

  it('ALPN: the server picks its first protocol the client offers', async () => {
    const s = await serve(['--alpn', 'h2,http/1.1', ...CERT]);
    const pick = async (offer: string[]) => {
      const c = await connectTls({ port: s.port, ALPNProtocols: offer });
      const p = c.alpnProtocol;
      c.destroy();
      return p;
    };
    assert.equal(await pick(['http/1.1', 'h2']), 'h2');
    assert.equal(await pick(['http/1.1']), 'http/1.1');
    // No overlap: alert 120 no_application_protocol (RFC 7301 §3.2), as nginx sends.
    await assert.rejects(pick(['spdy/3']), (e: Error & { code?: string }) => {
      assert.match(`${e.code} ${e.message}`, /no application protocol|NO_APPLICATION_PROTOCOL|alert number 120/i);
      return true;
    });
    assert.equal(await pick(['http/1.1']), 'http/1.1', 'the server keeps serving');
  });

  it('two certificates: RSA-only clients get RSA, others ECDSA', async () => {
    const s = await serve([...CERT, '--cert', fixture('rsa.pem'), '--key', fixture('rsa.key')]);
    const keyOf = async (o: object) => {
      const c = await connectTls({ port: s.port, ...o });
      const cert = c.getPeerCertificate();
      c.destroy();
      return cert.asn1Curve ? `EC ${cert.asn1Curve}` : cert.bits ? `RSA ${cert.bits}` : '?';
    };
    assert.equal(await keyOf({}), 'EC prime256v1');
    assert.equal(await keyOf({ sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256' }), 'RSA 2048');
    assert.equal(await keyOf({ sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256', maxVersion: 'TLSv1.2' }), 'RSA 2048');
    assert.equal(await keyOf({ sigalgs: 'ecdsa_secp256r1_sha256' }), 'EC prime256v1');
  });

  it('--no-tickets: a TLS 1.3 client gets no session; with tickets it does', async () => {
    const sessions = async (port: number) => {
      const c = await connectTls({ port });
      let n = 0;
      c.on('session', () => n++);
      // Tickets follow the handshake; an echo round trip guarantees they had time to arrive.
      c.write('x');
      await new Promise((r) => c.once('data', r));
      await sleep(100);
      const protocol = c.getProtocol();
      c.destroy();
      return { n, protocol };
    };
    const [on, off] = await Promise.all([serve(CERT), serve(['--no-tickets', ...CERT])]);
    const a = await sessions(on.port);
    const b = await sessions(off.port);
    assert.equal(a.protocol, 'TLSv1.3');
    assert.ok(a.n >= 1, 'tickets are on by default');
    assert.equal(b.n, 0, '--no-tickets');
  });

  it('client auth: accepted with a CA-signed client certificate, refused without; the server keeps serving', async () => {
    const s = await serve(['--client-auth', 'require', '--client-ca', fixture('ca.pem'), ...CERT]);
    const withCert = { port: s.port, cert: require('node:fs').readFileSync(fixture('client.pem')), key: require('node:fs').readFileSync(fixture('client.key')) };
    assert.equal((await echoOnce(withCert, Buffer.from('mtls'))).received, 4);
    // TLS 1.3: the client finishes its side before the server checks; the refusal arrives as an alert.
    await assert.rejects(echoOnce({ port: s.port }, Buffer.from('nope')), (e: Error & { code?: string }) => {
      assert.match(`${e.code} ${e.message}`, /CERTIFICATE_REQUIRED|certificate required|alert|ECONNRESET|socket hang up/i);
      return true;
    });
    await assert.rejects(echoOnce({ port: s.port, maxVersion: 'TLSv1.2' }, Buffer.from('nope')), /alert|handshake failure|ECONNRESET|hang up/i);
    assert.equal((await echoOnce(withCert, Buffer.from('again'))).received, 5);
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.equal(x.doc.totals.handshakes, 2);
    const errs = x.doc.totals.errors as Record<string, number>;
    assert.equal(Object.values(errs).reduce((a, b) => a + b, 0), 2, JSON.stringify(errs));
    assert.ok(Object.keys(errs).every((k) => /certificate/.test(k)), JSON.stringify(errs));
    assert.deepEqual(x.doc.leftover, { connections: 0, recvBuffers: 0, pendingOps: 0, listeners: 0 });
  });

  it('IPv6: --host ::1 serves a Node client on ::1', async () => {
    const s = await serve(['--host', '::1', ...CERT]);
    assert.equal(s.host, '::1');
    assert.equal((await echoOnce({ host: '::1', port: s.port }, Buffer.from('six'))).received, 3);
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.deepEqual(x.doc.listen, { host: '::1', port: s.port });
    assert.equal(x.doc.totals.bytesIn, 3);
  });

  it('--stats prints a line a second whose counts match the clients', async () => {
    const s = await serve(['--stats', ...CERT]);
    await Promise.all([1, 2, 3].map(() => echoOnce({ port: s.port }, Buffer.alloc(1000))));
    // Handshakes of one interval can straddle two lines; wait for two lines after the clients finished.
    const before = (s.stderr().match(/^open /gm) ?? []).length;
    await until(() => (s.stderr().match(/^open /gm) ?? []).length >= before + 2, 'two stats lines', 4000);
    const lines = s.stderr().split('\n').filter((l) => l.startsWith('open '));
    for (const l of lines) assert.match(l, /^open \d+ {2}handshakes \d+\/s {2}in \S+ ?\S*\/s {2}out \S+ ?\S*\/s {2}errors \d+/);
    const hs = lines.map((l) => Number(/handshakes (\d+)/.exec(l)![1]));
    assert.equal(hs.reduce((a, b) => a + b, 0), 3, lines.join('\n'));
    assert.match(lines[lines.length - 1], /^open 0 /);
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.equal(x.doc.totals.handshakes, 3);
  });
});
