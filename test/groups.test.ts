// Key exchange groups by name, everywhere: what connect, bench and serve report is the group the
// independent peer chose; --groups takes names (commas or colons) and refuses, in one line with
// exit 2, a group the OpenSSL in use does not have.
import assert from 'node:assert/strict';
import { openssl, loadOpenSSL } from '../native/openssl';
import { negotiatedGroup } from '../src/engine/tls/groups';
import { TlsContext } from '../src/engine/tls/context';
import { TlsSession } from '../src/engine/tls/session';
import { dump, fixture, runCli, runCliJson } from './helpers/cli';
import { HAS_PQ, requirePq } from './helpers/openssl_release';
import { parseWwwPage, startSServer, stopAllSServers } from './helpers/s_server';
import { dumpServe, startServe } from './helpers/serve';
import { startTraceServer } from './helpers/tls_trace';

const CA = ['--ca', fixture('ca.pem'), '--servername', 'localhost'];
const ONE_LINE = /^iocptls: [^\n]+\n$/;

/** Drives a client and a server session against each other in memory (no sockets). */
function handshakeInMemory(client: TlsSession, server: TlsSession): void {
  const buf = new Uint8Array(64 * 1024);
  for (let i = 0; i < 20 && (client.isHandshaking || server.isHandshaking); i++) {
    client.handshake();
    for (let n; (n = client.writeTls(buf, buf.length)) > 0; ) server.readTls(buf, n);
    server.handshake();
    for (let n; (n = server.writeTls(buf, buf.length)) > 0; ) client.readTls(buf, n);
  }
  assert.ok(!client.isHandshaking && !server.isHandshaking, 'handshake did not complete in memory');
}

describe('groups by name', function () {
  this.timeout(60_000);
  after(stopAllSServers);

  describe('naming (sans-I/O sessions, this OpenSSL)', () => {
    loadOpenSSL();
    const cases = HAS_PQ ? ['X25519', 'P-256', 'P-384', 'X25519MLKEM768', 'SecP256r1MLKEM768', 'SecP384r1MLKEM1024'] : ['X25519', 'P-256', 'P-384', 'P-521'];
    for (const group of cases) {
      it(`${group}: both sides name it, with OpenSSL's name functions and with the code point table alone`, () => {
        const cctx = new TlsContext({ role: 'client', verify: false, groups: group });
        // The server offers it too: OpenSSL 3.5's default server list has X25519MLKEM768 but not the other hybrids.
        const sctx = new TlsContext({ role: 'server', groups: group, certs: [{ cert: fixture('localhost.pem'), key: fixture('localhost.key') }] });
        const c = new TlsSession(cctx);
        const s = new TlsSession(sctx);
        try {
          handshakeInMemory(c, s);
          assert.equal(c.info().group, group);
          assert.equal(s.group(), group);
          // The fallback for an OpenSSL without SSL_get0_group_name / SSL_group_to_name: the real
          // library, with those two hidden, must still give the same name.
          const bare = { ...openssl(), SSL_get0_group_name: undefined, SSL_group_to_name: undefined };
          assert.equal(negotiatedGroup(bare, c.ssl), group);
        } finally {
          c.free();
          s.free();
          cctx.free();
          sctx.free();
        }
      });
    }
  });

  for (const [flag, want] of [
    ['P-384', 'P-384'],
    ['P-256,X25519', 'P-256'],
    ['X25519:P-256', 'X25519'],
    ['ffdhe2048', 'ffdhe2048'],
  ] as const) {
    it(`connect --groups ${flag}: reports ${want}, the group s_server says it shares`, async () => {
      const s = await startSServer({ args: ['-www', '-naccept', '1'] });
      const r = await runCliJson(['connect', `127.0.0.1:${s.port}`, ...CA, '--groups', flag, '--send', 'GET / HTTP/1.0\\r\\n\\r\\n']);
      assert.equal(r.code, 0, dump(r));
      assert.equal(r.doc.negotiated.group, want);
      const page = parseWwwPage(r.stderr);
      // s_server lists the groups both sides support, ours first, in OpenSSL's TLS names.
      const tlsName: Record<string, string> = { 'P-256': 'secp256r1', 'P-384': 'secp384r1', X25519: 'x25519', ffdhe2048: 'ffdhe2048' };
      assert.equal(page.sharedGroups?.[0], tlsName[want], r.stderr);
    });
  }

  it('human report: the Key exchange row', async () => {
    const s = await startSServer({ args: ['-naccept', '1'] });
    const r = await runCli(['connect', `127.0.0.1:${s.port}`, ...CA, '--groups', 'P-384']);
    assert.equal(r.code, 0, dump(r));
    assert.match(r.out, /^ {2}Key exchange {4}P-384$/m);
  });

  it('serve totals count handshakes by group; bench reports them in its document', async () => {
    const s = await startServe(['--workers', '1']);
    try {
      for (const g of ['P-256', 'X25519', 'X25519']) {
        const r = await runCliJson(['connect', `127.0.0.1:${s.port}`, '--insecure', '--groups', g]);
        assert.equal(r.code, 0, dump(r));
      }
      const b = await runCliJson(['bench', 'handshake', `127.0.0.1:${s.port}`, '-c', '2', '-w', '1', '-n', '10', '--groups', 'P-384', '--no-plot']);
      assert.equal(b.code, 0, dump(b));
      assert.deepEqual(b.doc.groups, { 'P-384': 10 });
      assert.equal(b.doc.negotiated.group, 'P-384');
      assert.equal(b.doc.params.groups, 'P-384');
      const x = await s.stop();
      assert.equal(x.code, 0, dumpServe(x));
      assert.deepEqual(x.doc.totals.groups, { 'P-256': 1, X25519: 2, 'P-384': 10 });
    } finally {
      await s.stop('SIGKILL', 2000);
    }
  });

  describe('a group this OpenSSL does not have: one line, exit 2, before any connection', () => {
    const missing = HAS_PQ ? 'NOPE768' : 'X25519MLKEM768';
    const cause = HAS_PQ
      ? /^iocptls: --groups: unknown group 'NOPE768' \(OpenSSL 3\.\d+\.\d+ knows e\.g\. X25519MLKEM768, X25519, P-256, P-384\)\n$/
      : /^iocptls: --groups: X25519MLKEM768 is not available in OpenSSL 3\.0\.\d+ \(ML-KEM groups need OpenSSL 3\.5 or later, as bundled with Node\.js 22 and 24\)\n$/;
    for (const cmd of [
      ['connect', '127.0.0.1:9'],
      ['bench', 'handshake', '-d', '1'],
      ['serve', '--port', '0'],
    ]) {
      it(`${cmd[0]} --groups X25519,${missing}`, async () => {
        const r = await runCli([...cmd, '--groups', `X25519,${missing}`]);
        assert.equal(r.code, 2, dump(r));
        assert.match(r.stderr, ONE_LINE);
        assert.match(r.stderr, cause);
      });
    }
  });

  it('OpenSSL 3.5: a Node.js 24 tls server that only takes SecP384r1MLKEM1024 is reached by asking for it', async function () {
    requirePq(this);
    const server = await startTraceServer({ cert: fixture('localhost.pem'), key: fixture('localhost.key'), groups: 'SecP384r1MLKEM1024' });
    try {
      const ok = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...CA, '--groups', 'X25519MLKEM768,SecP384r1MLKEM1024']);
      assert.equal(ok.code, 0, dump(ok));
      assert.equal(ok.doc.negotiated.group, 'SecP384r1MLKEM1024', 'reached through a HelloRetryRequest');
      const no = await runCli(['connect', `127.0.0.1:${server.port}`, ...CA, '--groups', 'X25519']);
      assert.equal(no.code, 1, dump(no));
      assert.match(no.stderr, /peer sent alert handshake failure/);
    } finally {
      await server.stop();
    }
  });
});
