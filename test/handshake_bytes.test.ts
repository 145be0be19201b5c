// Handshake bytes are true: what connect, bench and serve report equals what OpenSSL's own
// protocol tracer (an independent observer: `openssl s_server -trace`, `s_client -trace`, a
// Node.js TLS server with enableTrace) saw on the other end of the same connections, record by
// record. The post-quantum cases (ML-KEM key shares are ~1.1 KB each way) need OpenSSL 3.5.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dump, fixture, runCliJson } from './helpers/cli';
import { HAS_PQ, requirePq } from './helpers/openssl_release';
import { startSServer, stopAllSServers } from './helpers/s_server';
import { dumpServe, startServe } from './helpers/serve';
import { handshakesInTrace, ObservedHandshake, startTraceServer } from './helpers/tls_trace';

const CA = ['--ca', fixture('ca.pem'), '--servername', 'localhost'];
const PEER = { cert: fixture('localhost.pem'), key: fixture('localhost.key') };

/** Our client's view (sent/received) equals the traced server's view, mirrored. */
function assertMirrors(ours: { sent: number; received: number } | null | undefined, server: ObservedHandshake, what: string): void {
  assert.ok(ours, `${what}: no handshake bytes reported`);
  assert.deepEqual({ sent: ours.sent, received: ours.received }, { sent: server.received, received: server.sent }, what);
}

describe('handshake bytes against an independent observer', function () {
  this.timeout(60_000);
  after(stopAllSServers);

  for (const version of ['1.3', '1.2'] as const) {
    it(`connect, TLS ${version}, full then 2 resumed: equal to s_server -trace's record counts`, async () => {
      const s = await startSServer({ args: ['-trace', '-naccept', '3', ...(version === '1.2' ? ['-tls1_2'] : [])] });
      const r = await runCliJson(['connect', `127.0.0.1:${s.port}`, ...CA, '--reconnect', '2']);
      assert.equal(r.code, 0, dump(r));
      await s.exited(10_000);
      const seen = handshakesInTrace(s.output());
      assert.equal(seen.length, 3, s.output().slice(-3000));
      assert.equal(r.doc.negotiated.protocol, `TLSv${version}`);
      assertMirrors(r.doc.handshakeBytes, seen[0], 'full handshake');
      assert.equal(seen[0].full, true);
      assert.equal(r.doc.reconnect.resumed, 2, JSON.stringify(r.doc.reconnect));
      for (let i = 0; i < 2; i++) {
        assert.equal(seen[i + 1].full, false, `reconnect ${i} resumed on the server's side too`);
        assertMirrors(r.doc.reconnect.handshakeBytes[i], seen[i + 1], `resumed handshake ${i}`);
      }
      // A resumed TLS 1.3 handshake has no certificate: the server sends far less.
      assert.ok(r.doc.reconnect.handshakeBytes[0].received < r.doc.handshakeBytes.received / 2);
    });
  }

  it("serve's own handshake bytes (server side, TLS 1.3 tickets excluded) equal s_client -trace's", async () => {
    const s = await startServe(['--workers', '1', '--cert', fixture('localhost.pem'), '--key', fixture('localhost.key')]);
    const c = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${s.port}`, '-trace', '-CAfile', fixture('ca.pem'), '-servername', 'localhost'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let trace = '';
    c.stdout!.on('data', (d: Buffer) => (trace += d.toString('latin1')));
    c.stderr!.on('data', (d: Buffer) => (trace += d.toString('latin1')));
    // Let the tickets arrive before s_client closes (stdin EOF), so the trace has them to leave out.
    await new Promise((r) => setTimeout(r, 1000));
    c.stdin!.end();
    await new Promise((r) => c.once('close', r));
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    const seen = handshakesInTrace(trace);
    assert.equal(seen.length, 1, trace.slice(-3000));
    assert.match(trace, /NewSessionTicket/, 'the server sent tickets, which are not handshake bytes');
    const t = x.doc.totals;
    assert.equal(t.full, 1);
    // The server's sent is what the client received, and the other way round.
    assert.deepEqual({ sent: t.fullHandshakeSent, received: t.fullHandshakeReceived }, { sent: seen[0].received, received: seen[0].sent });
  });

  it('bench handshake -c 1 -n 6 --resume tickets: mean per full / resumed handshake equal to a traced Node.js server', async () => {
    const server = await startTraceServer(PEER);
    let trace = '';
    let r;
    try {
      r = await runCliJson(['bench', 'handshake', `127.0.0.1:${server.port}`, '-c', '1', '-w', '1', '-n', '6', '--resume', 'tickets', '--no-plot']);
    } finally {
      trace = await server.stop();
    }
    assert.equal(r.code, 0, dump(r));
    const seen = handshakesInTrace(trace);
    assert.equal(seen.length, 6, trace.slice(-2000));
    const doc = r.doc;
    for (const kind of ['full', 'resumed'] as const) {
      const list = seen.filter((h) => h.full === (kind === 'full'));
      assert.equal(doc.totals[kind], list.length, `${kind} count: ours vs the server's`);
      if (list.length === 0) continue;
      const mean = (f: (h: ObservedHandshake) => number) => Math.round((list.reduce((a, h) => a + f(h), 0) / list.length) * 10) / 10;
      assert.deepEqual(doc.handshakeBytes[kind], { count: list.length, sent: mean((h) => h.received), received: mean((h) => h.sent) }, kind);
    }
    assert.ok(doc.totals.resumed >= 1, 'at least one handshake resumed');
  });

  describe('post-quantum groups (OpenSSL 3.5)', () => {
    for (const group of ['X25519MLKEM768', 'SecP256r1MLKEM768', 'SecP384r1MLKEM1024']) {
      it(`connect --groups ${group}: named, and its bytes equal to a traced Node.js server's`, async function () {
        requirePq(this);
        const server = await startTraceServer({ ...PEER, groups: group });
        let trace = '';
        let r;
        try {
          r = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...CA, '--groups', group]);
        } finally {
          trace = await server.stop();
        }
        assert.equal(r.code, 0, dump(r));
        assert.equal(r.doc.negotiated.group, group);
        const seen = handshakesInTrace(trace);
        assert.equal(seen.length, 1);
        assertMirrors(r.doc.handshakeBytes, seen[0], group);
        // ML-KEM's share alone: an encapsulation key of 1184 (768) / 1568 (1024) bytes out, a ciphertext of 1088 / 1568 back.
        const [out, back] = group.endsWith('1024') ? [1568, 1568] : [1184, 1088];
        assert.ok(r.doc.handshakeBytes.sent > out && r.doc.handshakeBytes.received > back, JSON.stringify(r.doc.handshakeBytes));
      });
    }

    it('the default key exchange of OpenSSL 3.5 is X25519MLKEM768, and costs over 1 KB more each way than X25519', async function () {
      requirePq(this);
      const server = await startTraceServer(PEER);
      try {
        const pq = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...CA]);
        const classic = await runCliJson(['connect', `127.0.0.1:${server.port}`, ...CA, '--groups', 'X25519']);
        assert.equal(pq.code, 0, dump(pq));
        assert.equal(classic.code, 0, dump(classic));
        assert.equal(pq.doc.negotiated.group, 'X25519MLKEM768');
        assert.equal(classic.doc.negotiated.group, 'X25519');
        // Not exactly 1184 / 1088: the server also tells an X25519-only client its preferred groups
        // (supported_groups in EncryptedExtensions), and ECDSA signatures vary by a byte or two.
        const more = [pq.doc.handshakeBytes.sent - classic.doc.handshakeBytes.sent, pq.doc.handshakeBytes.received - classic.doc.handshakeBytes.received];
        assert.ok(more[0] > 1000 && more[1] > 1000, JSON.stringify([pq.doc.handshakeBytes, classic.doc.handshakeBytes]));
      } finally {
        await server.stop();
      }
    });
  });

  it(`names the OpenSSL and Node.js in use${HAS_PQ ? '' : ' (OpenSSL 3.0 here)'}`, async () => {
    const s = await startSServer({ args: ['-naccept', '1'] });
    const r = await runCliJson(['connect', `127.0.0.1:${s.port}`, ...CA]);
    assert.equal(r.code, 0, dump(r));
    assert.equal(r.doc.node, process.version);
    assert.equal(r.doc.openssl.version.split(' ')[1], process.versions.openssl.replace(/\+.*/, ''));
  });
});
