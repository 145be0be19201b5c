// The chains a scan reports: order, completeness and the root sent (node:crypto checks on a chain
// made here by `openssl req`/`x509`: root, intermediate, leaf), then through the scan against
// s_server with and without the intermediate; and the OCSP responseStatus read from DER.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultBackendChoice, resolveBackend } from '../src/engine/port';
import { describeChain, ocspStaple } from '../src/engine/scan/chains';
import { runScan, ScanOptions } from '../src/engine/scan/scan';
import type { HostScan } from '../src/engine/scan/types';
import { fixture } from './helpers/cli';
import { startSServer, stopAllSServers } from './helpers/s_server';

const HOST = '127.0.0.1';
const backend = resolveBackend(defaultBackendChoice()).backend;
const OPTS: ScanOptions = { concurrency: 8, timeoutMs: 3000, backend, ca: fixture('ca.pem') };

async function scanOne(port: number, servername?: string, o: Partial<ScanOptions> = {}): Promise<HostScan> {
  const [h] = await runScan([{ host: HOST, port, servername }], { ...OPTS, ...o });
  return h;
}
const chain = (h: HostScan, request: string) => h.chains?.find((c) => c.request === request);
const finding = (h: HostScan, id: string) => h.findings.find((f) => f.id === id);

let tmp: string;
before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-scanchains-'))));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('scan: served chains', function () {
  this.timeout(30000);
  after(stopAllSServers);

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
