// Handshake flights larger than the 64 KiB BIO pair (a chain of 200 certificates, ~86 KB of
// DER), through the real commands, against peers we did not write: `openssl s_client` against
// `iocptls serve`, and `iocptls connect` against `openssl s_server` (also sending such a chain as
// its client certificate). Before the session/loop contract, OpenSSL's WANT_WRITE was never
// followed up: exactly 65,536 bytes went out and the handshake stalled until a timeout.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { bigChain, BigChain } from './helpers/big_chain';
import { dump, runCliJson } from './helpers/cli';
import { startSServer, stopAllSServers } from './helpers/s_server';
import { dumpServe, startServe } from './helpers/serve';

/** Runs `openssl s_client` with stdin closed (it ends after the handshake); resolves with its output. */
function sClient(port: number, args: string[], timeoutMs = 20_000): Promise<{ code: number | null; out: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    p.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
    const killer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, out, ms: Date.now() - t0 });
    });
  });
}

/** The certificates s_client listed under "Certificate chain" (" 0 s:...", " 1 s:...", ...). */
function chainLength(out: string): number {
  return (out.match(/^\s*\d+ s:/gm) ?? []).length;
}

describe('handshake flights larger than the BIO pair', function () {
  this.timeout(60_000);
  let chain: BigChain;

  before(() => {
    chain = bigChain(200);
    assert.ok(chain.derBytes > 80_000, `chain is ${chain.derBytes} bytes of DER`);
  });
  after(async () => {
    await stopAllSServers();
    chain.remove();
  });

  for (const version of ['1.3', '1.2'] as const) {
    it(`serve --cert with a ${version === '1.3' ? 'TLS 1.3' : 'TLS 1.2'} chain of 201 certificates: openssl s_client completes`, async () => {
      // A short handshake timeout: a stalled flight fails in 5 s rather than hanging the client.
      const srv = await startServe(['--cert', chain.certPath, '--key', chain.keyPath, '--handshake-timeout', '5000', '-w', '1']);
      try {
        const r = await sClient(srv.port, [version === '1.3' ? '-tls1_3' : '-tls1_2']);
        const x = await srv.stop();
        assert.equal(r.code, 0, `s_client:\n${r.out.slice(-3000)}\n${dumpServe(x)}`);
        assert.match(r.out, version === '1.3' ? /New, TLSv1\.3, Cipher is/ : /New, TLSv1\/SSLv3, Cipher is|Protocol\s*: TLSv1\.2/);
        assert.equal(chainLength(r.out), chain.count, 's_client received the whole chain');
        assert.equal(x.doc.totals.handshakes, 1, dumpServe(x));
        assert.deepEqual(x.doc.totals.errors, {}, dumpServe(x));
      } finally {
        await srv.stop();
      }
    });
  }

  for (const version of ['1.3', '1.2'] as const) {
    it(`connect receives a ${version === '1.3' ? 'TLS 1.3' : 'TLS 1.2'} chain of 201 certificates from openssl s_server`, async () => {
      // -cert sends only the leaf; -cert_chain adds the rest.
      const s = await startSServer({
        cert: chain.certPath,
        key: chain.keyPath,
        args: ['-cert_chain', chain.casPath, version === '1.3' ? '-tls1_3' : '-tls1_2'],
      });
      const r = await runCliJson(['connect', `127.0.0.1:${s.port}`, '--insecure', '--timeout', '5000'], { killAfterMs: 30_000 });
      assert.equal(r.code, 0, dump(r));
      assert.equal(r.doc.negotiated.protocol, `TLSv${version}`, dump(r));
      assert.equal(r.doc.certificates.length, chain.count, 'every certificate of the chain was received');
      await s.stop();
    });

    it(`connect sends a ${version === '1.3' ? 'TLS 1.3' : 'TLS 1.2'} client certificate chain of 201 certificates to openssl s_server`, async () => {
      // -verify 1: s_server asks for a client certificate and tolerates what it cannot verify;
      // -msg: it prints each handshake message it received with its length.
      const s = await startSServer({ args: ['-verify', '1', '-msg', '-naccept', '1', version === '1.3' ? '-tls1_3' : '-tls1_2'] });
      const r = await runCliJson(
        ['connect', `127.0.0.1:${s.port}`, '--insecure', '--timeout', '5000', '--cert', chain.certPath, '--key', chain.keyPath],
        { killAfterMs: 30_000 }
      );
      assert.equal(r.code, 0, dump(r) + '\n--- s_server\n' + s.output().slice(-2000));
      await s.exited(10_000);
      // What s_server received: one Certificate message of the whole chain's size (hex length).
      const m = /<<< TLS 1\.[23]\s*,? *Handshake \[length ([0-9a-f]+)\], Certificate\b/.exec(s.output());
      assert.ok(m, `s_server printed no Certificate message:\n${s.output().slice(-3000)}`);
      assert.ok(parseInt(m[1], 16) > chain.derBytes, `the client Certificate message was ${parseInt(m[1], 16)} bytes`);
    });
  }
});
