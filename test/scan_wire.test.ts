// The scan's wire codec (src/engine/wire/) against real TLS stacks and against garbage.
// ClientHellos we build go over loopback to openssl s_server and Node's TLS server; the real
// answers must parse to what those servers were configured to pick. Then the reader is fuzzed:
// random and mutated answers fed in random chunks give events or a WireError, nothing else.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { exchange } from '../src/engine/scan/exchange';
import { GROUPS, HRR_RANDOM, TLS_FALLBACK_SCSV, VERSIONS } from '../src/engine/wire/constants';
import { WireError } from '../src/engine/wire/errors';
import { clientHello, keyShareFor, ssl2ClientHello, TLS13_GROUPS } from '../src/engine/wire/hello';
import { parseServerKeyExchange, ServerEvent, ServerReader } from '../src/engine/wire/reader';
import { suiteById, suitesFor, SUITES } from '../src/engine/wire/suites';
import { fixture } from './helpers/cli';
import { startNodeTlsServer } from './helpers/node_tls';
import { SServer, startSServer, stopAllSServers } from './helpers/s_server';

const HOST = '127.0.0.1';
const opensslMajorMinor = process.versions.openssl.split('.').slice(0, 2).map(Number);
const HAS_MLKEM = opensslMajorMinor[0] > 3 || (opensslMajorMinor[0] === 3 && opensslMajorMinor[1] >= 5);

function tls12Hello(extra: Partial<Parameters<typeof clientHello>[0]> = {}) {
  return clientHello({
    clientVersion: VERSIONS['TLSv1.2'],
    suites: suitesFor('TLSv1.2').map((s) => s.id),
    groups: [29, 23, 24],
    sni: 'localhost',
    extendedMasterSecret: true,
    encryptThenMac: true,
    renegotiationInfo: true,
    ...extra,
  });
}

function tls13Hello(keyShares: number[], groups = TLS13_GROUPS, extra: Partial<Parameters<typeof clientHello>[0]> = {}) {
  return clientHello({
    clientVersion: VERSIONS['TLSv1.2'],
    supportedVersions: [VERSIONS['TLSv1.3']],
    suites: suitesFor('TLSv1.3').map((s) => s.id),
    groups,
    keyShares,
    sni: 'localhost',
    ...extra,
  });
}

function hello(events: ServerEvent[]) {
  const e = events.find((x) => x.type === 'serverHello');
  assert.ok(e && e.type === 'serverHello', `no ServerHello in ${JSON.stringify(events.map((x) => x.type))}`);
  return e.hello;
}

describe('scan wire codec', function () {
  this.timeout(20000);
  let s12: SServer;
  let s13: SServer;
  const raw: Buffer[] = [];

  before(async () => {
    [s12, s13] = await Promise.all([
      startSServer({ cert: fixture('rsa.pem'), key: fixture('rsa.key'), args: ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384', '-serverpref', '-groups', 'P-384:X25519'] }),
      startSServer({ args: ['-tls1_3', '-groups', 'P-256:X25519', '-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256', '-serverpref'] }),
    ]);
  });
  after(stopAllSServers);

  it('the suite table has every family a scan must offer, with IANA and OpenSSL names', () => {
    const ids = new Set(SUITES.map((s) => s.id));
    assert.equal(ids.size, SUITES.length, 'unique ids');
    for (const id of [0x0003, 0x0004, 0x000a, 0x0018, 0x0001, 0xc02f, 0x1301, 0x1302, 0x1303, 0x1304, 0x1305]) assert.ok(ids.has(id), `0x${id.toString(16)}`);
    assert.equal(suiteById(0xc02f)!.openssl, 'ECDHE-RSA-AES128-GCM-SHA256');
    assert.equal(suiteById(0xc02f)!.iana, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    assert.ok(suiteById(0x0003)!.flags.has('export') && suiteById(0x0003)!.flags.has('rc4'));
    assert.ok(suiteById(0x000a)!.flags.has('3des') && suiteById(0x000a)!.flags.has('cbc'));
    assert.ok(suiteById(0x0018)!.flags.has('anon'));
    assert.ok(suiteById(0x0001)!.flags.has('null'));
    assert.equal(suitesFor('TLSv1.3').length, 5);
    assert.ok(!suitesFor('TLSv1').some((s) => s.minVersion !== 'SSLv3'));
  });

  it('key shares have the sizes of their groups, and the curve points are on their curves', () => {
    for (const g of GROUPS.filter((x) => x.shareLen)) assert.equal(keyShareFor(g.id).length, g.shareLen, g.name);
    assert.equal(keyShareFor(0x11ec).length, 1184 + 32);
    assert.equal(keyShareFor(0x11eb).length, 65 + 1184);
    assert.equal(keyShareFor(0x11ed).length, 97 + 1568);
    // node:crypto rejects a point that is not on the curve.
    const ecdh = crypto.createECDH('prime256v1');
    ecdh.generateKeys();
    assert.equal(ecdh.computeSecret(keyShareFor(23)).length, 32);
  });

  it('a TLS 1.2 ClientHello gets s_server\'s ServerHello, Certificate, ServerKeyExchange and ServerHelloDone', async () => {
    const bytes = tls12Hello({ statusRequest: true });
    const r = await exchange(bytes, { host: HOST, port: s12.port, timeoutMs: 5000 });
    assert.equal(r.kind, 'answer', `${r.error} ${r.alert}`);
    const h = hello(r.events);
    assert.equal(h.version, 0x0303);
    assert.equal(h.suite, 0xc02f, '-serverpref picks the first of -cipher');
    assert.ok(h.extensions.has(0xff01), 'secure renegotiation');
    assert.ok(h.extensions.has(0x0017), 'extended master secret');
    const cert = r.events.find((e) => e.type === 'certificate');
    assert.ok(cert && cert.type === 'certificate');
    const pem = fs.readFileSync(fixture('rsa.pem'), 'utf8');
    const leaf = new crypto.X509Certificate(pem);
    assert.ok(cert.chain[0].equals(leaf.raw), 'the leaf is the configured certificate');
    const ske = r.events.find((e) => e.type === 'serverKeyExchange');
    assert.ok(ske && ske.type === 'serverKeyExchange');
    assert.equal(ske.ske.group, 24, 'P-384: the server prefers its own first group');
    assert.ok(ske.ske.sigAlg);
    assert.ok(r.events.some((e) => e.type === 'serverHelloDone'));
    // The whole raw answer, for the fuzzer below.
    raw.push(await rawAnswer(bytes, s12.port));
  });

  it('DHE: the ServerKeyExchange gives the size of p', async () => {
    const r = await exchange(tls12Hello({ suites: [0x009f] }), { host: HOST, port: s12.port, timeoutMs: 5000 });
    assert.equal(r.kind, 'answer', r.error);
    const ske = r.events.find((e) => e.type === 'serverKeyExchange');
    assert.ok(ske && ske.type === 'serverKeyExchange');
    assert.ok(ske.ske.dhBits! >= 2048, String(ske.ske.dhBits));
  });

  it('offering only suites the server lacks gets an alert, and TLS 1.3 to a 1.2-only server gets protocol_version', async () => {
    const r = await exchange(tls12Hello({ suites: [0x009c] }), { host: HOST, port: s12.port, timeoutMs: 5000 });
    assert.equal(r.kind, 'alert');
    assert.equal(r.alert, 'handshake_failure');
    const r13 = await exchange(tls13Hello([29]), { host: HOST, port: s12.port, timeoutMs: 5000 });
    assert.equal(r13.kind, 'alert');
    assert.equal(r13.alert, 'protocol_version');
  });

  it('TLS 1.3: a matching key share gets a ServerHello, an empty one a HelloRetryRequest naming the server\'s group', async () => {
    const r = await exchange(tls13Hello([29, 23]), { host: HOST, port: s13.port, timeoutMs: 5000, stopAtServerHello: true });
    assert.equal(r.kind, 'answer', r.error);
    const h = hello(r.events);
    assert.equal(h.version, 0x0304);
    assert.equal(h.hrr, false);
    // OpenSSL takes the first of the client's shares it supports (no HRR when one matches).
    assert.equal(h.keyShareGroup, 29);
    assert.equal(h.suite, 0x1303, 'ChaCha20 first under -serverpref');
    raw.push(await rawAnswer(tls13Hello([29, 23]), s13.port));
    const hrr = await exchange(tls13Hello([]), { host: HOST, port: s13.port, timeoutMs: 5000 });
    const hh = hello(hrr.events);
    assert.equal(hh.hrr, true);
    assert.ok(hh.random.equals(HRR_RANDOM));
    assert.equal(hh.keyShareGroup, 23);
    raw.push(await rawAnswer(tls13Hello([]), s13.port));
  });

  it('TLS 1.2 probe of a 1.3 server shows the downgrade sentinel; TLS_FALLBACK_SCSV at 1.2 gets inappropriate_fallback', async () => {
    const both = await startSServer({ args: [] });
    try {
      const r = await exchange(tls12Hello(), { host: HOST, port: both.port, timeoutMs: 5000, stopAtServerHello: true });
      assert.equal(hello(r.events).downgrade, 'tls12');
      const f = await exchange(tls12Hello({ scsv: [TLS_FALLBACK_SCSV] }), { host: HOST, port: both.port, timeoutMs: 5000 });
      assert.equal(f.kind, 'alert');
      assert.equal(f.alert, 'inappropriate_fallback');
    } finally {
      await both.stop();
    }
  });

  it('an SSL 2.0 CLIENT-HELLO is refused by a modern server without a parse error', async () => {
    const r = await exchange(ssl2ClientHello(), { host: HOST, port: s12.port, timeoutMs: 5000 });
    assert.ok(['alert', 'closed', 'reset'].includes(r.kind), `${r.kind} ${r.error}`);
  });

  it('Node\'s TLS server accepts our ALPN and picks h2', async () => {
    const srv = await startNodeTlsServer({
      key: fs.readFileSync(fixture('localhost.key')),
      cert: fs.readFileSync(fixture('localhost.pem')),
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    try {
      const r = await exchange(tls12Hello({ alpn: ['http/1.1', 'h2'] }), { host: HOST, port: srv.port, timeoutMs: 5000, stopAtServerHello: true });
      assert.equal(hello(r.events).alpn, 'h2');
    } finally {
      await srv.close();
    }
  });

  for (const [name, id] of [['X25519MLKEM768', 0x11ec], ['SecP256r1MLKEM768', 0x11eb], ['SecP384r1MLKEM1024', 0x11ed]] as const) {
    it(`post-quantum: a ${name} key share is accepted by OpenSSL 3.5 (Node 22+)`, async function () {
      if (!HAS_MLKEM) this.skip();
      const srv = await startNodeTlsServer({
        key: fs.readFileSync(fixture('localhost.key')),
        cert: fs.readFileSync(fixture('localhost.pem')),
        ecdhCurve: `${name}:X25519`,
      });
      try {
        const r = await exchange(tls13Hello([id]), { host: HOST, port: srv.port, timeoutMs: 5000, stopAtServerHello: true });
        assert.equal(r.kind, 'answer', `${r.kind} ${r.alert} ${r.error}`);
        const h = hello(r.events);
        assert.equal(h.hrr, false);
        assert.equal(h.keyShareGroup, id);
      } finally {
        await srv.close();
      }
    });
  }

  describe('fuzzing the reader', () => {
    const ROUNDS = 3000;
    const seeded = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);

    function feedAll(buf: Buffer, rnd: () => number): void {
      const r = new ServerReader();
      let off = 0;
      let steps = 0;
      try {
        while (off < buf.length) {
          const n = 1 + Math.floor(rnd() * Math.min(64, buf.length - off));
          r.feed(buf.subarray(off, off + n));
          off += n;
          if (++steps > buf.length + 1) throw new Error('reader loops');
        }
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
        // Sticky: feeding after the error gives the same error.
        assert.throws(() => r.feed(Buffer.from([22])), (x) => x === e);
      }
    }

    it('random bytes give events or a WireError', () => {
      const rnd = seeded(1);
      for (let i = 0; i < ROUNDS; i++) {
        const len = Math.floor(rnd() * 300);
        const b = Buffer.alloc(len);
        for (let j = 0; j < len; j++) b[j] = Math.floor(rnd() * 256);
        // Half the inputs start like a handshake record so the fuzzer gets past the first check.
        if (len > 5 && rnd() < 0.5) {
          b[0] = 22;
          b[1] = 3;
          b[2] = 3;
          b.writeUInt16BE(len - 5, 3);
        }
        feedAll(b, rnd);
      }
    });

    it('mutated real answers (bit flips, truncation, length fields) give events or a WireError', () => {
      assert.ok(raw.length >= 2, 'real answers were captured');
      const rnd = seeded(7);
      for (let i = 0; i < ROUNDS; i++) {
        const src = raw[i % raw.length];
        let b = Buffer.from(src);
        const kind = Math.floor(rnd() * 4);
        if (kind === 0) for (let k = 0; k < 1 + rnd() * 8; k++) b[Math.floor(rnd() * b.length)] ^= 1 << Math.floor(rnd() * 8);
        else if (kind === 1) b = b.subarray(0, Math.floor(rnd() * b.length));
        else if (kind === 2) {
          // Length fields: record header, handshake header, random 16-bit field.
          const at = [3, 6, 7, 8, 5 + 4 + 2 + 32, Math.floor(rnd() * (b.length - 2))][Math.floor(rnd() * 6)];
          if (at + 2 <= b.length) b.writeUInt16BE(Math.floor(rnd() * 65536), at);
        } else b = Buffer.concat([b.subarray(0, Math.floor(rnd() * b.length)), crypto.randomBytes(Math.floor(rnd() * 40))]);
        feedAll(b, rnd);
      }
    });

    it('a ServerKeyExchange with bad lengths is a WireError', () => {
      assert.throws(() => parseServerKeyExchange(Buffer.from([3, 0, 23, 5, 1]), 'ecdhe', 0x0303), WireError);
      assert.throws(() => parseServerKeyExchange(Buffer.from([0, 1]), 'dhe', 0x0303), WireError);
    });
  });
});

/** The server's raw answer bytes (until it pauses 150 ms or closes). */
async function rawAnswer(bytes: Buffer, port: number): Promise<Buffer> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: HOST, port }, () => s.write(bytes));
    let t: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(t);
      s.destroy();
      resolve(Buffer.concat(chunks));
    };
    s.on('data', (d) => {
      chunks.push(d);
      clearTimeout(t);
      t = setTimeout(done, 150);
    });
    s.on('close', done);
    s.on('error', done);
  });
}
