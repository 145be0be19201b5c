// `iocptls scan`'s full-handshake findings against servers configured here: openssl s_server with
// chosen options (0-RTT, client renegotiation, an OCSP staple made by `openssl ocsp`, an SCT
// through -serverinfo, an RSA and an ECDSA certificate, no tickets), `iocptls serve` with dual
// certificates, nginx (no renegotiation, no resumption), ML-DSA on OpenSSL 3.5, a chain through an
// intermediate. Unpatched and hostile servers: scan_vulns.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultBackendChoice, resolveBackend } from '../src/engine/port';
import { runScan, ScanOptions } from '../src/engine/scan/scan';
import type { HostScan } from '../src/engine/scan/types';
import { fixture } from './helpers/cli';
import { ensureNginx, startNginx } from './helpers/nginx';
import { startNodeTlsServer } from './helpers/node_tls';
import { startServe } from './helpers/serve';
import { startSServer, stopAllSServers } from './helpers/s_server';

const HOST = '127.0.0.1';
const [major, minor] = process.versions.openssl.split('.').map(Number);
const HAS_MLDSA = major > 3 || (major === 3 && minor >= 5);
const backend = resolveBackend(defaultBackendChoice()).backend;
const OPTS: ScanOptions = { concurrency: 8, timeoutMs: 3000, backend, ca: fixture('ca.pem') };

async function scanOne(port: number, servername?: string, o: Partial<ScanOptions> = {}): Promise<HostScan> {
  const [h] = await runScan([{ host: HOST, port, servername }], { ...OPTS, ...o });
  return h;
}
const chain = (h: HostScan, request: string) => h.chains?.find((c) => c.request === request);
const finding = (h: HostScan, id: string) => h.findings.find((f) => f.id === id);

let tmp: string;
before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-scanfull-'))));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An OCSP response for localhost.pem, signed by the test CA, made by `openssl ocsp` (responder side). */
function ocspResponse(): string {
  const req = path.join(tmp, 'req.der');
  const resp = path.join(tmp, 'resp.der');
  const index = path.join(tmp, 'index.txt');
  fs.writeFileSync(index, '');
  execFileSync('openssl', ['ocsp', '-issuer', fixture('ca.pem'), '-cert', fixture('localhost.pem'), '-reqout', req, '-no_nonce'], { stdio: 'ignore' });
  execFileSync('openssl', ['ocsp', '-index', index, '-rsigner', fixture('ca.pem'), '-rkey', fixture('ca.key'), '-CA', fixture('ca.pem'), '-reqin', req, '-respout', resp, '-ndays', '1'], { stdio: 'ignore' });
  return resp;
}

/**
 * One SCT in the signed_certificate_timestamp extension, for s_server -serverinfo (v2: the
 * extension in the TLS 1.2 ServerHello and the TLS 1.3 leaf CertificateEntry). Syntactically an
 * SCT (RFC 6962 3.2); no log signed it, which the scan does not check.
 */
function sctServerinfo(): string {
  const sct = Buffer.concat([Buffer.from([0]), crypto.randomBytes(32), Buffer.alloc(8, 1), Buffer.from([0, 0, 4, 3, 0, 8]), crypto.randomBytes(8)]);
  const list = Buffer.concat([Buffer.from([0, sct.length + 2, 0, sct.length]), sct]);
  const ext = Buffer.concat([Buffer.from([0, 18, 0, list.length]), list]);
  // SSL_EXT_CLIENT_HELLO | TLS1_2_SERVER_HELLO | TLS1_3_CERTIFICATE | IGNORE_ON_RESUMPTION
  const b64 = Buffer.concat([Buffer.from([0, 0, 0x11, 0xc0]), ext]).toString('base64');
  const file = path.join(tmp, 'sct.pem');
  fs.writeFileSync(file, `-----BEGIN SERVERINFOV2 FOR CT-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END SERVERINFOV2 FOR CT-----\n`);
  return file;
}

describe('scan: full-handshake findings', function () {
  this.timeout(30000);
  after(stopAllSServers);

  it('s_server with 0-RTT, client renegotiation, OCSP, an SCT, RSA + ECDSA: every finding is its configuration', async () => {
    const s = await startSServer({
      args: [
        '-dcert', fixture('rsa.pem'), '-dkey', fixture('rsa.key'),
        '-early_data',
        '-client_renegotiation',
        '-status_file', ocspResponse(),
        '-serverinfo', sctServerinfo(),
        // No RSA key exchange: ROBOT's five probes at once would queue behind each other in s_server,
        // which serves one connection at a time (ROBOT is probed against Node's TLS server below).
        '-cipher', 'DEFAULT:!kRSA',
      ],
    });
    const h = await scanOne(s.port, 'localhost');
    assert.equal(h.error, undefined);
    const r = h.resumptionDetail!;
    for (const way of [r.sessionId!, r.ticketTls12!, r.ticketTls13!]) assert.deepEqual([way.issued, way.resumed, way.attempts], [true, 5, 5], JSON.stringify(r));
    // OpenSSL's default session timeout, which s_server keeps, is the hint it sends.
    assert.equal(r.ticketTls12!.lifetimeHint, 7200);
    assert.equal(r.ticketTls13!.lifetimeHint, 7200);
    assert.equal(r.sessionId!.lifetimeHint, undefined);
    assert.deepEqual(r.earlyData, { status: 'accepted', maxEarlyData: 16384 });
    assert.ok(finding(h, 'early-data'));

    assert.equal(h.renegotiation!.clientInitiated, 'accepted');
    assert.deepEqual(finding(h, 'client-renegotiation')!.cve, ['CVE-2011-1473']);

    // -cert is ECDSA (localhost.pem), -dcert RSA: the key type's sigalgs pick each.
    assert.equal(chain(h, 'default')!.certificates![0].keyType, 'EC');
    assert.equal(chain(h, 'ecdsa')!.certificates![0].keyType, 'EC');
    assert.equal(chain(h, 'ecdsa')!.sameAsDefault, true);
    assert.equal(chain(h, 'rsa')!.certificates![0].keyType, 'RSA');
    assert.equal(chain(h, 'rsa')!.sameAsDefault, false);
    assert.match(chain(h, 'rsa')!.signature!, /^RSA-PSS\+SHA/);
    assert.ok(chain(h, 'eddsa')!.error, 'no Ed25519 certificate');
    if (!HAS_MLDSA) assert.match(chain(h, 'mldsa')!.error!, /^not tested/);
    assert.equal(chain(h, 'no-sni')!.sameAsDefault, true);
    assert.equal(chain(h, 'default')!.complete, true, 'the leaf is issued by the --ca root');
    assert.equal(chain(h, 'default')!.ordered, true);

    assert.deepEqual(
      new Set(h.signatureAlgorithms13!.algorithms),
      new Set(['ecdsa_secp256r1_sha256', 'rsa_pss_rsae_sha256', 'rsa_pss_rsae_sha384', 'rsa_pss_rsae_sha512'])
    );
    assert.equal(h.ocsp!.stapled, true);
    assert.equal(h.ocsp!.responseStatus, 'successful');
    assert.equal(h.ocsp!.bytes, fs.statSync(path.join(tmp, 'resp.der')).size);
    assert.deepEqual(h.scts, { count: 1, sources: ['tls-extension'] });

    const v = h.vulnerabilities!;
    assert.equal(v.ccsInjection.status, 'not-vulnerable', v.ccsInjection.detail);
    assert.match(v.ccsInjection.detail!, /unexpected_message/);
    assert.equal(v.ticketbleed.status, 'not-vulnerable', v.ticketbleed.detail);
    assert.equal(v.robot.status, 'not-applicable', v.robot.detail);
    assert.match(v.robot.detail!, /no RSA key exchange suite accepted/);
    assert.equal(v.lucky13.status, 'potentially-vulnerable');
    assert.equal(v.lucky13.method, 'inferred');
    assert.deepEqual(v.lucky13.cve, ['CVE-2013-0169']);
    assert.equal(v.poodleTls.status, 'not-tested');
  });

  it("Node's TLS server with an RSA certificate (RSA key exchange in its default list): ROBOT probed, not vulnerable", async () => {
    const srv = await startNodeTlsServer({ cert: fs.readFileSync(fixture('rsa.pem')), key: fs.readFileSync(fixture('rsa.key')) });
    try {
      const h = await scanOne(srv.port, 'localhost');
      const rsaKx = h.ciphers.find((c) => c.version === 'TLSv1.2')!.suites.filter((s) => /^TLS_RSA_WITH/.test(s.iana));
      assert.ok(rsaKx.length, 'the scan found RSA key exchange suites');
      assert.equal(h.vulnerabilities!.robot.status, 'not-vulnerable', h.vulnerabilities!.robot.detail);
      assert.equal(h.vulnerabilities!.robot.method, 'probed');
    } finally {
      await srv.close();
    }
  });

  it('s_server without tickets: session IDs resume, no tickets, renegotiation refused, no staple, Ticketbleed not applicable', async () => {
    const s = await startSServer({ args: ['-no_ticket', '-num_tickets', '0', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'] });
    const h = await scanOne(s.port, 'localhost');
    const r = h.resumptionDetail!;
    assert.deepEqual([r.sessionId!.issued, r.sessionId!.resumed, r.sessionId!.attempts], [true, 5, 5]);
    assert.equal(r.ticketTls12!.issued, false);
    assert.equal(r.ticketTls13!.issued, false);
    assert.equal(r.earlyData, undefined);
    assert.equal(h.renegotiation!.clientInitiated, 'refused');
    assert.match(h.renegotiation!.detail!, /renegotiation/);
    assert.equal(finding(h, 'client-renegotiation'), undefined);
    assert.deepEqual(h.ocsp, { stapled: false, protocol: 'TLSv1.3' });
    assert.deepEqual(h.scts, { count: 0, sources: [] });
    assert.equal(h.vulnerabilities!.ticketbleed.status, 'not-applicable');
    assert.equal(h.vulnerabilities!.robot.status, 'not-applicable', 'no RSA key exchange');
    assert.equal(h.vulnerabilities!.lucky13.status, 'not-applicable', 'no CBC suite');
    assert.equal(h.vulnerabilities!.ccsInjection.status, 'not-vulnerable');
  });

  it('s_server -no_ticket: its TLS 1.3 tickets are stateful and single-use, and each attempt offers an unused one: 5 of 5', async () => {
    const s = await startSServer({ args: ['-no_ticket', '-tls1_3'] });
    const h = await scanOne(s.port, 'localhost');
    const t = h.resumptionDetail!.ticketTls13!;
    assert.deepEqual([t.issued, t.resumed, t.attempts], [true, 5, 5], JSON.stringify(t));
    assert.equal(h.resumptionDetail!.sessionId, undefined, 'no TLS 1.2');
    assert.equal(h.vulnerabilities!.ccsInjection.status, 'not-applicable');
  });

  it('iocptls serve with an RSA and an ECDSA certificate: both chains, their TLS 1.3 signatures, renegotiation refused', async () => {
    const srv = await startServe(['--cert', fixture('rsa.pem'), '--key', fixture('rsa.key'), '--cert', fixture('localhost.pem'), '--key', fixture('localhost.key')], { json: false });
    try {
      const h = await scanOne(srv.port, 'localhost');
      assert.equal(chain(h, 'rsa')!.certificates![0].keyType, 'RSA');
      assert.equal(chain(h, 'ecdsa')!.certificates![0].keyType, 'EC');
      assert.notEqual(chain(h, 'rsa')!.certificates![0].sha256, chain(h, 'ecdsa')!.certificates![0].sha256);
      const expected = crypto.createHash('sha256').update(new crypto.X509Certificate(fs.readFileSync(fixture('rsa.pem'))).raw).digest('hex');
      assert.equal(chain(h, 'rsa')!.certificates![0].sha256, expected);
      assert.deepEqual(
        new Set(h.signatureAlgorithms13!.algorithms),
        new Set(['ecdsa_secp256r1_sha256', 'rsa_pss_rsae_sha256', 'rsa_pss_rsae_sha384', 'rsa_pss_rsae_sha512'])
      );
      assert.equal(h.renegotiation!.clientInitiated, 'refused');
    } finally {
      await srv.stop('SIGKILL');
    }
  });

  it('ML-DSA (OpenSSL 3.5): the ML-DSA chain and mldsa65 among the TLS 1.3 signatures', async function () {
    if (!HAS_MLDSA) return this.skip();
    const srv = await startServe(['--key-type', 'ml-dsa-65'], { json: false });
    try {
      const h = await scanOne(srv.port, 'localhost', { ca: undefined });
      assert.equal(chain(h, 'mldsa')!.certificates![0].keyType, 'ML-DSA-65');
      assert.equal(chain(h, 'mldsa')!.signature, 'ML-DSA-65');
      assert.deepEqual(h.signatureAlgorithms13!.algorithms, ['mldsa65']);
      assert.ok(chain(h, 'ecdsa')!.error);
    } finally {
      await srv.stop('SIGKILL');
    }
  });

  it('nginx: client renegotiation refused, no resumption with its session cache and tickets off', async function () {
    const n = ensureNginx();
    if (!n.bin) return this.skip();
    const ng = await startNginx(n.bin);
    try {
      const h = await scanOne(ng.port, 'localhost');
      assert.equal(h.renegotiation!.clientInitiated, 'refused');
      assert.equal(h.resumptionDetail!.ticketTls12!.issued, false);
      // Debian's nginx here speaks TLS 1.2 only by default; where it has 1.3, no tickets either.
      assert.notEqual(h.resumptionDetail!.ticketTls13?.issued, true);
      const sid = h.resumptionDetail!.sessionId!;
      assert.equal(sid.resumed, 0, JSON.stringify(sid));
      assert.equal(h.vulnerabilities!.ccsInjection.status, 'not-vulnerable');
    } finally {
      await ng.stop();
    }
  });
});
