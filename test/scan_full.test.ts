// `iocptls scan`'s full-handshake findings against servers configured here: openssl s_server with
// chosen options (0-RTT, client renegotiation, an OCSP staple made by `openssl ocsp`, an SCT
// through -serverinfo, an RSA and an ECDSA certificate, no tickets), `iocptls serve` with dual
// certificates, nginx (no renegotiation, no resumption), ML-DSA on OpenSSL 3.5, a chain through an
// intermediate, and scripted servers that answer like a CCS-injectable OpenSSL or a Ticketbleed
// F5 would (nothing on this machine still does), or with garbage.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { defaultBackendChoice, resolveBackend } from '../src/engine/port';
import { ccsInjectionProbe, ccsRecord } from '../src/engine/scan/ccs_injection';
import { describeChain, ocspStaple } from '../src/engine/scan/chains';
import { exchange } from '../src/engine/scan/exchange';
import { conversation } from '../src/engine/scan/past_hello';
import { runScan, ScanOptions } from '../src/engine/scan/scan';
import { judgeTicketbleed, ticketExtension, TICKETBLEED_SESSION_ID } from '../src/engine/scan/ticketbleed';
import type { HostScan } from '../src/engine/scan/types';
import { VERSIONS } from '../src/engine/wire/constants';
import { clientHello } from '../src/engine/wire/hello';
import { SessionProber } from '../src/engine/workers/scan_session';
import { fixture } from './helpers/cli';
import { ensureNginx, startNginx } from './helpers/nginx';
import { startSilentServer } from './helpers/node_tls';
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
    // s_server's default list has TLS_RSA_WITH_* suites (and CBC ones), and an RSA certificate here.
    assert.equal(v.robot.status, 'not-tested');
    assert.match(v.robot.detail!, /not implemented/);
    assert.equal(v.lucky13.status, 'potentially-vulnerable');
    assert.equal(v.lucky13.method, 'inferred');
    assert.deepEqual(v.lucky13.cve, ['CVE-2013-0169']);
    assert.equal(v.poodleTls.status, 'not-tested');
    assert.ok(finding(h, 'robot'), 'ROBOT is reported as not tested, never left out');
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

  it('a chain through an intermediate: complete when sent, incomplete without it, out of order and root sent when so', async () => {
    const sh = (args: string[]) => execFileSync('openssl', args, { cwd: tmp, stdio: 'ignore' });
    const ext = (name: string, text: string) => (fs.writeFileSync(path.join(tmp, name), text), name);
    sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-subj', '/CN=scan root', '-days', '2']);
    sh(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=scan intermediate']);
    sh(['x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'int.pem', '-days', '2', '-extfile', ext('ca.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n')]);
    sh(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost']);
    sh(['x509', '-req', '-in', 'leaf.csr', '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', ext('leaf.ext', 'subjectAltName=DNS:localhost\n')]);
    const der = (f: string) => new crypto.X509Certificate(fs.readFileSync(path.join(tmp, f))).raw;
    const [leaf, int, root] = [der('leaf.pem'), der('int.pem'), der('root.pem')];
    const ca = path.join(tmp, 'root.pem');
    assert.deepEqual([describeChain([leaf, int], undefined, ca).ordered, describeChain([leaf, int], undefined, ca).complete], [true, true]);
    assert.equal(describeChain([leaf], undefined, ca).complete, false, 'the intermediate is missing');
    assert.equal(describeChain([leaf, root, int], undefined, ca).ordered, false);
    assert.equal(describeChain([leaf, int, root], undefined, ca).anchorSent, true);
    assert.equal(describeChain([leaf, int], undefined, undefined).complete, false, 'the root is not among the known ones without --ca');

    // Through the scan: s_server sends leaf + intermediate (-cert_chain), then the leaf alone.
    const full = await startSServer({ cert: path.join(tmp, 'leaf.pem'), key: path.join(tmp, 'leaf.key'), args: ['-cert_chain', path.join(tmp, 'int.pem')] });
    const alone = await startSServer({ cert: path.join(tmp, 'leaf.pem'), key: path.join(tmp, 'leaf.key') });
    const [a, b] = await Promise.all([scanOne(full.port, 'localhost', { ca }), scanOne(alone.port, 'localhost', { ca })]);
    assert.deepEqual(chain(a, 'default')!.certificates!.map((c) => c.subject), ['CN=localhost', 'CN=scan intermediate']);
    assert.equal(chain(a, 'default')!.complete, true);
    assert.equal(chain(b, 'default')!.complete, false);
    assert.ok(finding(b, 'chain-incomplete-default'));
    assert.equal(finding(a, 'chain-incomplete-default'), undefined);
  });

  it('OCSP responseStatus is read from the DER, a non-OCSP blob says unparsable', () => {
    assert.deepEqual(ocspStaple(Buffer.from('30030a0103', 'hex'), 'TLSv1.2'), { stapled: true, bytes: 5, responseStatus: 'tryLater', protocol: 'TLSv1.2' });
    assert.equal(ocspStaple(Buffer.from('0401ff', 'hex')).responseStatus, 'unparsable');
    assert.equal(ocspStaple(undefined).stapled, false);
  });
});

// ---- scripted servers: the behaviours of unpatched servers, which nothing here still runs

function record(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, 3, 3, body.length >> 8, body.length & 0xff]), body]);
}
function handshake(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
}
/** A TLS 1.2 ServerHello (ECDHE-RSA-AES128-GCM-SHA256) with this session ID, then ServerHelloDone. */
function firstFlight(sessionId: Buffer): Buffer {
  const sh = Buffer.concat([Buffer.from([3, 3]), crypto.randomBytes(32), Buffer.from([sessionId.length]), sessionId, Buffer.from([0xc0, 0x2f, 0, 0, 5, 0xff, 0x01, 0, 1, 0])]);
  return record(22, Buffer.concat([handshake(2, sh), handshake(14, Buffer.alloc(0))]));
}
/** The session ID of a ClientHello record (TLS 1.x). */
function clientSessionId(ch: Buffer): Buffer {
  return ch.subarray(5 + 4 + 2 + 32 + 1, 5 + 4 + 2 + 32 + 1 + ch[5 + 4 + 2 + 32]);
}

function scripted(onConn: (s: net.Socket, first: Buffer) => void): Promise<{ port: number; close(): Promise<void> }> {
  const socks = new Set<net.Socket>();
  const server = net.createServer((s) => {
    socks.add(s);
    s.on('error', () => {});
    s.on('close', () => socks.delete(s));
    s.once('data', (d) => onConn(s, d));
  });
  return new Promise((resolve) =>
    server.listen(0, HOST, () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise<void>((r) => (socks.forEach((x) => x.destroy()), server.close(() => r()))),
      })
    )
  );
}

describe('scan: CCS injection, Ticketbleed and hostile answers past the ServerHello', function () {
  this.timeout(20000);
  const hello = () => clientHello({ clientVersion: VERSIONS['TLSv1.2'], suites: [0xc02f], groups: [23], renegotiationInfo: true });

  it('CCS injection: a server that takes the early CCS (and alerts bad_record_mac at the second) is vulnerable', async () => {
    const srv = await scripted((s) => {
      s.write(firstFlight(Buffer.alloc(0)));
      let ccs = 0;
      s.on('data', (d) => {
        for (let i = 0; i < d.length; i += 6) if (d[i] === 20) ccs++;
        // Unpatched OpenSSL: the first CCS is taken silently; the second fails its (empty-key) MAC.
        if (ccs >= 2) s.end(record(21, Buffer.from([2, 20])));
      });
    });
    try {
      const { check } = await ccsInjectionProbe({ host: HOST, port: srv.port, timeoutMs: 2000, hello: hello(), version: 'TLSv1.2' });
      assert.equal(check.status, 'vulnerable', check.detail);
      assert.deepEqual(check.cve, ['CVE-2014-0224']);
      assert.match(check.detail!, /bad_record_mac/);
    } finally {
      await srv.close();
    }
  });

  it('CCS injection: silence after both CCS is unknown, not a verdict', async () => {
    const srv = await scripted((s) => s.write(firstFlight(Buffer.alloc(0))));
    try {
      const { check } = await ccsInjectionProbe({ host: HOST, port: srv.port, timeoutMs: 600, hello: hello(), version: 'TLSv1.2' });
      assert.equal(check.status, 'unknown');
    } finally {
      await srv.close();
    }
  });

  it('Ticketbleed: a 32-byte echo of our 16-byte session ID is vulnerable, an exact echo is not', async () => {
    const leak = await scripted((s, ch) => s.end(firstFlight(Buffer.concat([clientSessionId(ch), crypto.randomBytes(16)]))));
    const fine = await scripted((s, ch) => s.end(firstFlight(clientSessionId(ch))));
    const fresh = await scripted((s) => s.end(firstFlight(crypto.randomBytes(32))));
    try {
      const bytes = clientHello({ clientVersion: VERSIONS['TLSv1.2'], suites: [0xc02f], groups: [23], sessionId: TICKETBLEED_SESSION_ID, extensions: [ticketExtension(crypto.randomBytes(160))] });
      const judge = async (port: number) => {
        const r = await exchange(bytes, { host: HOST, port, timeoutMs: 2000, stopAtServerHello: true });
        const sh = r.events.find((e) => e.type === 'serverHello');
        return judgeTicketbleed(sh && sh.type === 'serverHello' ? sh.hello : undefined, 'TLSv1.2');
      };
      assert.equal((await judge(leak.port)).status, 'vulnerable');
      assert.equal((await judge(fine.port)).status, 'not-vulnerable');
      assert.equal((await judge(fresh.port)).status, 'unknown', 'not resumed: nothing was echoed');
    } finally {
      await Promise.all([leak.close(), fine.close(), fresh.close()]);
    }
  });

  it('fuzz: random bytes, half records and resets after the first flight end the conversation, never a throw or a hang', async () => {
    let n = 0;
    const srv = await scripted((s) => {
      s.write(firstFlight(Buffer.alloc(0)));
      const k = n++ % 4;
      s.once('data', () => {
        if (k === 0) s.end(crypto.randomBytes(1 + crypto.randomInt(300)));
        else if (k === 1) s.end(Buffer.from([21, 3, 3, 0x40, 0x00, 2]));
        else if (k === 2) s.resetAndDestroy();
        else s.write(record(21, Buffer.from([2, 10, 99, 99, 99])));
      });
    });
    try {
      for (let i = 0; i < 12; i++) {
        const r = await conversation({ host: HOST, port: srv.port, timeoutMs: 2000, hello: hello(), steps: [ccsRecord('TLSv1.2'), ccsRecord('TLSv1.2')], stepWaitMs: 300 });
        assert.equal(r.kind, 'answer', JSON.stringify(r));
      }
    } finally {
      await srv.close();
    }
  });

  it('the session probe thread: a silent server is a timeout for that probe, and the thread goes on', async () => {
    const silent = await startSilentServer();
    const p = new SessionProber({ backend, ip: HOST, port: silent.port, timeoutMs: 500 });
    try {
      const [a, b] = await Promise.all([p.request({ kind: 'handshake' }), p.request({ kind: 'resumption', mode: 'session-id', attempts: 5 })]);
      assert.equal(a.ok, false);
      assert.match(a.error!, /timeout/);
      assert.equal(b.issued, false);
      assert.match(b.error!, /timeout/);
    } finally {
      await p.close();
      await silent.close();
    }
  });
});
