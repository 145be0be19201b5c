// The full-handshake checks that need a server behaving like an unpatched one (a CCS-injectable
// OpenSSL, a Ticketbleed F5: nothing on this machine still does) or a hostile one: scripted
// servers in a few lines, the scan's own probes against them, and the session probe thread
// against a server that never answers.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { defaultBackendChoice, resolveBackend } from '../src/engine/port';
import { ccsInjectionProbe, ccsRecord } from '../src/engine/scan/ccs_injection';
import { exchange } from '../src/engine/scan/exchange';
import { conversation } from '../src/engine/scan/past_hello';
import { robotProbe, rsaKeyOf } from '../src/engine/scan/robot';
import { judgeTicketbleed, ticketExtension, TICKETBLEED_SESSION_ID } from '../src/engine/scan/ticketbleed';
import { VERSIONS } from '../src/engine/wire/constants';
import { clientHello } from '../src/engine/wire/hello';
import { SessionProber } from '../src/engine/workers/scan_session';
import fs from 'node:fs';
import { fixture } from './helpers/cli';
import { startSilentServer } from './helpers/node_tls';

const HOST = '127.0.0.1';
const backend = resolveBackend(defaultBackendChoice()).backend;

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

  it('ROBOT: a server whose alert tells good PKCS#1 padding from bad is an oracle (vulnerable); one that answers all alike is not', async () => {
    const certDer = new crypto.X509Certificate(fs.readFileSync(fixture('rsa.pem'))).raw;
    const priv = crypto.createPrivateKey(fs.readFileSync(fixture('rsa.key')));
    // ServerHello (TLS_RSA_WITH_AES_128_CBC_SHA), Certificate, ServerHelloDone.
    const flight = () => {
      const sh = Buffer.concat([Buffer.from([3, 3]), crypto.randomBytes(32), Buffer.from([0, 0x00, 0x2f, 0, 0, 5, 0xff, 0x01, 0, 1, 0])]);
      const entry = Buffer.concat([Buffer.from([0, certDer.length >> 8, certDer.length & 0xff]), certDer]);
      const list = Buffer.concat([Buffer.from([0, entry.length >> 8, entry.length & 0xff]), entry]);
      return record(22, Buffer.concat([handshake(2, sh), handshake(11, list), handshake(14, Buffer.alloc(0))]));
    };
    const server = (oracle: boolean) =>
      scripted((s) => {
        s.write(flight());
        s.once('data', (d) => {
          // The ClientKeyExchange: record header 5, handshake header 4, length 2, then the ciphertext.
          const ct = d.subarray(11, 11 + d.readUInt16BE(9));
          const m = crypto.privateDecrypt({ key: priv, padding: crypto.constants.RSA_NO_PADDING }, ct);
          const good = m[0] === 0 && m[1] === 2 && m[m.length - 49] === 0 && m[m.length - 48] === 3 && m[m.length - 47] === 3;
          // Vulnerable: a correct premaster secret fails later (the Finished), a bad one at once with another alert.
          s.end(record(21, Buffer.from([2, oracle && !good ? 40 : 20])));
        });
      });
    const [vuln, fine] = await Promise.all([server(true), server(false)]);
    try {
      const key = rsaKeyOf(certDer)!;
      const hello = () => clientHello({ clientVersion: VERSIONS['TLSv1.2'], suites: [0x002f], renegotiationInfo: true });
      const limit = <T>(fn: () => Promise<T>) => fn();
      const a = await robotProbe({ host: HOST, port: vuln.port, timeoutMs: 2000, version: 'TLSv1.2', hello, key, limit });
      assert.equal(a.status, 'vulnerable', a.detail);
      assert.deepEqual(a.cve, ['CVE-2017-13099']);
      assert.match(a.answers![0], /^alert:bad_record_mac/, 'the correct premaster secret');
      for (const x of a.answers!.slice(1)) assert.match(x, /^alert:handshake_failure/, 'the four malformed ones');
      const b = await robotProbe({ host: HOST, port: fine.port, timeoutMs: 2000, version: 'TLSv1.2', hello, key, limit });
      assert.equal(b.status, 'not-vulnerable', b.detail);
    } finally {
      await Promise.all([vuln.close(), fine.close()]);
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
      const [a, b] = await Promise.all([p.request({ kind: 'handshake' }), p.request({ kind: 'resumption', mode: 'session-id' })]);
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
