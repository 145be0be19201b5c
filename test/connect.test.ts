// `iocptls connect` against TLS peers we did not write: what it reports must be what the peer
// says it negotiated. The peer's view comes from the peer itself: openssl s_server's -www page
// and -trace output, and Node's TLSSocket on the server side.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dump, fixture, runCli, runCliJson } from './helpers/cli';
import { echo, startNodeTlsServer } from './helpers/node_tls';
import { opensslFingerprint256, parseWwwPage, SServer, startSServer } from './helpers/s_server';

const GET = 'GET / HTTP/1.0\\r\\n\\r\\n'; // escaped: connect's --send understands \r \n
const TRUST = ['--ca', fixture('ca.pem'), '--servername', 'localhost'];
const SYSTEM_LIBSSL = '/usr/lib/x86_64-linux-gnu/libssl.so.3';

// IANA group ids, to compare our group names with -trace's ('secp384r1 (P-384) (24)', 'ecdh_x25519 (29)').
const GROUP_IDS: Record<string, number> = { X25519: 29, X448: 30, 'P-256': 23, 'P-384': 24, 'P-521': 25, ffdhe2048: 256, ffdhe3072: 257 };

/** The group in the last ServerHello's key_share (TLS 1.3) or ServerKeyExchange (TLS 1.2), from s_server -trace. */
function tracedGroupId(trace: string): number | undefined {
  const ske = [...trace.matchAll(/named_curve: \S+(?: \([^)]*\))? \((\d+)\)/g)];
  if (ske.length) return Number(ske[ske.length - 1][1]);
  const sh = trace.lastIndexOf('ServerHello, Length');
  if (sh < 0) return undefined;
  const m = /NamedGroup: \S+(?: \([^)]*\))? \((\d+)\)/.exec(trace.slice(sh));
  return m ? Number(m[1]) : undefined;
}

const ticketsSent = (trace: string) => (trace.match(/^\s*NewSessionTicket, Length/gm) ?? []).length;

/** Sessions s_server resumed so far, from the counters on its -www page (fetched with a new connection). */
async function serverSessionHits(s: SServer): Promise<number> {
  const r = await runCli(['connect', `127.0.0.1:${s.port}`, '--insecure', '--send', GET, '--quiet', '100']);
  const m = /(\d+) session cache hits/.exec(r.out);
  assert.ok(m, dump(r));
  return Number(m[1]);
}

describe('connect vs openssl s_server', function () {
  this.slow(3000);
  let server: SServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  for (const v of [
    { name: 'TLS 1.3', args: [] as string[], protocol: 'TLSv1.3' },
    { name: 'TLS 1.2', args: ['-tls1_2'], protocol: 'TLSv1.2' },
  ]) {
    it(`${v.name}: protocol, cipher, group, tickets and certificate match the server's view`, async () => {
      server = await startSServer({ args: ['-www', '-trace', '-naccept', '1', ...v.args] });
      const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...TRUST, '--send', GET, '--quiet', '200']);
      assert.equal(r.code, 0, dump(r));
      const page = parseWwwPage(r.stderr); // with --json, the reply goes to stderr
      const d = r.doc;
      assert.equal(page.protocol, v.protocol);
      assert.equal(d.negotiated.protocol, page.protocol);
      assert.equal(d.negotiated.cipher, page.cipher);
      assert.equal(page.reused, false);
      assert.equal(d.negotiated.resumed, false);
      await server.exited(); // -naccept 1: it exits after us, flushing all of -trace
      assert.equal(GROUP_IDS[d.negotiated.group], tracedGroupId(server.output()), `group ${d.negotiated.group}`);
      assert.equal(d.sessionTickets, ticketsSent(server.output()));
      assert.ok(d.sessionTickets >= 1);
      assert.equal(d.certificates[0].fingerprint256, opensslFingerprint256(fixture('localhost.pem')));
      assert.equal(d.verification.ok, true);
      assert.ok(d.timings.ttfbMs > 0);
    });

    it(`${v.name}: --reconnect 3 resumes as many sessions as s_server counts`, async () => {
      server = await startSServer({ args: ['-www', ...v.args] });
      const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...TRUST, '--reconnect', '3']);
      assert.equal(r.code, 0, dump(r));
      assert.equal(r.doc.negotiated.protocol, v.protocol);
      assert.equal(r.doc.reconnect.attempts, 3);
      assert.equal(r.doc.reconnect.failed, 0);
      assert.equal(r.doc.reconnect.resumed, await serverSessionHits(server));
      assert.equal(r.doc.reconnect.resumed, 3);
    });
  }

  it('ALPN: the protocol s_server selected', async () => {
    server = await startSServer({ args: ['-trace', '-alpn', 'h2,http/1.1'] });
    const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...TRUST, '--alpn', 'spdy/1,http/1.1']);
    assert.equal(r.code, 0, dump(r));
    const selected = (await server.waitFor(/ALPN protocols selected: (\S+)/))[1];
    assert.equal(selected, 'http/1.1');
    assert.equal(r.doc.negotiated.alpn, selected);
  });

  it("no ALPN in common: s_server's no_application_protocol alert is the error", async () => {
    server = await startSServer({ args: ['-alpn', 'h2'] });
    const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...TRUST, '--alpn', 'http/1.1']);
    assert.equal(r.code, 1, dump(r));
    assert.equal(r.doc.error.reason, 'alert: no application protocol');
    assert.equal(r.stderr, 'iocptls: handshake failed: peer sent alert no application protocol\n');
  });

  it('ALPN offered to a server without ALPN: none negotiated', async () => {
    server = await startSServer();
    const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...TRUST, '--alpn', 'h2']);
    assert.equal(r.code, 0, dump(r));
    assert.equal(r.doc.negotiated.alpn, undefined);
  });

  for (const g of [
    { server: 'secp384r1', client: undefined, want: 'P-384' }, // forces a HelloRetryRequest: our default key share is X25519
    { server: 'X448:P-521', client: 'P-521:X448', want: 'P-521' }, // the client's key share is accepted
    { server: 'ffdhe2048', client: 'ffdhe2048', want: 'ffdhe2048' },
  ]) {
    it(`-groups ${g.server}${g.client ? ` / --groups ${g.client}` : ''}: the group s_server used`, async () => {
      server = await startSServer({ args: ['-trace', '-naccept', '1', '-groups', g.server] });
      const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...TRUST, ...(g.client ? ['--groups', g.client] : [])]);
      assert.equal(r.code, 0, dump(r));
      await server.exited(); // -naccept 1: all of -trace is flushed at exit
      assert.equal(GROUP_IDS[r.doc.negotiated.group], tracedGroupId(server.output()), `reported ${r.doc.negotiated.group}`);
      assert.equal(r.doc.negotiated.group, g.want);
    });
  }

  for (const c of [
    { args: ['-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256'], want: 'TLS_CHACHA20_POLY1305_SHA256' },
    { args: ['-ciphersuites', 'TLS_AES_128_GCM_SHA256'], want: 'TLS_AES_128_GCM_SHA256' },
    { args: ['-tls1_2', '-cipher', 'ECDHE-ECDSA-CHACHA20-POLY1305'], want: 'ECDHE-ECDSA-CHACHA20-POLY1305' },
    { args: ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA'], want: 'ECDHE-ECDSA-AES128-SHA' },
  ]) {
    it(`${c.args.join(' ')}: the cipher s_server chose`, async () => {
      server = await startSServer({ args: ['-www', ...c.args] });
      const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...TRUST, '--send', GET, '--quiet', '200']);
      assert.equal(r.code, 0, dump(r));
      assert.equal(parseWwwPage(r.stderr).cipher, c.want);
      assert.equal(r.doc.negotiated.cipher, c.want);
    });
  }

  it('--send prints the page on stdout and the report on stderr', async () => {
    server = await startSServer({ args: ['-www'] });
    const r = await runCli(['connect', `127.0.0.1:${server.port}`, ...TRUST, '--send', GET, '--quiet', '200']);
    assert.equal(r.code, 0, dump(r));
    assert.match(r.out, /^HTTP\/1\.0 200 ok\r\n/);
    assert.match(r.out, /<\/HTML>/);
    assert.doesNotMatch(r.out, /Negotiated|Connected to/);
    assert.match(r.stderr, /Connected to 127\.0\.0\.1:\d+/);
    assert.match(r.stderr, /Protocol\s+TLSv1\.3/);
    assert.match(r.stderr, /First byte\s+\d/);
    assert.match(r.stderr, /Data\s+sent 18 bytes, received \d+ bytes, closed by peer/);
  });

  it('a human report alone goes to stdout', async () => {
    server = await startSServer({ args: ['-www'] });
    const r = await runCli(['connect', `127.0.0.1:${server.port}`, ...TRUST, '--reconnect', '1']);
    assert.equal(r.code, 0, dump(r));
    assert.equal(r.stderr, '');
    assert.match(r.out, /Verification\s+OK, hostname localhost/);
    assert.match(r.out, /Resumption\s+1\/1 reconnects resumed/);
  });

  it('is quick: one handshake adds well under a second to a bare node\'s start, measured in turn', async () => {
    // Node's own start-up alone passed a second on a loaded CI runner, so the bound is on what
    // connect adds to it (CLI, OpenSSL, one handshake: ~0.3 s when idle). A connect that waited
    // for a timeout (a lost wake-up, an unread close_notify) would add seconds.
    server = await startSServer({ args: ['-www'] });
    const took: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      execFileSync(process.execPath, ['-e', 'console.log(1)']);
      bare.push(performance.now() - t0);
      const r = await runCli(['connect', `127.0.0.1:${server.port}`, ...TRUST]);
      assert.equal(r.code, 0, dump(r));
      took.push(r.ms);
    }
    took.sort((a, b) => a - b);
    bare.sort((a, b) => a - b);
    assert.ok(took[1] - bare[1] < 1000, `median ${Math.round(took[1])} ms, bare node ${Math.round(bare[1])} ms`);
  });

  describe('--openssl with the system libssl', function () {
    before(function () {
      if (!fs.existsSync(SYSTEM_LIBSSL)) this.skip();
    });

    it("reports that library's path and build date, not Node's, and handshakes with it", async () => {
      server = await startSServer({ args: ['-www'] });
      const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...TRUST, '--openssl', SYSTEM_LIBSSL, '--send', GET, '--quiet', '200']);
      assert.equal(r.code, 0, dump(r));
      const systemBuiltOn = execFileSync('openssl', ['version', '-b'], { encoding: 'utf8' }).trim().replace(/^built on:\s*/, '');
      const node = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...TRUST]);
      assert.equal(r.doc.openssl.source, 'path');
      assert.equal(r.doc.openssl.path, SYSTEM_LIBSSL);
      assert.equal(r.doc.openssl.builtOn, systemBuiltOn);
      assert.equal(node.doc.openssl.source, 'node');
      assert.notEqual(node.doc.openssl.builtOn, systemBuiltOn, 'the test needs two different builds to tell them apart');
      assert.equal(parseWwwPage(r.stderr).protocol, 'TLSv1.3');
      assert.equal(r.doc.negotiated.protocol, 'TLSv1.3');
      assert.equal(r.doc.verification.ok, true);
    });

    it('IOCPTLS_OPENSSL does the same', async () => {
      server = await startSServer({ args: ['-www'] });
      const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...TRUST], { env: { ...process.env, IOCPTLS_OPENSSL: SYSTEM_LIBSSL } });
      assert.equal(r.code, 0, dump(r));
      assert.equal(r.doc.openssl.path, SYSTEM_LIBSSL);
    });
  });

  describe('key log', () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-keylog-'))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const secrets = (file: string) =>
      fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' '));

    function assertNoSecretsIn(r: { out: string; stderr: string }, lines: string[][]) {
      for (const [, , secret] of lines) {
        assert.ok(!r.out.toLowerCase().includes(secret.toLowerCase()), 'secret on stdout');
        assert.ok(!r.stderr.toLowerCase().includes(secret.toLowerCase()), 'secret on stderr');
      }
    }

    it('--keylog FILE gets TLS 1.3 traffic secrets (and they appear nowhere else)', async () => {
      server = await startSServer({ args: ['-www'] });
      const file = path.join(dir, 'keys.log');
      const r = await runCli(['connect', `127.0.0.1:${server.port}`, ...TRUST, '--keylog', file, '--json'], {
        env: { ...process.env, SSLKEYLOGFILE: '' },
      });
      assert.equal(r.code, 0, dump(r));
      const lines = secrets(file);
      const labels = new Set(lines.map((l) => l[0]));
      for (const l of ['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0']) {
        assert.ok(labels.has(l), `${l} missing from ${[...labels]}`);
      }
      for (const l of lines) assert.match(l.join(' '), /^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]{64,96}$/);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assertNoSecretsIn(r, lines);
    });

    it('SSLKEYLOGFILE gets TLS 1.2 CLIENT_RANDOM lines', async () => {
      server = await startSServer({ args: ['-www', '-tls1_2'] });
      const file = path.join(dir, 'env.log');
      const r = await runCli(['connect', `127.0.0.1:${server.port}`, ...TRUST], { env: { ...process.env, SSLKEYLOGFILE: file } });
      assert.equal(r.code, 0, dump(r));
      const lines = secrets(file);
      assert.ok(lines.length >= 1);
      for (const l of lines) assert.equal(l[0], 'CLIENT_RANDOM');
      assertNoSecretsIn(r, lines);
    });

    it('without --keylog or SSLKEYLOGFILE no file is written', async () => {
      server = await startSServer({ args: ['-www'] });
      const env = { ...process.env };
      delete env.SSLKEYLOGFILE;
      const r = await runCli(['connect', `127.0.0.1:${server.port}`, ...TRUST], { env, cwd: dir });
      assert.equal(r.code, 0, dump(r));
      assert.deepEqual(fs.readdirSync(dir), []);
      assert.doesNotMatch(r.out + r.stderr, /TRAFFIC_SECRET|CLIENT_RANDOM/);
    });
  });
});

describe('connect vs Node.js tls.createServer', function () {
  this.slow(3000);
  const key = fs.readFileSync(fixture('localhost.key'));
  const cert = fs.readFileSync(fixture('localhost.pem'));
  let server: Awaited<ReturnType<typeof startNodeTlsServer>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  for (const v of [
    { name: 'TLS 1.3', max: 'TLSv1.3' as const, protocol: 'TLSv1.3' },
    { name: 'TLS 1.2', max: 'TLSv1.2' as const, protocol: 'TLSv1.2' },
  ]) {
    it(`${v.name}: protocol, cipher, ALPN and SNI agree with the server's socket`, async () => {
      server = await startNodeTlsServer({ key, cert, maxVersion: v.max, ALPNProtocols: ['h2', 'http/1.1'] });
      const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, '--ca', fixture('ca.pem'), '--servername', 'localhost', '--alpn', 'http/1.1,h2']);
      assert.equal(r.code, 0, dump(r));
      assert.equal(server.seen.length, 1);
      const s = server.seen[0];
      assert.equal(s.protocol, v.protocol);
      assert.equal(r.doc.negotiated.protocol, s.protocol);
      assert.equal(r.doc.negotiated.cipher, s.cipher.name);
      assert.equal(s.alpn, 'h2'); // Node picks by server preference
      assert.equal(r.doc.negotiated.alpn, s.alpn);
      assert.equal(s.servername, 'localhost');
      assert.equal(r.doc.negotiated.sniSent, s.servername);
      assert.equal(r.doc.verification.ok, true);
    });

    it(`${v.name}: --reconnect 3 resumed count equals what the server saw`, async () => {
      server = await startNodeTlsServer({ key, cert, maxVersion: v.max });
      const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, '--ca', fixture('ca.pem'), '--reconnect', '3']);
      assert.equal(r.code, 0, dump(r));
      assert.equal(server.seen.length, 4);
      assert.equal(server.seen[0].reused, false);
      const reused = server.seen.filter((x) => x.reused).length;
      assert.equal(r.doc.reconnect.resumed, reused);
      // Node's server sends no new ticket on a TLS 1.3 resumption and TLS 1.3 tickets are single
      // use: the two from the full handshake resume two reconnects, the third is a full handshake.
      assert.equal(reused, v.protocol === 'TLSv1.3' ? 2 : 3);
      assert.ok(server.seen.every((x) => x.protocol === v.protocol));
    });
  }

  it('an IP target sends no SNI', async () => {
    server = await startNodeTlsServer({ key, cert });
    const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, '--ca', fixture('ca.pem')]);
    assert.equal(r.code, 0, dump(r));
    assert.equal(server.seen[0].servername, false);
    assert.equal(r.doc.negotiated.sniSent, undefined);
    assert.equal(r.doc.verification.hostname, '127.0.0.1');
  });

  it('--cert/--key: the server sees the client certificate', async () => {
    server = await startNodeTlsServer({ key, cert, requestCert: true, rejectUnauthorized: true, ca: fs.readFileSync(fixture('ca.pem')) });
    const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, '--ca', fixture('ca.pem'), '--cert', fixture('client.pem'), '--key', fixture('client.key')]);
    assert.equal(r.code, 0, dump(r));
    assert.equal(server.seen.length, 1);
    assert.equal(server.seen[0].authorized, true);
    assert.equal(server.seen[0].peerSubject?.CN, 'iocptls TEST-ONLY client');
  });

  it('stdin goes to an echo server and comes back on stdout byte-exact, with TTFB', async () => {
    server = await startNodeTlsServer({ key, cert }, echo);
    const input = crypto.randomBytes(100 * 1024);
    const r = await runCli(['connect', `127.0.0.1:${server.port}`, '--ca', fixture('ca.pem'), '--quiet', '300'], { input });
    assert.equal(r.code, 0, dump({ ...r, out: `${r.stdout.length} bytes` }));
    assert.equal(r.stdout.length, input.length);
    assert.equal(crypto.createHash('sha256').update(r.stdout).digest('hex'), crypto.createHash('sha256').update(input).digest('hex'));
    assert.match(r.stderr, /First byte\s+\d+(\.\d+)? ms/);
    assert.match(r.stderr, /sent 102400 bytes, received 102400 bytes/);
  });

  for (const io of ['io_uring', 'epoll']) {
    it(`--io ${io}: 1 MB through an echo server byte-exact, and the report names the backend`, async function () {
      server = await startNodeTlsServer({ key, cert }, echo);
      const input = crypto.randomBytes(1024 * 1024);
      const r = await runCli(['connect', `127.0.0.1:${server.port}`, '--ca', fixture('ca.pem'), '--quiet', '200', '--io', io], { input });
      if (r.code !== 0 && io === 'io_uring' && /io_uring/.test(r.stderr)) this.skip(); // kernel or seccomp without io_uring
      assert.equal(r.code, 0, dump({ ...r, out: `${r.stdout.length} bytes` }));
      assert.ok(r.stdout.equals(input), `${r.stdout.length} bytes back, not the same`);
      assert.match(r.stderr, new RegExp(`via ${io}`));
    });
  }

  it('stdin with --json: stdout is the document, the echo goes to stderr, ttfbMs reported', async () => {
    server = await startNodeTlsServer({ key, cert }, echo);
    const input = 'hello, echo\n';
    const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, '--ca', fixture('ca.pem'), '--quiet', '200'], { input });
    assert.equal(r.code, 0, dump(r));
    assert.equal(r.stderr, input);
    assert.deepEqual(r.doc.data, { sent: input.length, received: input.length, closedBy: 'us' });
    assert.ok(r.doc.timings.ttfbMs > 0);
  });
});
