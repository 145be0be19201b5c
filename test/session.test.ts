// The sans-I/O TLS session, two of them back to back in memory: no sockets, no loop. What one
// session writes (writeTls) is what the other reads (readTls), moved by the test the way the loop
// moves it, so the session's contract with the loop is tested on its own: handshakes, data in
// odd pieces, flights larger than the BIO pair, close_notify, alerts, renegotiation, KeyUpdate,
// and WANT_WRITE when the outgoing pair is full.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import koffi from 'koffi';
import * as o from '../native/openssl';
import { TlsError } from '../src/engine/errors';
import { BIO_PAIR_SMALL, ReadResult, TlsSession } from '../src/engine/tls/session';
import { bigChain, BigChain } from './helpers/big_chain';
import { fixture } from './helpers/cli';
import { handshake, move, pair, Pair, readAll, wire } from './helpers/session_pair';

const ODD_SIZES = [1, 7, 333, 4099, 16385, 65537, 99991, 2];

function pattern(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed * 7 + (i >>> 9)) & 255;
  return b;
}

/** Sends `data` each way at once in odd-sized pieces, honouring partial writes; returns what each side received. */
function exchange(p: Pair, up: Buffer, down: Buffer): { atServer: Buffer; atClient: Buffer } {
  const got = { s: [] as Buffer[], c: [] as Buffer[] };
  const off = { c: 0, s: 0 };
  let k = 0;
  for (let i = 0; i < 100_000; i++) {
    for (const [t, data, key] of [
      [p.c, up, 'c'],
      [p.s, down, 's'],
    ] as const) {
      if (off[key] < data.length) {
        const size = Math.min(ODD_SIZES[k++ % ODD_SIZES.length], data.length - off[key]);
        off[key] += t.write(data.subarray(off[key], off[key] + size), size);
      }
    }
    move(p.c, p.s);
    move(p.s, p.c);
    readAll(p.s, got.s);
    readAll(p.c, got.c);
    const atServer = got.s.reduce((a, b) => a + b.length, 0);
    const atClient = got.c.reduce((a, b) => a + b.length, 0);
    if (atServer === up.length && atClient === down.length) return { atServer: Buffer.concat(got.s), atClient: Buffer.concat(got.c) };
  }
  throw new Error('exchange did not finish');
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('TlsSession in memory (sans-I/O)', function () {
  this.timeout(30_000);
  let chain: BigChain;
  const pairs: Pair[] = [];
  const track = (p: Pair) => (pairs.push(p), p);

  before(() => {
    chain = bigChain(200);
  });
  afterEach(() => {
    for (const p of pairs.splice(0)) p.free();
  });
  after(() => chain.remove());

  for (const version of ['1.3', '1.2'] as const) {
    describe(`TLS ${version}`, () => {
      const v = { minVersion: version, maxVersion: version } as const;

      it('completes a handshake, verified, with what was negotiated on both sides', () => {
        const p = track(pair(v, v));
        handshake(p);
        assert.equal(p.c.isHandshaking, false);
        assert.equal(p.s.isHandshaking, false);
        assert.equal(p.c.info().protocol, `TLSv${version}`);
        assert.equal(p.s.info().protocol, `TLSv${version}`);
        assert.equal(p.c.info().cipher, p.s.info().cipher);
        assert.deepEqual(p.c.verifyResult(), { ok: true, message: 'ok' });
        assert.equal(p.s.info().servername, 'localhost');
      });

      it('gives its buffers back when idle (after the TLS 1.3 tickets too) and still carries data both ways after each time', () => {
        const p = track(pair(v, v));
        handshake(p);
        // The server's tickets (TLS 1.3) are read like any data: the client's record layer then holds
        // a read buffer RELEASE_BUFFERS does not free; releaseBuffers frees it with the pair's.
        move(p.s, p.c);
        assert.equal(readAll(p.c), 0);
        for (let round = 0; round < 3; round++) {
          assert.equal(p.c.releaseBuffers(), true, `client released (round ${round})`);
          assert.equal(p.s.releaseBuffers(), true, `server released (round ${round})`);
          assert.equal(p.c.paired, false);
          const up = pattern(100 + round * 5000, round);
          const down = pattern(70 + round * 7000, round + 9);
          const { atServer, atClient } = exchange(p, up, down);
          assert.equal(sha(atServer), sha(up));
          assert.equal(sha(atClient), sha(down));
        }
        // Ciphertext not yet read: nothing is given back.
        p.s.write(Buffer.from('unread'), 6);
        move(p.s, p.c);
        assert.equal(p.c.releaseBuffers(), false);
        const got: Buffer[] = [];
        readAll(p.c, got);
        assert.equal(Buffer.concat(got).toString(), 'unread');
      });

      it('moves 1 MB each way at once in odd-sized pieces, byte for byte', () => {
        const p = track(pair(v, v));
        handshake(p);
        const up = pattern(1 << 20, 1);
        const down = pattern(1 << 20, 2);
        const { atServer, atClient } = exchange(p, up, down);
        assert.equal(sha(atServer), sha(up));
        assert.equal(sha(atClient), sha(down));
      });

      it('moves 1 MB the way the loop does (peekTlsRuns, partial sends, consumeTls) across the ring\'s wrap, byte for byte', () => {
        const p = track(pair(v, v));
        handshake(p);
        const up = pattern(1 << 20, 3);
        const got: Buffer[] = [];
        const ssl = o.openssl();
        const sends = [1000, 7, 16_500, 333, 4099]; // odd sizes move the ring's read offset off its start
        let off = 0;
        let k = 0;
        let wrapped = 0;
        for (let i = 0; i < 100_000 && got.reduce((a, b) => a + b.length, 0) < up.length; i++) {
          if (off < up.length) off += p.c.write(up.subarray(off, Math.min(up.length, off + 20_000)), Math.min(20_000, up.length - off));
          const total = p.c.peekTlsRuns();
          // What the session says is pending is what OpenSSL's pair holds (a run is never mistaken for all of it).
          assert.equal(total, Number(ssl.BIO_ctrl_pending(p.c.net)));
          if (p.c.runs.len2 > 0) wrapped++;
          const n = Math.min(total, sends[k++ % sends.length], p.s.tlsSpace());
          if (n > 0) {
            const r = p.c.runs;
            const a = Math.min(n, r.len1);
            const chunk = Buffer.concat([Buffer.from(koffi.view(r.ptr1, a)), n > a ? Buffer.from(koffi.view(r.ptr2, n - a)) : Buffer.alloc(0)]);
            assert.equal(p.s.readTls(chunk, n), n);
            p.c.consumeTls(n);
          }
          readAll(p.s, got);
        }
        assert.ok(wrapped > 0, 'some pending ciphertext wrapped around the ring');
        assert.equal(sha(Buffer.concat(got)), sha(up));
        assert.equal(p.c.peekTlsRuns(), 0);
        assert.equal(Number(ssl.BIO_ctrl_pending(p.c.net)), 0);
      });

      it('sends and receives handshake flights larger than the BIO pair (a 201-certificate chain each way)', () => {
        const p = track(
          pair(
            // OpenSSL 3.5 (Node 22/24) compresses TLS 1.3 certificate flights (RFC 8879), which can
            // bring this chain under the pair's size: off, so both flights really overflow it.
            { ...v, certs: [{ cert: chain.certPath, key: chain.keyPath }], clientAuth: 'require', clientCa: chain.rootPath, certCompression: false },
            { ...v, ca: chain.rootPath, certs: [{ cert: chain.clientCertPath, key: chain.clientKeyPath }], certCompression: false }
          )
        );
        // Pairs start at one record's size (they grow only for bulk data, once empty).
        assert.equal(p.c.pairSize, BIO_PAIR_SMALL);
        assert.ok(chain.derBytes > BIO_PAIR_SMALL);
        const seen = handshake(p);
        // Both flights overflowed the pair: without driving again after the drain, they would stall.
        assert.ok(seen.serverWantsWrite > 0, 'the server stopped on a full pair at least once');
        assert.ok(seen.clientWantsWrite > 0, 'the client stopped on a full pair at least once');
        assert.equal(p.c.peerChainDer().length, chain.count);
        assert.equal(p.s.peerChainDer().length, chain.count);
        assert.deepEqual(p.c.verifyResult(), { ok: true, message: 'ok' });
        assert.deepEqual(p.s.verifyResult(), { ok: true, message: 'ok' });
      });

      it('sends close_notify both ways', () => {
        const p = track(pair(v, v));
        handshake(p);
        p.c.write(Buffer.from('last words'), 10);
        p.c.close();
        move(p.c, p.s);
        const got: Buffer[] = [];
        assert.equal(readAll(p.s, got), 'closed');
        assert.equal(Buffer.concat(got).toString(), 'last words', 'data before close_notify is delivered');
        assert.equal(p.s.peerClosed, true);
        p.s.close();
        move(p.s, p.c);
        assert.equal(readAll(p.c), 'closed');
        assert.equal(p.c.peerClosed, true);
      });

      it('sends a fatal alert on a failed verification; the error is sticky on both sides', () => {
        const p = track(pair(v, { ...v, ca: fixture('other-ca.pem') }));
        p.c.handshake();
        move(p.c, p.s);
        p.s.handshake();
        move(p.s, p.c);
        let clientErr: unknown;
        try {
          while (!p.c.handshake()) move(p.s, p.c);
        } catch (e) {
          clientErr = e;
        }
        assert.ok(clientErr instanceof TlsError, String(clientErr));
        assert.match(clientErr.message, /certificate verify failed/);
        // The alert the client queued reaches the server, which fails with it.
        assert.ok(move(p.c, p.s) > 0, 'the client wrote an alert');
        let serverErr: unknown;
        try {
          while (!p.s.handshake()) move(p.c, p.s);
        } catch (e) {
          serverErr = e;
        }
        assert.ok(serverErr instanceof TlsError, String(serverErr));
        assert.match(String(serverErr.alert), /unknown ca|bad certificate|certificate unknown/);
        // Sticky: every later call throws the same error, and nothing more is written.
        for (const [t, err] of [
          [p.c, clientErr],
          [p.s, serverErr],
        ] as const) {
          assert.strictEqual(t.error, err);
          assert.throws(() => t.handshake(), (e) => e === err);
          assert.throws(() => t.read(Buffer.alloc(10), 10), (e) => e === err);
          assert.throws(() => t.write(Buffer.from('x'), 1), (e) => e === err);
          t.close();
          assert.equal(t.tlsPending(), 0);
          assert.equal(t.wantsWrite, false);
        }
      });
    });
  }

  describe('TLS 1.2 renegotiation is refused', () => {
    const v = { minVersion: '1.2', maxVersion: '1.2' } as const;
    /** Lets OpenSSL renegotiate on a session (our contexts forbid it), then asks for it. */
    function renegotiate(t: TlsSession): void {
      const s = o.openssl();
      s.SSL_clear_options(t.ssl, o.SSL_OP_NO_RENEGOTIATION);
      assert.equal(s.SSL_renegotiate(t.ssl), 1);
      // A client's ClientHello leaves it waiting (WANT_READ); a server's HelloRequest is done (1).
      const r = s.SSL_do_handshake(t.ssl);
      assert.ok(r === 1 || s.SSL_get_error(t.ssl, r) === o.SSL_ERROR_WANT_READ, 'the request went out');
      assert.ok(t.tlsPending() > 0);
    }
    /** Lets the requester read the answer; returns OpenSSL's reason for the failure it must end in. */
    function requesterFails(t: TlsSession): string {
      const s = o.openssl();
      const r = s.SSL_read(t.ssl, Buffer.alloc(100), 100);
      assert.equal(s.SSL_get_error(t.ssl, r), o.SSL_ERROR_SSL, 'the renegotiation failed');
      const reasons: string[] = [];
      for (let e = s.ERR_get_error(); e; e = s.ERR_get_error()) reasons.push(s.ERR_reason_error_string(e));
      return reasons.join('; ');
    }

    it('by our client, when the server asks (HelloRequest)', () => {
      const p = track(pair(v, v));
      handshake(p);
      renegotiate(p.s);
      move(p.s, p.c);
      assert.equal(p.c.read(Buffer.alloc(100), 100), ReadResult.WantRead);
      assert.equal(p.c.isHandshaking, false);
      // What went back is a no_renegotiation warning (one small record), not a ClientHello.
      const back = p.c.tlsPending();
      assert.ok(back > 0 && back < 64, `the client answered with ${back} bytes`);
      move(p.c, p.s);
      assert.match(requesterFails(p.s), /no renegotiation/);
    });

    it('by our server, when the client asks (ClientHello)', () => {
      const p = track(pair(v, v));
      handshake(p);
      renegotiate(p.c);
      move(p.c, p.s);
      assert.equal(p.s.read(Buffer.alloc(100), 100), ReadResult.WantRead);
      const back = p.s.tlsPending();
      assert.ok(back > 0 && back < 64, `the server answered with ${back} bytes (an alert, not a ServerHello)`);
      move(p.s, p.c);
      assert.match(requesterFails(p.c), /no renegotiation/);
    });
  });

  describe('TLS 1.3 KeyUpdate', () => {
    const v = { minVersion: '1.3', maxVersion: '1.3' } as const;

    it('updates keys on request; the peer answers with its own before its next data; data flows both ways', () => {
      const p = track(pair(v, v));
      handshake(p);
      assert.equal(p.c.keyUpdate(true), true);
      assert.equal(p.c.wantsWrite, false);
      assert.ok(p.c.tlsPending() > 0, 'the KeyUpdate went out at once');
      move(p.c, p.s);
      assert.equal(readAll(p.s), 0);
      // OpenSSL answers a requested update lazily, right before its next application data (RFC 8446 4.6.3).
      assert.equal(p.s.tlsPending(), 0);
      const { atServer, atClient } = exchange(p, pattern(50_000, 3), pattern(50_000, 4));
      assert.equal(sha(atServer), sha(pattern(50_000, 3)));
      assert.equal(sha(atClient), sha(pattern(50_000, 4)));
      assert.equal(o.openssl().SSL_get_key_update_type(p.s.ssl), o.SSL_KEY_UPDATE_NONE, 'the server sent its answer');
    });

    it('is not available on TLS 1.2', () => {
      const p = track(pair({ maxVersion: '1.2' }, { maxVersion: '1.2' }));
      handshake(p);
      assert.equal(p.c.keyUpdate(true), false);
      assert.equal(p.c.tlsPending(), 0);
    });

    /** Fills the server's outgoing pair with application data nobody has taken yet; returns bytes written. */
    function fill(p: Pair): number {
      const chunk = pattern(16384, 5);
      let written = 0;
      for (;;) {
        const n = p.s.write(chunk, chunk.length);
        written += n;
        if (n < chunk.length) break;
      }
      assert.ok(p.s.tlsPending() > p.s.pairSize - 256, 'the server pair is full (to within a record)');
      return written;
    }

    /** Fills the last bytes with KeyUpdates until one does not fit; returns how many went in. */
    function topUp(p: Pair): number {
      let n = 0;
      while (!p.s.wantsWrite && n < 50) {
        assert.equal(p.s.keyUpdate(false), true);
        n++;
      }
      assert.equal(p.s.wantsWrite, true, 'a KeyUpdate stopped on WANT_WRITE and the session says so');
      assert.equal(p.s.keyUpdate(false), false, 'no second KeyUpdate while one waits');
      return n;
    }

    /** Drains the server into the client until `bytes` of data arrived; returns 'closed' if close_notify came. */
    function drainAll(p: Pair, bytes: number): number | 'closed' {
      let got = 0;
      for (let i = 0; i < 100; i++) {
        move(p.s, p.c);
        const r = readAll(p.c);
        if (r === 'closed') return r;
        got += r;
        if (got >= bytes && p.s.tlsPending() === 0) break;
      }
      return got;
    }

    it('WANT_WRITE with a full pair: a KeyUpdate waits for room, and goes out once the session is driven again', () => {
      const p = track(pair(v, v));
      handshake(p);
      const written = fill(p);
      topUp(p);
      // Draining alone does not write it: nothing but driving the session again does.
      assert.equal(drainAll(p, written), written);
      assert.equal(p.s.tlsPending(), 0);
      assert.equal(p.s.wantsWrite, true);
      // Nor does a write: the KeyUpdate goes first, and this data was not taken (not encrypted).
      assert.equal(p.s.write(Buffer.from('later'), 5), 5);
      assert.equal(p.s.wantsWrite, false, 'writing data first flushed the waiting KeyUpdate');
      assert.ok(p.s.tlsPending() > 5, 'the KeyUpdate went out before the data');
      const got: Buffer[] = [];
      move(p.s, p.c);
      readAll(p.c, got);
      assert.equal(Buffer.concat(got).toString(), 'later');
      // Both sides still agree on keys.
      const { atServer, atClient } = exchange(p, pattern(30_000, 6), pattern(30_000, 7));
      assert.equal(sha(atServer), sha(pattern(30_000, 6)));
      assert.equal(sha(atClient), sha(pattern(30_000, 7)));
    });

    it('WANT_WRITE with a full pair: close_notify (even behind a waiting KeyUpdate) goes out once driven again', () => {
      const p = track(pair(v, v));
      handshake(p);
      const written = fill(p);
      topUp(p);
      p.s.close();
      assert.equal(p.s.wantsWrite, true);
      assert.equal(drainAll(p, written), written);
      assert.equal(p.s.wantsWrite, true, 'still waiting: only driving the session writes it');
      p.s.retryWrites();
      assert.equal(p.s.wantsWrite, false);
      assert.equal(drainAll(p, 0), 'closed', 'the client got close_notify after all the data');
    });
  });

  describe('writes into a full pair', () => {
    it('take only what fits, so close_notify can always follow (no half-written record left in OpenSSL)', () => {
      for (const version of ['1.3', '1.2'] as const) {
        const v = { minVersion: version, maxVersion: version } as const;
        const p = track(pair(v, v));
        handshake(p);
        // An odd size, so the last record straddles the end of the free space.
        const chunk = pattern(10_007, 8);
        let written = 0;
        for (;;) {
          const n = p.s.write(chunk, chunk.length);
          written += n;
          if (n < chunk.length) break;
        }
        p.s.close();
        // However full the pair was, close_notify is either in it or waiting for room.
        for (let i = 0; i < 10 && p.s.wantsWrite; i++) {
          move(p.s, p.c);
          readAll(p.c);
          p.s.retryWrites();
        }
        const got: Buffer[] = [];
        let end: number | 'closed' = 0;
        for (let i = 0; i < 100 && end !== 'closed'; i++) {
          move(p.s, p.c);
          end = readAll(p.c, got);
        }
        assert.equal(end, 'closed', `TLS ${version}: close_notify arrived`);
        assert.equal(Buffer.concat(got).length, written, `TLS ${version}: everything written before it arrived`);
      }
    });
  });
});
