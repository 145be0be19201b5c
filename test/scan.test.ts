// `iocptls scan` against servers configured here: what it finds must be the configuration.
// openssl s_server (chosen -cipher, -ciphersuites, -groups, -serverpref, protocol switches), Node's
// TLS server (cipher list, honorCipherOrder, ALPN, post-quantum groups on OpenSSL 3.5), nginx when
// installed, a scripted server that still speaks SSL 3.0, RC4 and export suites, and hostile ones
// (garbage, truncated records, a suite never offered, silence, resets): those give per-probe
// errors and the scan completes.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { defaultBackendChoice, resolveBackend } from '../src/engine/port';
import { runScan, ScanOptions } from '../src/engine/scan/scan';
import type { HostScan } from '../src/engine/scan/types';
import { fixture, runCli, runCliJson } from './helpers/cli';
import { ensureNginx, startNginx } from './helpers/nginx';
import { startNodeTlsServer } from './helpers/node_tls';
import { startScripted } from './helpers/scripted_tls';
import { startSServer, stopAllSServers } from './helpers/s_server';
import { withTempDir } from './helpers/temp_dir';

const HOST = '127.0.0.1';
const [major, minor] = process.versions.openssl.split('.').map(Number);
const HAS_MLKEM = major > 3 || (major === 3 && minor >= 5);
const backend = resolveBackend(defaultBackendChoice()).backend;
const OPTS: ScanOptions = { concurrency: 8, timeoutMs: 3000, backend, ca: fixture('ca.pem') };

async function scanOne(port: number, o: Partial<ScanOptions> = {}, servername?: string): Promise<HostScan> {
  const [h] = await runScan([{ host: HOST, port, servername }], { ...OPTS, ...o });
  return h;
}

const offered = (h: HostScan) => h.protocols.filter((p) => p.offered).map((p) => p.version);
const suites = (h: HostScan, v: string) => h.ciphers.find((c) => c.version === v)?.suites.map((s) => s.id) ?? [];
const order = (h: HostScan, v: string) => h.ciphers.find((c) => c.version === v)?.order;
const groups = (h: HostScan, v: string) => h.groups.find((g) => g.version === v)?.groups.map((g) => g.name) ?? [];
const finding = (h: HostScan, id: string) => h.findings.find((f) => f.id === id);

describe('scan', function () {
  this.timeout(30000);
  after(stopAllSServers);

  it('s_server with -serverpref: protocols, suites in its order, groups in its order, features', async () => {
    const s = await startSServer({
      cert: fixture('rsa.pem'),
      key: fixture('rsa.key'),
      args: [
        '-no_tls1',
        '-no_tls1_1',
        '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA:DHE-RSA-AES128-SHA:@SECLEVEL=0',
        '-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256',
        '-groups', 'P-384:X25519',
        '-sigalgs', 'rsa_pss_rsae_sha384:rsa_pkcs1_sha256:rsa_pkcs1_sha1',
        '-serverpref',
      ],
    });
    const h = await scanOne(s.port);
    assert.equal(h.error, undefined);
    assert.deepEqual(offered(h), ['TLSv1.2', 'TLSv1.3']);
    assert.deepEqual(suites(h, 'TLSv1.2'), [0xc02f, 0x0035, 0x0033]);
    assert.equal(order(h, 'TLSv1.2'), 'server');
    assert.deepEqual(suites(h, 'TLSv1.3'), [0x1303, 0x1301]);
    assert.equal(order(h, 'TLSv1.3'), 'server');
    assert.deepEqual(groups(h, 'TLSv1.3'), ['secp384r1', 'x25519']);
    assert.deepEqual(groups(h, 'TLSv1.2'), ['secp384r1', 'x25519']);
    const dhe = h.ciphers.find((c) => c.version === 'TLSv1.2')!.suites.find((x) => x.id === 0x0033)!;
    assert.ok(dhe.dhBits! >= 2048);
    assert.equal(h.ciphers.find((c) => c.version === 'TLSv1.2')!.suites[0].group, 'secp384r1');
    assert.equal(h.features!.secureRenegotiation, 'yes');
    assert.equal(h.features!.extendedMasterSecret, 'yes');
    assert.equal(h.features!.fallbackScsv, 'yes');
    assert.equal(h.features!.downgradeSentinel, 'yes');
    assert.equal(h.features!.compression, 'null');
    assert.equal(h.features!.heartbleed, 'n/a');
    assert.equal(h.features!.encryptThenMac, 'yes', 'echoed for the CBC suites');
    assert.deepEqual(new Set(h.signatureAlgorithms!.algorithms.map((a) => a.name)), new Set(['rsa_pss_rsae_sha384', 'rsa_pkcs1_sha256', 'rsa_pkcs1_sha1']));
    assert.ok(finding(h, 'weak-sigalg'));
    assert.equal(h.certificate!.source, 'openssl');
    assert.equal(h.certificate!.verify!.ok, true, h.certificate!.verify!.message);
    assert.equal(h.errors.length, 0, JSON.stringify(h.errors));
    assert.deepEqual(h.tolerance, { grease: 'yes', version13InLegacyField: 'yes', futureVersion: 'yes' });
    assert.equal(h.resumption!.resumed, true, JSON.stringify(h.resumption));
    assert.ok(finding(h, 'tls13'));
    assert.ok(!finding(h, 'sslv3'));
  });

  it('s_server with an RSA and an ECDSA certificate: each comes back for its suites', async () => {
    const s = await startSServer({
      cert: fixture('rsa.pem'),
      key: fixture('rsa.key'),
      args: ['-tls1_2', '-dcert', fixture('localhost.pem'), '-dkey', fixture('localhost.key'), '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256'],
    });
    const h = await scanOne(s.port, {}, 'localhost');
    const v = new Map(h.certificate!.variants!.map((x) => [x.request, x]));
    const key = (der?: Buffer[]) => (der ? new crypto.X509Certificate(der[0]).publicKey.asymmetricKeyType : undefined);
    assert.equal(key(v.get('ecdsa-suites')!.der), 'ec');
    assert.equal(key(v.get('rsa-suites')!.der), 'rsa');
    assert.ok(v.get('no-sni')!.der, 'a chain without SNI too');
    assert.ok(v.get('unknown-sni')!.der, 's_server has one default certificate for any name');
    assert.deepEqual(new Set(suites(h, 'TLSv1.2')), new Set([0xc02b, 0xc02f]));
  });

  it('s_server without -serverpref, TLS 1.2 only: the client\'s order is reported, no TLS 1.3, no sentinel', async () => {
    const s = await startSServer({
      cert: fixture('rsa.pem'),
      key: fixture('rsa.key'),
      args: ['-tls1_2', '-cipher', 'AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384', '-groups', 'X25519:P-256'],
    });
    const h = await scanOne(s.port);
    assert.deepEqual(offered(h), ['TLSv1.2']);
    assert.deepEqual(new Set(suites(h, 'TLSv1.2')), new Set([0x009c, 0xc030]));
    assert.equal(order(h, 'TLSv1.2'), 'client');
    assert.equal(h.features!.downgradeSentinel, 'n/a');
    assert.equal(h.features!.fallbackScsv, 'n/a');
    assert.ok(finding(h, 'no-tls13'));
    assert.ok(finding(h, 'client-order-TLSv1.2'));
  });

  it('Node\'s TLS server: cipher list with honorCipherOrder, ALPN, and its groups (post-quantum on OpenSSL 3.5)', async () => {
    const srv = await startNodeTlsServer({
      key: fs.readFileSync(fixture('localhost.key')),
      cert: fs.readFileSync(fixture('localhost.pem')),
      ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA256',
      honorCipherOrder: true,
      ALPNProtocols: ['h2', 'http/1.1'],
      ecdhCurve: HAS_MLKEM ? 'X25519MLKEM768:X25519:P-256' : 'X25519:P-256',
      minVersion: 'TLSv1.2',
    });
    try {
      const h = await scanOne(srv.port, {}, 'localhost');
      assert.deepEqual(offered(h), ['TLSv1.2', 'TLSv1.3']);
      assert.deepEqual(suites(h, 'TLSv1.2'), [0xc02c, 0xcca9, 0xc023]);
      assert.equal(order(h, 'TLSv1.2'), 'server');
      assert.deepEqual(h.alpn!.supported, ['h2', 'http/1.1']);
      assert.equal(h.alpn!.preferred, 'h2');
      const g13 = groups(h, 'TLSv1.3');
      if (HAS_MLKEM) {
        assert.deepEqual(g13, ['X25519MLKEM768', 'x25519', 'secp256r1']);
        assert.ok(finding(h, 'pq'));
      } else assert.deepEqual(g13, ['x25519', 'secp256r1']);
      assert.equal(h.certificate!.verify!.ok, true, h.certificate!.verify!.message);
      assert.equal(h.target.servername, 'localhost');
    } finally {
      await srv.close();
    }
  });

  it('a TLS 1.3 server whose only group is X25519MLKEM768 (OpenSSL 3.5): found through HelloRetryRequests', async function () {
    if (!HAS_MLKEM) this.skip();
    const srv = await startNodeTlsServer({
      key: fs.readFileSync(fixture('localhost.key')),
      cert: fs.readFileSync(fixture('localhost.pem')),
      ecdhCurve: 'X25519MLKEM768',
      minVersion: 'TLSv1.3',
      ciphers: 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256',
    });
    try {
      const h = await scanOne(srv.port, {}, 'localhost');
      assert.deepEqual(offered(h), ['TLSv1.3']);
      assert.deepEqual(groups(h, 'TLSv1.3'), ['X25519MLKEM768']);
      assert.deepEqual(h.keyShare, { sent: ['x25519', 'secp256r1'], answer: 'helloRetryRequest', group: 'X25519MLKEM768' });
      assert.deepEqual(new Set(suites(h, 'TLSv1.3')), new Set([0x1302, 0x1301]));
      assert.equal(h.certificate!.protocol, 'TLSv1.3');
    } finally {
      await srv.close();
    }
  });

  it('a server that still speaks SSL 3.0 with RC4 and export suites: offered, with their CVEs', async () => {
    const srv = await startScripted({ versions: [0x0300, 0x0301, 0x0303], suites: [0x0005, 0x0003, 0x000a, 0xc02f], ssl2: [0x010080, 0x0700c0], versionIntolerant: true });
    try {
      const h = await scanOne(srv.port);
      assert.deepEqual(offered(h), ['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.2']);
      assert.ok(finding(h, 'sslv2')!.cve!.includes('CVE-2016-0800'));
      assert.deepEqual(suites(h, 'SSLv3'), [0x0005, 0x0003, 0x000a]);
      assert.deepEqual(suites(h, 'TLSv1.2'), [0x0005, 0x0003, 0x000a, 0xc02f]);
      assert.equal(order(h, 'TLSv1.2'), 'server');
      assert.ok(finding(h, 'sslv3')!.cve!.includes('CVE-2014-3566'));
      assert.ok(finding(h, 'rc4')!.cve!.includes('CVE-2013-2566'));
      assert.ok(finding(h, 'export')!.cve!.includes('CVE-2015-0204'));
      assert.ok(finding(h, 'sweet32')!.cve!.includes('CVE-2016-2183'));
      assert.equal(h.features!.fallbackScsv, 'no', 'it ignores TLS_FALLBACK_SCSV');
      assert.equal(h.tolerance!.version13InLegacyField, 'no', 'it refuses a legacy_version it does not know');
      assert.ok(finding(h, 'version-intolerant'));
      assert.ok(finding(h, 'no-fallback-scsv'));
    } finally {
      await srv.close();
    }
  });

  for (const hb of ['vulnerable', 'patched'] as const) {
    it(`Heartbleed: a ${hb} server with the heartbeat extension`, async () => {
      const srv = await startScripted({ versions: [0x0303], suites: [0xc02f], heartbeat: hb });
      try {
        const h = await scanOne(srv.port, { timeoutMs: 500 });
        assert.equal(h.features!.heartbeat, 'yes');
        assert.equal(h.features!.heartbleed, hb === 'vulnerable' ? 'yes' : 'no');
        assert.equal(!!finding(h, 'heartbleed'), hb === 'vulnerable');
      } finally {
        await srv.close();
      }
    });
  }

  it('the scripted server following the client\'s order is told apart', async () => {
    const srv = await startScripted({ versions: [0x0303], suites: [0xc02f, 0x009c, 0x0035], clientOrder: true });
    try {
      const h = await scanOne(srv.port);
      assert.equal(order(h, 'TLSv1.2'), 'client');
      assert.deepEqual(new Set(suites(h, 'TLSv1.2')), new Set([0xc02f, 0x009c, 0x0035]));
    } finally {
      await srv.close();
    }
  });

  for (const hostile of ['garbage', 'truncated', 'unoffered', 'huge-length', 'reset', 'silent'] as const) {
    it(`a hostile server (${hostile}): per-probe errors, the scan completes`, async () => {
      const srv = await startScripted({ versions: [0x0303], suites: [0xc02f], hostile });
      try {
        const h = await scanOne(srv.port, { timeoutMs: 300 });
        if (hostile !== 'unoffered') assert.deepEqual(offered(h), [], JSON.stringify(h.protocols));
        if (hostile === 'silent') {
          assert.match(h.error!, /timeout/);
          assert.ok(h.probes.byOutcome.timeout! >= 6);
          assert.ok(h.probes.attempts > h.probes.total, 'timeouts are retried once');
        } else if (hostile === 'reset') {
          assert.ok(h.protocols.every((p) => p.outcome === 'reset'));
          assert.ok(h.probes.attempts > h.probes.total, 'resets are retried once');
        } else if (hostile === 'unoffered') {
          // It answers every TLS 1.2 ClientHello with a ServerHello for 0xc0ff, which we never offer.
          const c12 = h.ciphers.find((c) => c.version === 'TLSv1.2')!;
          assert.deepEqual(c12.suites, []);
          assert.match(c12.error!, /chose 0xc0ff, which was not offered/);
        } else {
          assert.ok(h.protocols.some((p) => p.outcome === 'malformed'), JSON.stringify(h.protocols));
          assert.ok(h.errors.some((e) => e.kind === 'malformed'));
        }
      } finally {
        await srv.close();
      }
    });
  }

  it('a server answering at random (mutated answers, random bytes, stalls): the scan completes, every probe accounted for', async () => {
    const srv = await startScripted({ versions: [0x0303], suites: [0xc02f], hostile: 'random' });
    try {
      for (let i = 0; i < 3; i++) {
        const h = await scanOne(srv.port, { timeoutMs: 200 });
        const counted = Object.values(h.probes.byOutcome).reduce((a, b) => a + b!, 0);
        assert.equal(counted, h.probes.total);
        assert.equal(h.protocols.length, 6);
      }
    } finally {
      await srv.close();
    }
  });

  it('nginx (when installed): TLS 1.2 and 1.3 with its configured ciphers', async function () {
    const n = ensureNginx();
    if (!n.bin) this.skip();
    const ng = await startNginx(n.bin!, 'ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384; ssl_prefer_server_ciphers on;');
    try {
      const h = await scanOne(ng.port, {}, 'localhost');
      assert.deepEqual(offered(h), ['TLSv1.2', 'TLSv1.3']);
      assert.deepEqual(suites(h, 'TLSv1.2'), [0xc02b, 0xc02c]);
      assert.equal(order(h, 'TLSv1.2'), 'server');
      assert.equal(h.certificate!.verify!.ok, true);
    } finally {
      await ng.stop();
    }
  });

  describe('the command', () => {
    let port = 0;
    before(async () => {
      const s = await startSServer({ args: ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'] });
      port = s.port;
    });

    it('--json prints one iocptls.scan/1 document; the terminal report has its sections', async () => {
      const r = await runCliJson(['scan', `${HOST}:${port}`, '--ca', fixture('ca.pem'), '--servername', 'localhost']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.doc.schema, 'iocptls.scan/1');
      assert.equal(r.doc.hosts.length, 1);
      const h = r.doc.hosts[0];
      assert.deepEqual(h.ciphers[0].suites.map((s: { hex: string }) => s.hex), ['0xc02b']);
      assert.equal(h.certificate.chain[0].subject, 'CN=localhost');
      // An ECDSA-only server: its TLS 1.2 groups are eliminated with the leaf's curve pinned, and the
      // server taking that curve ends a chain as a refusal does (it once read as an error per chain).
      const g12 = h.groups.find((g: { version: string }) => g.version === 'TLSv1.2');
      assert.equal(g12.error, undefined, g12.error);
      assert.deepEqual(g12.groups.map((g: { name: string }) => g.name).sort(), ['secp256r1', 'secp384r1', 'secp521r1', 'x25519', 'x448']);
      const t = await runCli(['scan', `${HOST}:${port}`]);
      assert.equal(t.code, 0, t.stderr);
      for (const section of ['Protocols', 'Cipher suites, TLS 1.2', 'Key exchange groups, TLS 1.2', 'Certificate chain', 'Features', 'Findings', 'Summary']) {
        assert.ok(t.out.includes(section), `${section} in:\n${t.out}`);
      }
    });

    it('--targets FILE and --policy FILE: a failed rule exits 1 and says which', () =>
      withTempDir('iocptls-scan-', async (dir) => {
        fs.writeFileSync(path.join(dir, 'targets'), `# loopback\n${HOST}:${port}\n`);
        fs.writeFileSync(path.join(dir, 'policy.json'), JSON.stringify({ requireProtocols: ['TLSv1.3'], forbidProtocols: ['SSLv3'] }));
        const r = await runCliJson(['scan', '--targets', path.join(dir, 'targets'), '--policy', path.join(dir, 'policy.json')]);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.doc.policy.passed, false);
        assert.deepEqual(r.doc.policy.violations, [`${HOST}:${port}: requireProtocols: TLSv1.3 is not offered`]);
        assert.match(r.stderr, /policy .* failed \(1\):\n {2}.*requireProtocols: TLSv1.3 is not offered/);
      }));

    it('exit 3 for an unreachable target (a scan error, not a verdict), 2 for bad input', async () => {
      const closed = await startScripted({ versions: [], suites: [] });
      const deadPort = closed.port;
      await closed.close();
      const r = await runCli(['scan', `${HOST}:${deadPort}`, '--timeout', '1000', '--policy', 'old']);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /not scanned: .*refused/);
      const bad = [['scan'], ['scan', 'host:notaport'], ['scan', HOST, '--targets', '/nonexistent'], ['scan', HOST, '--concurrency', '0'], ['scan', HOST, '--policy', 'medium'], ['scan', HOST, '--jsonl', '--json']];
      const results = await Promise.all(bad.map((args) => runCli(args)));
      results.forEach((b, i) => assert.equal(b.code, 2, `${bad[i].join(' ')}: ${b.stderr}`));
    });
  });
});
