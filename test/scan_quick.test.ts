// `scan --quick` against real local servers, next to a full scan of the same server: what the
// quick scan claims (protocols, features, certificate, the findings it evaluates, post-quantum
// groups) must be what the full scan finds, what it negotiated must be among what the full scan
// enumerated, and what it did not check must be named, in the document and by --policy.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultBackendChoice, resolveBackend } from '../src/engine/port';
import { QUICK_FINDINGS } from '../src/engine/scan/findings';
import { runScan, ScanOptions } from '../src/engine/scan/scan';
import type { HostScan } from '../src/engine/scan/types';
import { fixture, runCli, runCliJson } from './helpers/cli';
import { ensureNginx, startNginx } from './helpers/nginx';
import { startNodeTlsServer } from './helpers/node_tls';
import { startSServer, stopAllSServers } from './helpers/s_server';

const HOST = '127.0.0.1';
const [major, minor] = process.versions.openssl.split('.').map(Number);
const HAS_MLKEM = major > 3 || (major === 3 && minor >= 5);
const backend = resolveBackend(defaultBackendChoice()).backend;
const OPTS: ScanOptions = { concurrency: 8, timeoutMs: 3000, backend, ca: fixture('ca.pem') };

async function both(port: number, servername?: string): Promise<{ full: HostScan; quick: HostScan }> {
  // One after the other: openssl s_server answers one connection at a time.
  const [full] = await runScan([{ host: HOST, port, servername }], OPTS);
  const [quick] = await runScan([{ host: HOST, port, servername }], { ...OPTS, quick: true });
  return { full, quick };
}

const offered = (h: HostScan) => h.protocols.filter((p) => p.offered).map((p) => p.version);
const findings = (h: HostScan) =>
  h.findings
    .filter((f) => QUICK_FINDINGS.includes(f.id))
    .map((f) => `${f.severity} ${f.id}: ${f.title}`)
    .sort();

/** Everything the quick scan claims agrees with the full scan of the same server. */
function assertAgree(full: HostScan, quick: HostScan): void {
  assert.equal(full.error, undefined, full.error);
  assert.equal(quick.error, undefined, quick.error);
  assert.equal(full.quick, undefined);
  assert.ok(quick.quick?.notChecked.includes('ciphers'));
  assert.deepEqual(offered(quick), offered(full));
  assert.deepEqual(
    quick.protocols.map((p) => [p.version, p.offered, p.suite]),
    full.protocols.map((p) => [p.version, p.offered, p.suite])
  );
  assert.deepEqual(findings(quick), findings(full), 'the findings a quick scan evaluates are the full scan\'s');
  assert.ok(quick.findings.every((f) => QUICK_FINDINGS.includes(f.id)), `a quick scan raised one it does not evaluate: ${quick.findings.map((f) => f.id)}`);
  const { encryptThenMac, ...fullFeatures } = full.features!;
  void encryptThenMac;
  assert.deepEqual(quick.features, fullFeatures);
  // The quick scan's TLS 1.3 version probe is the modern client's (shares for X25519MLKEM768 and x25519).
  if (full.keyShare) {
    assert.deepEqual(quick.keyShare!.sent, ['X25519MLKEM768', 'x25519']);
    assert.ok(full.groups.find((g) => g.version === 'TLSv1.3')!.groups.some((g) => g.name === quick.keyShare!.group), quick.keyShare!.group);
  } else assert.equal(quick.keyShare, undefined);
  assert.equal(quick.certificate?.source, full.certificate?.source);
  assert.deepEqual(quick.certificate?.der.map((d) => d.toString('base64')), full.certificate?.der.map((d) => d.toString('base64')));
  assert.deepEqual(quick.certificate?.verify, full.certificate?.verify);
  // What a modern client negotiated is among what the full scan enumerated.
  for (const n of quick.negotiated ?? []) {
    const c = full.ciphers.find((x) => x.version === n.version);
    assert.ok(c?.suites.some((s) => s.iana === n.suite), `${n.version} ${n.suite} not in the full scan's suites`);
    const g = full.groups.find((x) => x.version === n.version);
    if (n.group) assert.ok(g?.groups.some((x) => x.name === n.group), `${n.version} group ${n.group} not in the full scan's groups`);
  }
  assert.deepEqual(
    quick.negotiated?.map((n) => n.version),
    (['TLSv1.3', 'TLSv1.2'] as const).filter((v) => offered(full).includes(v))
  );
  if (offered(full).includes('TLSv1.3')) {
    const pq = full.groups.find((g) => g.version === 'TLSv1.3')!.groups.filter((g) => g.pq);
    assert.deepEqual(quick.postQuantumGroups?.map((g) => g.name), pq.map((g) => g.name));
  }
  assert.ok(quick.probes.total <= 14, `${quick.probes.total} probes`);
  assert.ok(full.probes.total > 3 * quick.probes.total, `full ${full.probes.total} probes, quick ${quick.probes.total}`);
}

describe('scan --quick', function () {
  this.timeout(30000);
  after(stopAllSServers);

  it('s_server with TLS 1.0 to 1.3, -serverpref and CBC suites: the same protocols, features and findings as a full scan', async () => {
    const s = await startSServer({
      cert: fixture('rsa.pem'),
      key: fixture('rsa.key'),
      args: [
        '-cipher', 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA:@SECLEVEL=0',
        '-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256',
        '-groups', 'P-384:X25519',
        '-serverpref',
      ],
    });
    const { full, quick } = await both(s.port);
    assertAgree(full, quick);
    assert.deepEqual(offered(quick), ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);
    // TLS 1.0 with its CBC pick: the BEAST note, from the protocol probe alone.
    assert.match(quick.findings.find((f) => f.id === 'tls10')!.title, /BEAST/);
    const n13 = quick.negotiated!.find((n) => n.version === 'TLSv1.3')!;
    assert.equal(n13.suite, 'TLS_CHACHA20_POLY1305_SHA256');
    // OpenSSL takes the x25519 share a modern client sent rather than ask for P-384 (3.0), or asks (3.5, by its group tuples).
    assert.ok(['x25519', 'secp384r1'].includes(n13.group!), n13.group);
    assert.equal(quick.negotiated!.find((n) => n.version === 'TLSv1.2')!.suite, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA');
  });

  it('nginx (when installed): the same as a full scan, ALPN from a modern client', async function () {
    const n = ensureNginx();
    if (!n.bin) this.skip();
    const ng = await startNginx(n.bin!, 'ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384; ssl_prefer_server_ciphers on;');
    try {
      const { full, quick } = await both(ng.port, 'localhost');
      assertAgree(full, quick);
      assert.equal(quick.certificate!.verify!.ok, true);
      assert.equal(quick.negotiated!.find((n) => n.version === 'TLSv1.2')!.suite, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
    } finally {
      await ng.stop();
    }
  });

  it('Node\'s TLS server with ALPN h2 (and X25519MLKEM768 on OpenSSL 3.5): h2 and the post-quantum group found', async () => {
    const srv = await startNodeTlsServer({
      key: fs.readFileSync(fixture('localhost.key')),
      cert: fs.readFileSync(fixture('localhost.pem')),
      ALPNProtocols: ['h2', 'http/1.1'],
      ecdhCurve: HAS_MLKEM ? 'X25519MLKEM768:X25519:P-256' : 'X25519:P-256',
      minVersion: 'TLSv1.2',
    });
    try {
      const { full, quick } = await both(srv.port, 'localhost');
      assertAgree(full, quick);
      const n13 = quick.negotiated!.find((n) => n.version === 'TLSv1.3')!;
      assert.equal(n13.alpn, 'h2');
      assert.equal(quick.negotiated!.find((n) => n.version === 'TLSv1.2')!.alpn, 'h2');
      if (HAS_MLKEM) {
        assert.equal(n13.group, 'X25519MLKEM768');
        assert.equal(n13.pq, true);
        assert.ok(quick.findings.some((f) => f.id === 'pq'));
      } else {
        assert.equal(n13.group, 'x25519');
        assert.deepEqual(quick.postQuantumGroups, []);
        assert.ok(quick.findings.some((f) => f.id === 'no-pq'));
      }
    } finally {
      await srv.close();
    }
  });

  describe('the command', () => {
    let port = 0;
    let dir = '';
    before(async () => {
      // TLS 1.3 negotiates TLS_AES_256_GCM_SHA384 first with OpenSSL's default order.
      const s = await startSServer({ args: ['-no_tls1', '-no_tls1_1', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'] });
      port = s.port;
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-scan-quick-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('--quick --json: no suites or groups in the document, what was not checked named, negotiated shown', async () => {
      const r = await runCliJson(['scan', `${HOST}:${port}`, '--quick', '--ca', fixture('ca.pem'), '--servername', 'localhost']);
      assert.equal(r.code, 0, r.stderr);
      const h = r.doc.hosts[0];
      assert.equal(h.ciphers, undefined);
      assert.equal(h.groups, undefined);
      assert.equal(h.features.encryptThenMac, undefined);
      assert.ok(h.quick.notChecked.includes('ciphers') && h.quick.notChecked.includes('features.encryptThenMac'));
      assert.ok(h.quick.findingsEvaluated.includes('tls13'));
      assert.equal(h.negotiated.find((n: { version: string }) => n.version === 'TLSv1.2').suite, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
      assert.equal(h.certificate.chain[0].subject.includes('localhost'), true);
      const text = await runCli(['scan', `${HOST}:${port}`, '--quick', '--ca', fixture('ca.pem'), '--servername', 'localhost']);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.out, /Negotiated with a modern client/);
      assert.match(text.out, /Not checked \(quick scan/);
    });

    it('compare of a full scan and a quick one: what the quick scan did not check is no change', async () => {
      const args = ['scan', `${HOST}:${port}`, '--json', '--ca', fixture('ca.pem'), '--servername', 'localhost'];
      const full = await runCli(args);
      const quick = await runCli([...args, '--quick']);
      assert.equal(full.code, 0, full.stderr);
      assert.equal(quick.code, 0, quick.stderr);
      fs.writeFileSync(path.join(dir, 'full.json'), full.out);
      fs.writeFileSync(path.join(dir, 'quick.json'), quick.out);
      for (const [a, b] of [['full', 'quick'], ['quick', 'full']]) {
        const c = await runCliJson(['compare', path.join(dir, `${a}.json`), path.join(dir, `${b}.json`), '--json']);
        assert.equal(c.code, 0, c.stderr);
        assert.deepEqual(c.doc.changes, [], `${a} -> ${b}: ${JSON.stringify(c.doc.changes)}`);
      }
    });

    it('--quick --policy: a violation on what it saw fails; rules it could not evaluate in full are named, not passed silently', async () => {
      const file = path.join(dir, 'policy.json');
      fs.writeFileSync(file, JSON.stringify({ allowSuites: ['TLS_AES_256_GCM_SHA384'], forbidFindings: ['rc4', 'tls10'], requireServerOrder: true }));
      const r = await runCliJson(['scan', `${HOST}:${port}`, '--quick', '--policy', file, '--ca', fixture('ca.pem'), '--servername', 'localhost']);
      assert.equal(r.code, 1, r.stderr);
      const p = r.doc.policy;
      assert.equal(p.passed, false);
      assert.ok(p.violations.some((v: string) => /allowSuites: TLSv1\.2 ECDHE-ECDSA-AES128-GCM-SHA256 is accepted/.test(v)), p.violations.join('\n'));
      assert.ok(p.notEvaluated.some((v: string) => v.startsWith('allowSuites:')), p.notEvaluated.join('\n'));
      assert.ok(p.notEvaluated.some((v: string) => v.startsWith('requireServerOrder: not evaluated')));
      assert.ok(p.notEvaluated.some((v: string) => v === 'forbidFindings: rc4 not evaluated (quick scan)'));
      assert.match(r.stderr, /rules not evaluated in full by a quick scan/);
      // The same policy on a full scan: everything evaluated, nothing listed.
      const f = await runCliJson(['scan', `${HOST}:${port}`, '--policy', file, '--ca', fixture('ca.pem'), '--servername', 'localhost']);
      assert.equal(f.doc.policy.notEvaluated, undefined);
      assert.ok(f.doc.policy.violations.some((v: string) => /requireServerOrder/.test(v)) || !f.doc.hosts[0].findings.some((x: { id: string }) => x.id.startsWith('client-order')));
    });
  });
});
