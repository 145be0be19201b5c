// Test PKI made through our OpenSSL bindings, checked by independent parties: the openssl CLI
// and Node's crypto/tls. Also the `iocptls cert` command end to end, and the committed fixtures.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { KEY_TYPES, createCA, createLeaf, generateKey, isMlDsa, parseSans, selfSigned, type IssuedCertificate, type KeyType } from '../src/engine/pki';
import { requirePq, skipUnless } from './helpers/openssl_release';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'fixtures');
const RUN = path.join(ROOT, 'bin', 'run.js');
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-pki-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

/** `openssl verify`: exit status and combined output. */
function opensslVerify(args: string[]): { ok: boolean; output: string } {
  const r = spawnSync('openssl', ['verify', ...args], { encoding: 'utf8' });
  return { ok: r.status === 0, output: r.stdout + r.stderr };
}

function opensslText(certFile: string): string {
  return execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-text'], { encoding: 'utf8' });
}

interface HandshakeResult {
  authorized: boolean;
  error?: string;
  serverSawClient?: boolean;
}

/** A real Node TLS handshake on loopback between the given server and client options. */
async function handshake(server: tls.TlsOptions, client: tls.ConnectionOptions): Promise<HandshakeResult> {
  let serverSawClient: boolean | undefined;
  const srv = tls.createServer(server, (s) => {
    serverSawClient = s.authorized;
    s.end();
  });
  srv.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  try {
    const port = (srv.address() as AddressInfo).port;
    return await new Promise<HandshakeResult>((resolve) => {
      const c = tls.connect({ host: '127.0.0.1', port, ...client }, () => {
        c.once('end', () => resolve({ authorized: c.authorized, serverSawClient }));
        c.resume();
      });
      c.on('error', (e: NodeJS.ErrnoException) => resolve({ authorized: false, error: e.code ?? e.message }));
    });
  } finally {
    srv.close();
  }
}

const EXPECTED_KEY: Record<KeyType, { type: string; details: crypto.AsymmetricKeyDetails }> = {
  'ecdsa-p256': { type: 'ec', details: { namedCurve: 'prime256v1' } },
  rsa2048: { type: 'rsa', details: { modulusLength: 2048 } },
  rsa3072: { type: 'rsa', details: { modulusLength: 3072 } },
  ed25519: { type: 'ed25519', details: {} },
  'ml-dsa-44': { type: 'ml-dsa-44', details: {} },
  'ml-dsa-65': { type: 'ml-dsa-65', details: {} },
  'ml-dsa-87': { type: 'ml-dsa-87', details: {} },
};

// Node 22's crypto uses ML-DSA keys (through its OpenSSL 3.5) but does not name them; Node 24 does.
const NODE_NAMES_ML_DSA = Number(process.versions.node.split('.')[0]) >= 24;

// The openssl CLI on this machine (Debian's, 3.0) cannot parse ML-DSA certificates: for them,
// Node's X509Certificate (OpenSSL 3.5 inside Node 22/24) checks chains and signatures instead.
const SYSTEM_OPENSSL_REASON = 'the openssl CLI here is 3.0 and cannot read ML-DSA; Node X509Certificate checks these';

function assertKeyType(key: crypto.KeyObject, keyType: KeyType): void {
  if (isMlDsa(keyType) && !NODE_NAMES_ML_DSA) {
    assert.equal(key.asymmetricKeyType, undefined, 'Node < 24 does not name ML-DSA keys');
    return;
  }
  assert.equal(key.asymmetricKeyType, EXPECTED_KEY[keyType].type);
  for (const [k, v] of Object.entries(EXPECTED_KEY[keyType].details)) {
    assert.equal((key.asymmetricKeyDetails as Record<string, unknown>)[k], v, `${keyType} ${k}`);
  }
}

describe('pki: keys', () => {
  for (const keyType of KEY_TYPES) {
    it(`generateKey(${keyType}) gives a PKCS#8 PEM key of that type`, function () {
      if (isMlDsa(keyType)) requirePq(this);
      const pem = generateKey(keyType);
      assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
      assertKeyType(crypto.createPrivateKey(pem), keyType);
    });
  }
});

describe('pki: subject alternative names', () => {
  it('tells DNS names from IPv4 and IPv6 addresses', () => {
    assert.deepEqual(parseSans(['localhost', '127.0.0.1', '::1', '*.example.test', 'a_b.internal', '2001:db8::5']), {
      dns: ['localhost', '*.example.test', 'a_b.internal'],
      ips: ['127.0.0.1', '::1', '2001:db8::5'],
    });
  });
  for (const bad of ['', 'foo bar', 'a,b', 'DNS:x', '1.2.3', '300.1.1.1', 'fe80::1%eth0', '-x.example', 'x..y', 'a'.repeat(64)]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseSans([bad]), /not a DNS name or IP address|empty subject alternative name/);
    });
  }
});

describe('pki: CA-signed chains, per key type', function () {
  this.timeout(60000);
  for (const keyType of KEY_TYPES) {
    describe(keyType, () => {
      let ca: IssuedCertificate;
      let leaf: IssuedCertificate;
      let caFile: string;
      let leafFile: string;
      before(function () {
        if (isMlDsa(keyType)) requirePq(this);
        ca = createCA({ cn: `iocptls test CA ${keyType}`, days: 60, keyType });
        leaf = createLeaf({ ca, sans: ['localhost', '127.0.0.1', '::1', 'svc.example.test'], days: 7, keyType });
        caFile = write(`ca-${keyType}.pem`, ca.certPem);
        leafFile = write(`leaf-${keyType}.pem`, leaf.certPem);
      });

      it('verifies with openssl verify -CAfile, for the sslserver purpose', function () {
        skipUnless(this, !isMlDsa(keyType), SYSTEM_OPENSSL_REASON);
        const r = opensslVerify(['-purpose', 'sslserver', '-CAfile', caFile, leafFile]);
        assert.ok(r.ok, r.output);
        assert.match(r.output, /: OK/);
      });

      it('does not verify against a different CA', function () {
        skipUnless(this, !isMlDsa(keyType), SYSTEM_OPENSSL_REASON);
        const other = createCA({ cn: 'unrelated', days: 1, keyType: 'ecdsa-p256' });
        const r = opensslVerify(['-CAfile', write(`other-${keyType}.pem`, other.certPem), leafFile]);
        assert.ok(!r.ok);
        assert.match(r.output, /unable to get local issuer certificate/);
      });

      it('reads back as asked through Node X509Certificate', () => {
        const x = new crypto.X509Certificate(leaf.certPem);
        const cax = new crypto.X509Certificate(ca.certPem);
        assert.equal(x.subjectAltName, 'DNS:localhost, DNS:svc.example.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
        assert.deepEqual(x.keyUsage, [SERVER_AUTH]);
        assert.equal(x.subject, 'CN=localhost');
        assert.equal(x.ca, false);
        assert.equal(cax.ca, true);
        assert.ok(x.checkIssued(cax));
        assert.ok(x.verify(cax.publicKey));
        assert.equal(new Date(x.validFrom).getTime(), leaf.notBefore.getTime());
        assert.equal(new Date(x.validTo).getTime(), leaf.notAfter.getTime());
        const days = (leaf.notAfter.getTime() - Date.now()) / 86400e3;
        assert.ok(days > 6.99 && days <= 7, `notAfter is ${days} days away`);
        assert.ok(leaf.notBefore.getTime() < Date.now());
        assert.equal(x.serialNumber, leaf.serialNumber);
        assert.notEqual(x.serialNumber, cax.serialNumber);
        assertKeyType(x.publicKey, keyType);
        assert.ok(x.checkPrivateKey(crypto.createPrivateKey(leaf.keyPem)));
      });

      if (isMlDsa(keyType)) {
        it('Node: the leaf does not verify against another CA of the same type', () => {
          const other = createCA({ cn: 'unrelated', days: 1, keyType });
          assert.equal(new crypto.X509Certificate(leaf.certPem).verify(new crypto.X509Certificate(other.certPem).publicKey), false);
        });
      }

      it('reports the fingerprint Node computes', () => {
        assert.equal(leaf.fingerprint256, new crypto.X509Certificate(leaf.certPem).fingerprint256);
        assert.equal(ca.fingerprint256, new crypto.X509Certificate(ca.certPem).fingerprint256);
      });

      it('has the extensions openssl x509 -text shows for a CA and a server leaf', function () {
        skipUnless(this, !isMlDsa(keyType), SYSTEM_OPENSSL_REASON);
        const caText = opensslText(caFile);
        assert.match(caText, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
        assert.match(caText, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
        const text = opensslText(leafFile);
        assert.match(text, /Version: 3 \(0x2\)/);
        assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
        assert.match(text, /Key Usage: critical\s+Digital Signature/);
        assert.match(text, /Extended Key Usage: \s*\n\s+TLS Web Server Authentication\n/);
        assert.match(text, /Subject Key Identifier/);
        const akid = /Authority Key Identifier: \s*\n\s+(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1];
        const skid = /Subject Key Identifier: \s*\n\s+([0-9A-F:]+)/.exec(caText)?.[1];
        assert.ok(akid && akid === skid, `leaf AKID ${akid} is the CA SKID ${skid}`);
        const sig = keyType === 'ed25519' ? 'ED25519' : keyType === 'ecdsa-p256' ? 'ecdsa-with-SHA256' : 'sha256WithRSAEncryption';
        assert.match(text, new RegExp(`Signature Algorithm: ${sig}`));
      });

      it('completes a Node TLS handshake with servername localhost', async () => {
        const r = await handshake({ cert: leaf.certPem, key: leaf.keyPem }, { ca: ca.certPem, servername: 'localhost' });
        assert.deepEqual(r, { authorized: true, serverSawClient: false });
      });
    });
  }
});

describe('pki: validity, client and self-signed certificates', () => {
  let ca: IssuedCertificate;
  before(() => {
    ca = createCA({ cn: 'iocptls test CA misc', days: 30, keyType: 'ecdsa-p256' });
  });

  it('makes certificates whose validity ended in the past', () => {
    const old = createLeaf({ ca, sans: ['localhost'], days: 5, notBeforeDaysAgo: 10, keyType: 'ecdsa-p256' });
    const x = new crypto.X509Certificate(old.certPem);
    const endedDaysAgo = (Date.now() - Date.parse(x.validTo)) / 86400e3;
    assert.ok(endedDaysAgo > 4.99 && endedDaysAgo < 5.01, `ended ${endedDaysAgo} days ago`);
    const r = opensslVerify(['-CAfile', write('ca-misc.pem', ca.certPem), write('old.pem', old.certPem)]);
    assert.match(r.output, /certificate has expired/);
  });

  it('makes clientAuth leaves that a server requiring client certificates accepts', async () => {
    const server = createLeaf({ ca, sans: ['localhost'], days: 1, keyType: 'ecdsa-p256' });
    const client = createLeaf({ ca, sans: ['alice.example'], days: 1, keyType: 'ed25519', client: true });
    assert.deepEqual(new crypto.X509Certificate(client.certPem).keyUsage, [CLIENT_AUTH]);
    assert.equal(client.subject, 'CN=alice.example');
    const r = opensslVerify(['-purpose', 'sslclient', '-CAfile', write('ca-misc.pem', ca.certPem), write('client.pem', client.certPem)]);
    assert.ok(r.ok, r.output);
    const hs = await handshake(
      { cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
      { ca: ca.certPem, servername: 'localhost', cert: client.certPem, key: client.keyPem }
    );
    assert.deepEqual(hs, { authorized: true, serverSawClient: true });
  });

  it('makes self-signed certificates that trust themselves only', async () => {
    const ss = selfSigned({ sans: ['localhost', '127.0.0.1'], days: 2, keyType: 'ecdsa-p256' });
    const x = new crypto.X509Certificate(ss.certPem);
    assert.equal(x.issuer, x.subject);
    assert.ok(x.verify(x.publicKey));
    assert.equal(ss.fingerprint256, x.fingerprint256);
    const file = write('ss.pem', ss.certPem);
    assert.ok(opensslVerify(['-CAfile', file, file]).ok);
    assert.match(opensslVerify(['-CAfile', write('ca-misc.pem', ca.certPem), file]).output, /self-signed certificate/);
    const hs = await handshake({ cert: ss.certPem, key: ss.keyPem }, { ca: ss.certPem, servername: 'localhost' });
    assert.equal(hs.authorized, true);
  });

  it('refuses a CA key that does not belong to the CA certificate', () => {
    const other = createCA({ cn: 'other', days: 1, keyType: 'ecdsa-p256' });
    assert.throws(
      () => createLeaf({ ca: { certPem: ca.certPem, keyPem: other.keyPem }, sans: ['localhost'], days: 1, keyType: 'ecdsa-p256' }),
      /CA private key does not match the CA certificate/
    );
  });

  it('refuses to sign with a certificate that is not a CA', () => {
    const leaf = createLeaf({ ca, sans: ['localhost'], days: 1, keyType: 'ecdsa-p256' });
    assert.throws(() => createLeaf({ ca: leaf, sans: ['x.example'], days: 1, keyType: 'ecdsa-p256' }), /is not a CA certificate/);
  });

  it('refuses bad validity and server leaves without names', () => {
    assert.throws(() => createLeaf({ ca, sans: ['localhost'], days: 0, keyType: 'ecdsa-p256' }), /positive number of days/);
    assert.throws(() => createLeaf({ ca, sans: [], days: 1, keyType: 'ecdsa-p256' }), /at least one subject alternative name/);
  });
});

describe('pki: native memory', function () {
  // A backstop, not a bound: 4,500 leaves are CPU work, which took over 120 s beside other files at load 20.
  this.timeout(400_000);

  // In a child process so other tests' allocations do not blur the numbers. A leaked X509 or
  // EVP_PKEY per leaf is 1-5 KB, i.e. at least 0.8 MB in every batch of 800 leaves. RSS is noisy
  // (allocator arenas, GC timing, a loaded machine), but noise does not repeat in every batch
  // the way a leak does, so the smallest growth of five batches is what is judged (three were not enough at load 7).
  it('frees what it allocates: RSS stays flat over batches of 800 leaves after warm-up', () => {
    const script = `
      const pki = require(${JSON.stringify(path.join(ROOT, 'dist/src/engine/pki'))});
      const ca = pki.createCA({ cn: 'leak check', days: 1, keyType: 'ecdsa-p256' });
      const run = (n) => { for (let i = 0; i < n; i++) { pki.createLeaf({ ca, sans: ['x.example', '10.0.0.1'], days: 1, keyType: 'ecdsa-p256' }); pki.checkCA(ca); } };
      run(500); gc();
      const growth = [];
      for (let b = 0; b < 5; b++) { const before = process.memoryUsage().rss; run(800); gc(); growth.push(process.memoryUsage().rss - before); }
      console.log(JSON.stringify(growth));`;
    const growth: number[] = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' }));
    const mb = growth.map((g) => (g / 1e6).toFixed(2)).join(', ');
    assert.ok(Math.min(...growth) < 0.5e6, `RSS grew in every batch: ${mb} MB`);
  });
});

describe('pki: committed fixtures', () => {
  const f = (name: string) => path.join(FIXTURES, name);
  const cert = (name: string) => new crypto.X509Certificate(fs.readFileSync(f(name)));
  const verify = (caName: string, name: string) => opensslVerify(['-CAfile', f(caName), f(name)]);

  it('are labelled test-only', () => {
    assert.match(fs.readFileSync(f('README.md'), 'utf8'), /TEST-ONLY/);
    assert.match(cert('ca.pem').subject, /TEST-ONLY/);
    assert.match(cert('other-ca.pem').subject, /TEST-ONLY/);
  });

  for (const name of ['localhost', 'wronghost', 'client', 'rsa']) {
    it(`${name}.pem verifies against ca.pem, is valid for years and matches ${name}.key`, () => {
      const r = verify('ca.pem', `${name}.pem`);
      assert.ok(r.ok, r.output);
      const x = cert(`${name}.pem`);
      assert.ok(Date.parse(x.validTo) - Date.now() > 5 * 365 * 86400e3, `${name} valid until ${x.validTo}`);
      assert.ok(x.checkPrivateKey(crypto.createPrivateKey(fs.readFileSync(f(`${name}.key`)))));
      assert.equal((fs.readFileSync(f(`${name}.pem`), 'utf8').match(/BEGIN CERTIFICATE/g) ?? []).length, 1);
    });
  }

  it('localhost.pem and rsa.pem are for localhost, 127.0.0.1 and ::1; rsa is RSA-2048', () => {
    for (const name of ['localhost.pem', 'rsa.pem']) {
      const x = cert(name);
      assert.ok(x.checkHost('localhost') && x.checkIP('127.0.0.1') && x.checkIP('::1'), name);
      assert.deepEqual(x.keyUsage, [SERVER_AUTH]);
    }
    assertKeyType(cert('rsa.pem').publicKey, 'rsa2048');
  });

  it('expired.pem really is expired', () => {
    const x = cert('expired.pem');
    assert.ok(Date.parse(x.validTo) < Date.now(), `validTo ${x.validTo}`);
    assert.ok(x.checkIssued(cert('ca.pem')));
    assert.match(verify('ca.pem', 'expired.pem').output, /certificate has expired/);
  });

  it('wronghost.pem is only for wrong.example', () => {
    const x = cert('wronghost.pem');
    assert.equal(x.subjectAltName, 'DNS:wrong.example');
    assert.equal(x.checkHost('localhost'), undefined);
  });

  it('client.pem is a clientAuth leaf', () => {
    assert.deepEqual(cert('client.pem').keyUsage, [CLIENT_AUTH]);
    assert.ok(opensslVerify(['-purpose', 'sslclient', '-CAfile', f('ca.pem'), f('client.pem')]).ok);
  });

  it('selfsigned.pem is not from ca.pem, and other-ca.pem signed none of them', () => {
    assert.match(verify('ca.pem', 'selfsigned.pem').output, /self-signed certificate/);
    assert.match(verify('other-ca.pem', 'localhost.pem').output, /unable to get local issuer certificate/);
    assert.ok(cert('other-ca.pem').ca);
    assert.ok(!fs.existsSync(f('other-ca.key')));
  });

  it('make Node TLS fail the way their names say', async () => {
    const ca = fs.readFileSync(f('ca.pem'));
    const serve = (name: string) => ({ cert: fs.readFileSync(f(`${name}.pem`)), key: fs.readFileSync(f(`${name}.key`)) });
    const to = { ca, servername: 'localhost' };
    assert.equal((await handshake(serve('localhost'), to)).authorized, true);
    assert.equal((await handshake(serve('rsa'), to)).authorized, true);
    assert.equal((await handshake(serve('expired'), to)).error, 'CERT_HAS_EXPIRED');
    assert.equal((await handshake(serve('wronghost'), to)).error, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.equal((await handshake(serve('selfsigned'), to)).error, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    const wrongCA = { ca: fs.readFileSync(f('other-ca.pem')), servername: 'localhost' };
    assert.equal((await handshake(serve('localhost'), wrongCA)).error, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});

describe('iocptls cert', function () {
  this.timeout(60000);

  function cli(args: string[]) {
    const r = spawnSync(process.execPath, [RUN, 'cert', ...args], { encoding: 'utf8', cwd: tmp, env: { ...process.env, NODE_OPTIONS: '' } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** The error line without its `iocptls: ` prefix; asserts it is the only line on stderr, no stack. */
  function oneError(stderr: string): string {
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    const lines = stderr.split('\n').filter((l) => l.trim());
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0], /^iocptls: /, stderr);
    return lines[0].replace(/^iocptls: /, '');
  }

  const certCount = (file: string) => (fs.readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
  const mode = (file: string) => fs.statSync(file).mode & 0o777;

  it('creates a CA and a server leaf that verify, with private keys 0600', () => {
    const out = path.join(tmp, 'cli1');
    const r = cli(['--out', out]);
    assert.equal(r.status, 0, r.stderr);
    for (const line of ['ca.pem', 'ca.key', 'server.pem', 'server.key', 'CN=localhost', 'localhost, 127.0.0.1, ::1', 'SHA-256']) {
      assert.ok(r.stdout.includes(line), `output mentions ${line}:\n${r.stdout}`);
    }
    assert.deepEqual(fs.readdirSync(out).sort(), ['ca.key', 'ca.pem', 'server.key', 'server.pem']);
    assert.equal(mode(path.join(out, 'ca.key')), 0o600);
    assert.equal(mode(path.join(out, 'server.key')), 0o600);
    assert.equal(certCount(path.join(out, 'server.pem')), 1, 'the leaf file holds the leaf only');
    const v = opensslVerify(['-purpose', 'sslserver', '-CAfile', path.join(out, 'ca.pem'), path.join(out, 'server.pem')]);
    assert.ok(v.ok, v.output);
    const x = new crypto.X509Certificate(fs.readFileSync(path.join(out, 'server.pem')));
    assert.ok(r.stdout.includes(x.fingerprint256));
    const days = (Date.parse(x.validTo) - Date.now()) / 86400e3;
    assert.ok(days > 29.9 && days <= 30, `default validity ${days} days`);
    assertKeyType(x.publicKey, 'ecdsa-p256');
  });

  it('refuses to overwrite, in one line with exit 2, and leaves the files alone', () => {
    const out = path.join(tmp, 'cli1');
    const before = fs.readFileSync(path.join(out, 'server.pem'), 'utf8');
    const r = cli(['--out', out]);
    assert.equal(r.status, 2);
    assert.match(oneError(r.stderr), /refusing to overwrite .*ca\.pem and 3 more \(use --force\)/);
    assert.equal(fs.readFileSync(path.join(out, 'server.pem'), 'utf8'), before);
  });

  it('--force replaces the files, keys still 0600', () => {
    const out = path.join(tmp, 'cli1');
    const key = path.join(out, 'server.key');
    fs.chmodSync(key, 0o644);
    const before = fs.readFileSync(key, 'utf8');
    const r = cli(['--out', out, '--force', '--key-type', 'rsa2048']);
    assert.equal(r.status, 0, r.stderr);
    assert.notEqual(fs.readFileSync(key, 'utf8'), before);
    assert.equal(mode(key), 0o600);
    assertKeyType(crypto.createPrivateKey(fs.readFileSync(key)), 'rsa2048');
  });

  it('signs a clientAuth leaf with an existing CA and returns the document with --json', () => {
    const caDir = path.join(tmp, 'cli1');
    const out = path.join(tmp, 'cli2');
    const r = cli(['--out', out, '--ca-cert', path.join(caDir, 'ca.pem'), '--ca-key', path.join(caDir, 'ca.key'), '--client',
      '--san', 'alice.example', '--san', '10.1.2.3,2001:db8::1', '--days', '3', '--key-type', 'ed25519', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(fs.readdirSync(out).sort(), ['client.key', 'client.pem']);
    const x = new crypto.X509Certificate(fs.readFileSync(path.join(out, 'client.pem')));
    const cax = new crypto.X509Certificate(fs.readFileSync(path.join(caDir, 'ca.pem')));
    assert.equal(doc.ca.created, false);
    assert.equal(doc.ca.fingerprint256, cax.fingerprint256);
    assert.equal(doc.leaf.certFile, path.join(out, 'client.pem'));
    assert.equal(doc.leaf.keyFile, path.join(out, 'client.key'));
    assert.equal(doc.leaf.fingerprint256, x.fingerprint256);
    assert.equal(doc.leaf.subject, x.subject);
    assert.equal(doc.leaf.issuer, cax.subject);
    assert.deepEqual(doc.leaf.sans, ['alice.example', '10.1.2.3', '2001:db8::1']);
    assert.equal(x.subjectAltName, 'DNS:alice.example, IP Address:10.1.2.3, IP Address:2001:DB8:0:0:0:0:0:1');
    assert.equal(doc.leaf.extendedKeyUsage, 'clientAuth');
    assert.deepEqual(x.keyUsage, [CLIENT_AUTH]);
    assert.equal(new Date(doc.leaf.notAfter).getTime(), new Date(x.validTo).getTime());
    assert.equal(doc.leaf.keyType, 'ed25519');
    assert.equal(doc.openssl.source, 'node');
    assert.ok(doc.openssl.version.startsWith(`OpenSSL ${process.versions.openssl.replace(/\+.*$/, '')} `), doc.openssl.version);
    assert.equal(mode(path.join(out, 'client.key')), 0o600);
    assert.ok(opensslVerify(['-purpose', 'sslclient', '-CAfile', path.join(caDir, 'ca.pem'), path.join(out, 'client.pem')]).ok);
  });

  const libssl = ['/usr/lib/x86_64-linux-gnu/libssl.so.3', '/usr/lib/aarch64-linux-gnu/libssl.so.3', '/usr/lib64/libssl.so.3'].find((p) =>
    fs.existsSync(p)
  );
  (libssl ? it : it.skip)(`--openssl ${libssl ?? '(no system libssl.so.3)'} generates with that library`, () => {
    const out = path.join(tmp, 'cli3');
    const r = cli(['--out', out, '--openssl', libssl!, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.openssl.source, libssl);
    assert.match(doc.openssl.version, /^OpenSSL 3\./);
    assert.ok(opensslVerify(['-CAfile', path.join(out, 'ca.pem'), path.join(out, 'server.pem')]).ok);
  });

  const errors: [string, string[], RegExp][] = [
    ['an unreadable CA file', ['--ca-cert', 'nonexistent.pem', '--ca-key', 'nonexistent.key'], /^--ca-cert: cannot read nonexistent\.pem: no such file or directory \(ENOENT\)$/],
    ['a CA key that does not match', ['--ca-cert', 'cli1/ca.pem', '--ca-key', 'cli1/server.key'], /^CA private key does not match the CA certificate$/],
    ['a CA file that is not PEM', ['--ca-cert', 'cli1/ca.key', '--ca-key', 'cli1/ca.key'], /^CA certificate is not a PEM certificate: no start line$/],
    ['a leaf given as CA', ['--ca-cert', 'cli1/server.pem', '--ca-key', 'cli1/server.key'], /^CN=localhost is not a CA certificate$/],
    ['a bad --san', ['--san', 'localhost,bad name'], /^not a DNS name or IP address: "bad name"$/],
    ['--days 0', ['--days', '0'], /^--days must be a whole number of days from 1 to 999999, not "0"$/],
    ['--days 3x', ['--days', '3x'], /^--days must be a whole number of days from 1 to 999999, not "3x"$/],
  ];
  for (const [what, args, message] of errors) {
    it(`exits 2 with one line for ${what}, writing nothing`, () => {
      const out = path.join(tmp, 'cli-err');
      const r = cli(['--out', out, ...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(oneError(r.stderr), message);
      assert.ok(!fs.existsSync(out) || fs.readdirSync(out).length === 0, 'nothing written');
    });
  }

  it('--key-type ml-dsa-65: an ML-DSA CA and leaf that Node verifies, named in the report (OpenSSL 3.5)', function () {
    requirePq(this);
    const out = path.join(tmp, 'cli-mldsa');
    const r = cli(['--out', out, '--key-type', 'ml-dsa-65', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).leaf.keyType, 'ml-dsa-65');
    const x = new crypto.X509Certificate(fs.readFileSync(path.join(out, 'server.pem')));
    const cax = new crypto.X509Certificate(fs.readFileSync(path.join(out, 'ca.pem')));
    assert.ok(x.checkIssued(cax) && x.verify(cax.publicKey));
    assert.ok(x.checkPrivateKey(crypto.createPrivateKey(fs.readFileSync(path.join(out, 'server.key')))));
    assertKeyType(x.publicKey, 'ml-dsa-65');
  });

  it('--key-type ml-dsa-65 on OpenSSL 3.0: one line, exit 2, nothing written', function () {
    skipUnless(this, !process.versions.openssl.match(/^3\.([5-9]|\d\d)/), 'this OpenSSL has ML-DSA');
    const out = path.join(tmp, 'cli-mldsa-30');
    const r = cli(['--out', out, '--key-type', 'ml-dsa-65']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(oneError(r.stderr), /^--key-type ml-dsa-65 needs OpenSSL 3\.5 or later for ML-DSA; this is OpenSSL 3\.0\.\d+ \(Node\.js 22 and 24 bundle 3\.5\)$/);
    assert.ok(!fs.existsSync(out));
  });

  it('--out where no directory can be made fails at once, in one line with exit 2 (it used to hang under /proc)', () => {
    for (const [dir, cause] of [
      ['/proc/iocptls-x', /^--out \/proc\/iocptls-x: cannot create \/proc\/iocptls-x: .*\((ENOENT|EACCES|EPERM|EROFS)\)$/],
      [path.join(tmp, 'cli1', 'ca.pem', 'sub'), /is not a directory$/],
    ] as const) {
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [RUN, 'cert', '--out', dir], { encoding: 'utf8', cwd: tmp, timeout: 20_000 });
      assert.equal(r.status, 2, `${dir}: ${r.stderr} ${r.error ?? ''}`);
      assert.match(oneError(r.stderr), cause);
      assert.ok(Date.now() - t0 < 15_000);
    }
  });

  it('under --json, errors are a JSON document and still exit 2', () => {
    const r = cli(['--out', path.join(tmp, 'cli-err'), '--days', 'soon', '--json']);
    assert.equal(r.status, 2);
    assert.match(JSON.parse(r.stdout).error.message, /--days must be a whole number/);
  });
});
