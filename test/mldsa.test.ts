// ML-DSA certificates (FIPS 204, OpenSSL 3.5): made by `cert`, served by `serve` (files or its
// ephemeral certificate), accepted by independent clients (Node's tls), and named by `connect`
// as key and signature ('ML-DSA-65'), also against a Node.js TLS server. On OpenSSL 3.0: one
// line, exit 2.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { dump, runCli, runCliJson } from './helpers/cli';
import { HAS_PQ, requirePq, skipUnless } from './helpers/openssl_release';
import { dumpServe, ServeProcess, startServe } from './helpers/serve';
import { startNodeTlsServer } from './helpers/node_tls';

describe('ML-DSA certificates', function () {
  this.timeout(60_000);
  let tmp = '';
  let servers: ServeProcess[] = [];
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-mldsa-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL', 2000)));
    servers = [];
  });

  it('serve --key-type ml-dsa-65 (ephemeral): connect names ML-DSA-65 as key, certificate signature and handshake signature', async function () {
    requirePq(this);
    const s = await startServe(['--workers', '1', '--key-type', 'ml-dsa-65']);
    servers.push(s);
    assert.match(s.listening, /ephemeral ml-dsa-65 certificate/);
    const r = await runCliJson(['connect', `127.0.0.1:${s.port}`, '--insecure']);
    assert.equal(r.code, 0, dump(r));
    const cert = r.doc.certificates[0];
    assert.equal(cert.keyType, 'ML-DSA-65');
    assert.equal(cert.signatureAlgorithm, 'ML-DSA-65');
    assert.equal(r.doc.negotiated.peerSignatureType, 'ML-DSA-65');
    // An ML-DSA-65 signature is 3309 bytes and its public key 1952: the certificate alone is ~5.3 KB.
    assert.ok(r.doc.handshakeBytes.received > 1952 + 2 * 3309, JSON.stringify(r.doc.handshakeBytes));
    const text = await runCli(['connect', `127.0.0.1:${s.port}`, '--insecure']);
    assert.match(text.out, /^ {2}Peer signature {2}ML-DSA-65$/m);
    assert.match(text.out, /^ {4}key {6}ML-DSA-65$/m);
    assert.match(text.out, /^ {4}signed {3}ML-DSA-65$/m);
  });

  it('cert --key-type ml-dsa-44 files, served by serve: connect verifies them, and so does a Node.js tls client', async function () {
    requirePq(this);
    const dir = path.join(tmp, 'mldsa44');
    const c = await runCli(['cert', '--out', dir, '--key-type', 'ml-dsa-44']);
    assert.equal(c.code, 0, dump(c));
    const s = await startServe(['--workers', '1', '--cert', path.join(dir, 'server.pem'), '--key', path.join(dir, 'server.key')]);
    servers.push(s);
    const r = await runCliJson(['connect', `127.0.0.1:${s.port}`, '--ca', path.join(dir, 'ca.pem'), '--servername', 'localhost']);
    assert.equal(r.code, 0, dump(r));
    assert.equal(r.doc.verification.ok, true);
    assert.equal(r.doc.certificates[0].keyType, 'ML-DSA-44');
    assert.equal(r.doc.negotiated.peerSignatureType, 'ML-DSA-44');
    const node = await new Promise<{ authorized: boolean; error?: string }>((resolve) => {
      const sock = tls.connect({ host: '127.0.0.1', port: s.port, servername: 'localhost', ca: fs.readFileSync(path.join(dir, 'ca.pem')) }, () => {
        resolve({ authorized: sock.authorized });
        sock.end();
      });
      sock.on('error', (e) => resolve({ authorized: false, error: e.message }));
    });
    assert.deepEqual(node, { authorized: true });
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.equal(x.doc.totals.handshakes, 2);
  });

  it('connect names an ML-DSA-87 certificate served by a Node.js tls server', async function () {
    requirePq(this);
    const dir = path.join(tmp, 'mldsa87');
    const c = await runCli(['cert', '--out', dir, '--key-type', 'ml-dsa-87']);
    assert.equal(c.code, 0, dump(c));
    const server = await startNodeTlsServer({ cert: fs.readFileSync(path.join(dir, 'server.pem')), key: fs.readFileSync(path.join(dir, 'server.key')) });
    try {
      const r = await runCliJson(['connect', `127.0.0.1:${server.port}`, '--ca', path.join(dir, 'ca.pem'), '--servername', 'localhost']);
      assert.equal(r.code, 0, dump(r));
      assert.equal(r.doc.verification.ok, true);
      assert.equal(r.doc.certificates[0].keyType, 'ML-DSA-87');
      assert.equal(r.doc.certificates[0].signatureAlgorithm, 'ML-DSA-87');
      assert.equal(r.doc.negotiated.peerSignatureType, 'ML-DSA-87');
      assert.equal(server.seen.length, 1);
    } finally {
      await server.close();
    }
  });

  it('serve --key-type ml-dsa-65 on OpenSSL 3.0: one line, exit 2', async function () {
    skipUnless(this, !HAS_PQ, 'this OpenSSL has ML-DSA');
    const r = await runCli(['serve', '--port', '0', '--key-type', 'ml-dsa-65']);
    assert.equal(r.code, 2, dump(r));
    assert.match(r.stderr, /^iocptls: --key-type ml-dsa-65 needs OpenSSL 3\.5 or later for ML-DSA; this is OpenSSL 3\.0\.\d+ \(Node\.js 22 and 24 bundle 3\.5\)\n$/);
  });
});
