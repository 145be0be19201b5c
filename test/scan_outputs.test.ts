// `scan`'s outputs for CI: --policy with Mozilla's profiles (one line per violation naming the
// rule, exit 1), --jsonl (one document per target as each finishes), --html (a page in the report
// style), and `compare` of two scan documents (exit 1 on a change for the worse), against real
// servers: openssl s_server configured here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixture, runCli } from './helpers/cli';
import { startSServer, stopAllSServers } from './helpers/s_server';

const HOST = '127.0.0.1';

describe('scan outputs: --policy profiles, --jsonl, --html, compare', function () {
  this.timeout(30000);
  let dir = '';
  after(async () => {
    await stopAllSServers();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  let modernish = 0;
  let weak = 0;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-scan-out-'));
    // TLS 1.3 only with an ECDSA P-256 certificate: what Mozilla's modern asks, but for a ten-year certificate.
    modernish = (await startSServer({ args: ['-tls1_3', '-groups', 'X25519:P-256'] })).port;
    // The same certificate with TLS 1.1 and 1.2 and a CBC suite as well.
    weak = (await startSServer({ args: ['-no_tls1', '-no_tls1_3', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0', '-groups', 'X25519:P-256'] })).port;
  });

  it('--policy modern: only the certificate lifespan is broken on the TLS 1.3 server; the other breaks allowProtocols and allowSuites, one line each', async () => {
    const [a, b, c] = await Promise.all([
      runCli(['scan', `${HOST}:${modernish}`, '--policy', 'modern', '--json']),
      runCli(['scan', `${HOST}:${weak}`, '--policy', 'modern']),
      runCli(['scan', `${HOST}:${weak}`, '--policy', 'intermediate', '--json']),
    ]);
    assert.equal(a.code, 1, a.stderr);
    const doc = JSON.parse(a.out);
    assert.deepEqual(
      doc.policy.violations.map((v: string) => v.split(': ')[1]),
      ['maxCertificateLifespanDays']
    );
    assert.equal(b.code, 1, b.stderr);
    const lines = b.stderr.split('\n').filter((l) => l.startsWith('  '));
    assert.ok(lines.includes(`  ${HOST}:${weak}: allowProtocols: TLSv1.2 is offered (allowed: TLSv1.3)`), b.stderr);
    assert.ok(lines.includes(`  ${HOST}:${weak}: allowSuites: TLSv1.2 ECDHE-ECDSA-AES128-SHA is accepted`), b.stderr);
    // intermediate allows TLS 1.2 and its AEAD suites; not TLS 1.1, nor the CBC suite.
    assert.deepEqual(JSON.parse(c.out).policy.violations.map((v: string) => v.split(': ').slice(1).join(': ')), [
      'allowProtocols: TLSv1.1 is offered (allowed: TLSv1.2, TLSv1.3)',
      'allowSuites: TLSv1.1 ECDHE-ECDSA-AES128-SHA is accepted',
      'allowSuites: TLSv1.2 ECDHE-ECDSA-AES128-SHA is accepted',
      'maxCertificateLifespanDays: the leaf is valid for 3650 days (> 366)',
    ]);
  });

  it('a policy FILE can start from a profile and override its rules; unknown rules are refused', async () => {
    const file = path.join(dir, 'p.json');
    const typo = path.join(dir, 'typo.json');
    fs.writeFileSync(file, JSON.stringify({ profile: 'modern', maxCertificateLifespanDays: 4000 }));
    fs.writeFileSync(typo, JSON.stringify({ profile: 'modern', allowSuite: [] }));
    const [a, b] = await Promise.all([runCli(['scan', `${HOST}:${modernish}`, '--policy', file]), runCli(['scan', `${HOST}:${modernish}`, '--policy', typo])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /unknown rule 'allowSuite'/);
  });

  it('--jsonl prints one scan document per target and line; --html writes a page; compare of the two servers exits 1 for the worse', async () => {
    const html = path.join(dir, 'scan.html');
    const r = await runCli(['scan', `${HOST}:${modernish}`, `${HOST}:${weak}`, '--jsonl', '--html', html]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.out.trim().split('\n');
    assert.equal(lines.length, 2);
    const docs = lines.map((l) => JSON.parse(l));
    assert.deepEqual(docs.map((d) => d.schema), ['iocptls.scan/1', 'iocptls.scan/1']);
    assert.deepEqual(docs.map((d) => d.hosts[0].target.port).sort(), [modernish, weak].sort());
    const page = fs.readFileSync(html, 'utf8');
    assert.match(page, /^<!DOCTYPE html>/);
    assert.ok(page.includes('Cipher suites, TLSv1.2') && page.includes('ECDHE-ECDSA-AES128-SHA'), 'the page has the suites');

    // The weak server's document, renamed as if it were the modern one rescanned: what changed is worse.
    const good = docs.find((d) => d.hosts[0].target.port === modernish);
    const bad = docs.find((d) => d.hosts[0].target.port === weak);
    bad.hosts[0].target.port = modernish;
    fs.writeFileSync(path.join(dir, 'old.json'), JSON.stringify(good));
    fs.writeFileSync(path.join(dir, 'new.json'), JSON.stringify(bad));
    const c = await runCli(['compare', path.join(dir, 'old.json'), path.join(dir, 'new.json')]);
    assert.equal(c.code, 1, c.stderr + c.out);
    assert.match(c.out, /WORSE +TLSv1.1 now offered/);
    assert.match(c.out, /WORSE +TLSv1.3 no longer offered/);
    assert.match(c.out, /WORSE +appeared: warn TLS 1.1 offered/);
    const back = await runCli(['compare', path.join(dir, 'new.json'), path.join(dir, 'old.json'), '--json']);
    assert.equal(back.code, 0, back.stderr);
    const cmp = JSON.parse(back.out);
    assert.equal(cmp.schema, 'iocptls.scan-compare/1');
    assert.equal(cmp.worse, 0);
    assert.ok(cmp.changes.some((x: { what: string; direction: string; text: string }) => x.what === 'protocol' && x.direction === 'better' && x.text === 'TLSv1.1 no longer offered'));
    // A scan document against a result document: said, exit 2.
    const mixed = await runCli(['compare', path.join(dir, 'old.json'), fixture('ca.pem')]);
    assert.equal(mixed.code, 2);
  });
});
