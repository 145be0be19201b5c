// One behaviour, every backend: the same operations on real loopback sockets must give the same
// completions (tokens, byte counts, Linux errno values) whichever completion port runs them; and
// the loop on top of each port keeps the engine's promises (large flights, listener close,
// destroy, deadlines, signals, running out of descriptors).
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import * as tls from 'node:tls';
import type { ConnHandler, Connection } from '../src/engine/connection';
import type { IocptlsError } from '../src/engine/errors';
import { ListenerStats, Loop } from '../src/engine/loop';
import { availableBackends } from '../src/engine/port/index';
import { IoUringPort } from '../src/engine/port/io_uring';
import { E } from '../src/engine/port/types';
import { TlsContext, TlsContextOptions } from '../src/engine/tls/context';
import * as c from '../native/libc';
import { bigChain } from './helpers/big_chain';
import { fixture } from './helpers/cli';
import { describeResult, PortHarness } from './helpers/port_harness';
import { portVariants } from './helpers/port_variants';

function remotePort(fd: number): number {
  if (process.platform === 'win32') {
    // Winsock's getpeername; required here so that Linux never loads ws2_32 bindings.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../src/engine/port/win_sockets') as typeof import('../src/engine/port/win_sockets')).peerAddress(fd).port;
  }
  const buf = new Uint8Array(c.SOCKADDR_STORAGE_SIZE);
  assert.equal(c.libc.getpeername(fd, buf, new Uint32Array([buf.length])), 0);
  return c.readSockaddr(buf).port;
}

function pattern(k: number, seed: number): number {
  return (k * 7 + (k >>> 11) + seed * 101) & 255;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

for (const { name, backend, make } of portVariants()) {
  describe(`completion port conformance: ${name}`, function () {
    this.timeout(15000);
    let h: PortHarness;
    const servers: net.Server[] = [];
    const sockets: net.Socket[] = [];

    beforeEach(() => {
      h = new PortHarness(make());
      assert.equal(h.port.backend, backend);
    });
    afterEach(async () => {
      for (const s of sockets.splice(0)) s.destroy();
      await Promise.all(servers.splice(0).map(closeServer));
      await h.dispose();
    });

    async function connectedPair(): Promise<{ client: number; server: number }> {
      const l = h.listener();
      const client = h.socket();
      const ta = h.accept(l.fd);
      const tc = h.connect(client, l.addr);
      const [fd, rc] = await h.wait([ta, tc]);
      assert.ok(fd >= 0, `accept: ${describeResult(fd)}`);
      assert.equal(rc, 0, `connect: ${describeResult(rc)}`);
      return { client, server: h.track(fd) };
    }

    it('accepts, connects, sends, receives, sees EOF and closes', async () => {
      const { client, server } = await connectedPair();
      assert.equal(h.port.localAddress(server).ip, '127.0.0.1');
      const out = h.buffer(5);
      out.view.set(Buffer.from('hello'));
      const inb = h.buffer(64);
      const tr = h.recv(server, inb.ptr, 64);
      const ts = h.send(client, out.ptr, 5);
      assert.deepEqual(await h.wait([tr, ts]), [5, 5]);
      assert.equal(Buffer.from(inb.view.subarray(0, 5)).toString(), 'hello');

      const tcl = h.close(client);
      const teof = h.recv(server, inb.ptr, 64);
      assert.deepEqual(await h.wait([tcl, teof]), [0, 0]);
    });

    it('completes a timeout with -ETIME after its delay', async () => {
      const t0 = performance.now();
      const long = h.timeout(200);
      const short = h.timeout(30);
      assert.deepEqual(await h.wait([short]), [E.ETIME]);
      const elapsed = performance.now() - t0;
      assert.ok(elapsed >= 29 && elapsed < 190, `30 ms timeout fired after ${elapsed.toFixed(1)} ms`);
      assert.ok(h.inflight.has(long), 'the 200 ms timeout must still be pending');
      assert.deepEqual(await h.wait([long]), [E.ETIME]);
      assert.ok(performance.now() - t0 >= 199);
    });

    it('submitAndWait blocks until a completion or its timeout; a fired timeout ends the wait', () => {
      const t0 = performance.now();
      h.port.submitAndWait(1, 40);
      const idle = performance.now() - t0;
      assert.ok(idle >= 39 && idle < 1000, `idle wait of 40 ms took ${idle.toFixed(1)} ms`);
      assert.equal(h.turn(0), 0, 'nothing was posted, nothing completes');

      // io_uring wakes a waiter whenever a TIMEOUT op fires, even short of minComplete: the
      // loop's timers must not be held back by a batch size.
      const a = h.timeout(30);
      const b = h.timeout(400);
      const t1 = performance.now();
      h.port.submitAndWait(2, 5000);
      const woke = performance.now() - t1;
      assert.ok(woke >= 29 && woke < 390, `wait for 2 with a 30 ms timer pending returned after ${woke.toFixed(1)} ms`);
      assert.equal(h.turn(0), 1);
      assert.equal(h.results.get(a), E.ETIME);
      assert.ok(h.inflight.has(b));
    });

    it('queues several operations of one kind on one fd and completes them all', async () => {
      const l = h.listener();
      const accepts = [h.accept(l.fd), h.accept(l.fd), h.accept(l.fd)];
      h.turn(0);
      assert.equal(accepts.filter((t) => h.inflight.has(t)).length, 3);
      const clients = [h.socket(), h.socket(), h.socket()];
      const connects = clients.map((fd) => h.connect(fd, l.addr));
      const res = await h.wait([...accepts, ...connects]);
      const servers = res.slice(0, 3);
      assert.ok(servers.every((fd) => fd >= 0), servers.map(describeResult).join(','));
      servers.forEach((fd) => h.track(fd));
      assert.equal(new Set(servers).size, 3);
      assert.deepEqual(res.slice(3), [0, 0, 0]);

      // Two recvs waiting on one socket; two separate sends feed them.
      const inb = h.buffer(2);
      const out = h.buffer(2);
      out.view.set([7, 9]);
      const r1 = h.recv(clients[0], inb.ptr, 1);
      const r2 = h.recv(clients[0], inb.ptr + 1n, 1);
      h.turn(0);
      assert.ok(h.inflight.has(r1) && h.inflight.has(r2));
      const peer = servers.find((fd) => h.port.localAddress(clients[0]).port === remotePort(fd));
      assert.ok(peer !== undefined);
      assert.deepEqual(await h.wait([h.send(peer, out.ptr, 1)]), [1]);
      await h.run(() => !h.inflight.has(r1) || !h.inflight.has(r2));
      assert.deepEqual(await h.wait([h.send(peer, out.ptr + 1n, 1), r1, r2]), [1, 1, 1]);
      assert.deepEqual([...inb.view].sort(), [7, 9]);
    });

    it('reports a refused connect as -ECONNREFUSED', async () => {
      const l = h.port.openListener('127.0.0.1', 0, 1);
      h.port.closeNow(l.fd); // nothing listens there now
      const fd = h.socket();
      const [res] = await h.wait([h.connect(fd, h.port.sockaddr('127.0.0.1', l.port))]);
      assert.equal(res, E.ECONNREFUSED, describeResult(res));
    });

    it('reports a peer reset as -ECONNRESET on a pending recv', async () => {
      const server = net.createServer((s) => {
        sockets.push(s);
        // Let the client's recv be posted first, then reset.
        setTimeout(() => s.resetAndDestroy(), 20);
      });
      servers.push(server);
      const port = await listen(server);
      const fd = h.socket();
      assert.deepEqual(await h.wait([h.connect(fd, h.port.sockaddr('127.0.0.1', port))]), [0]);
      const buf = h.buffer(256);
      const [res] = await h.wait([h.recv(fd, buf.ptr, 256)]);
      assert.equal(res, E.ECONNRESET, describeResult(res));
    });

    it('cancels a pending recv and a pending timeout; an unknown token gives -ENOENT', async () => {
      const { client, server } = await connectedPair();
      const buf = h.buffer(64);
      const tr = h.recv(server, buf.ptr, 64);
      const tt = h.timeout(10_000);
      h.turn(0);
      assert.ok(h.inflight.has(tr) && h.inflight.has(tt), 'recv and timeout must be pending before the cancel');
      const c1 = h.cancel(tr);
      const c2 = h.cancel(tt);
      const c3 = h.cancel(987_654);
      assert.deepEqual(await h.wait([tr, c1, tt, c2, c3]), [E.ECANCELED, 0, E.ECANCELED, 0, E.ENOENT]);

      // The cancelled recv took nothing: the next one gets the bytes.
      const out = h.buffer(3);
      out.view.set([1, 2, 3]);
      const tr2 = h.recv(server, buf.ptr, 64);
      assert.deepEqual(await h.wait([h.send(client, out.ptr, 3), tr2]), [3, 3]);
      assert.deepEqual([...buf.view.subarray(0, 3)], [1, 2, 3]);
    });

    it('keeps 500 operations in flight and completes each once', async () => {
      const PAIRS = 250;
      const l = h.listener();
      const accepts: number[] = [];
      const connects: number[] = [];
      const clients: number[] = [];
      for (let i = 0; i < PAIRS; i++) {
        accepts.push(h.accept(l.fd));
        const fd = h.socket();
        clients.push(fd);
        connects.push(h.connect(fd, l.addr));
      }
      const results = await h.wait([...accepts, ...connects]);
      const servers = results.slice(0, PAIRS).map((fd) => {
        assert.ok(fd >= 0, `accept: ${describeResult(fd)}`);
        return h.track(fd);
      });
      assert.ok(results.slice(PAIRS).every((r) => r === 0), 'every connect completes 0');

      const all = [...clients, ...servers];
      const inb = h.buffer(all.length);
      inb.view.fill(0);
      const recvs = all.map((fd, i) => h.recv(fd, inb.ptr + BigInt(i), 1));
      h.turn(0);
      assert.equal(recvs.filter((t) => h.inflight.has(t)).length, all.length, 'no recv may complete before data is sent');

      // Every socket sends its peer one byte.
      const out = h.buffer(all.length);
      for (let i = 0; i < all.length; i++) out.view[i] = (i % 251) + 1;
      const sends = all.map((fd, i) => h.send(fd, out.ptr + BigInt(i), 1));
      const res = await h.wait([...recvs, ...sends]);
      assert.ok(res.every((r) => r === 1), `every recv and send moves 1 byte: ${res.filter((r) => r !== 1).map(describeResult).join(',')}`);
      // What a socket received is what its peer sent: the multiset of bytes matches exactly.
      assert.deepEqual([...inb.view].sort((a, b) => a - b), [...out.view].sort((a, b) => a - b));

      const closes = all.map((fd) => h.close(fd));
      assert.ok((await h.wait(closes)).every((r) => r === 0));
    });

    it('exchanges bytes with a Node net server, counted on both sides', async () => {
      const UP = 300_000;
      const DOWN = 200_000;
      const peer = { got: 0, hash: createHash('sha256') };
      const server = net.createServer((s) => {
        sockets.push(s);
        s.on('data', (d) => {
          peer.got += d.length;
          peer.hash.update(d);
        });
        s.on('end', () => s.end(Buffer.alloc(DOWN, 0x5a)));
      });
      servers.push(server);
      const port = await listen(server);
      const fd = h.socket();
      assert.deepEqual(await h.wait([h.connect(fd, h.port.sockaddr('127.0.0.1', port))]), [0]);

      const out = h.buffer(UP);
      for (let k = 0; k < UP; k++) out.view[k] = pattern(k, 1);
      let sent = 0;
      while (sent < UP) {
        const [n] = await h.wait([h.send(fd, out.ptr + BigInt(sent), UP - sent)]);
        assert.ok(n > 0, `send: ${describeResult(n)}`);
        sent += n;
      }
      h.port.shutdownWrite(fd);

      const inb = h.buffer(65536);
      let got = 0;
      for (;;) {
        const [n] = await h.wait([h.recv(fd, inb.ptr, 65536)]);
        assert.ok(n >= 0, `recv: ${describeResult(n)}`);
        if (n === 0) break;
        assert.ok(inb.view.subarray(0, n).every((b) => b === 0x5a));
        got += n;
      }
      assert.equal(got, DOWN);
      assert.equal(peer.got, UP);
      assert.equal(peer.hash.digest('hex'), createHash('sha256').update(out.view).digest('hex'));
    });

    it('serves a Node net client, counted on both sides', async () => {
      const UP = 250_000;
      const DOWN = 150_000;
      const l = h.listener();
      const ta = h.accept(l.fd);
      const clientGot = new Promise<number>((resolve, reject) => {
        const s = net.connect(l.port, '127.0.0.1');
        sockets.push(s);
        let n = 0;
        s.on('connect', () => s.end(Buffer.alloc(UP, 0xa5)));
        s.on('data', (d) => (n += d.length));
        s.on('end', () => resolve(n));
        s.on('error', reject);
      });
      const [fd] = await h.wait([ta]);
      assert.ok(fd >= 0, describeResult(fd));
      h.track(fd);

      const inb = h.buffer(65536);
      let got = 0;
      for (;;) {
        const [n] = await h.wait([h.recv(fd, inb.ptr, 65536)]);
        assert.ok(n >= 0, `recv: ${describeResult(n)}`);
        if (n === 0) break;
        assert.ok(inb.view.subarray(0, n).every((b) => b === 0xa5));
        got += n;
      }
      assert.equal(got, UP);

      const out = h.buffer(DOWN);
      out.view.fill(0x3c);
      let sent = 0;
      while (sent < DOWN) {
        const [n] = await h.wait([h.send(fd, out.ptr + BigInt(sent), DOWN - sent)]);
        assert.ok(n > 0, `send: ${describeResult(n)}`);
        sent += n;
      }
      assert.deepEqual(await h.wait([h.close(fd)]), [0]);
      assert.equal(await clientGot, DOWN);
    });

    it('moves 8 MiB each way at once on one connection, resuming partial sends', async () => {
      const TOTAL = 8 << 20;
      const CHUNK = 65536;
      const { client, server } = await connectedPair();
      const sides = [client, server].map((fd, s) => {
        const out = h.buffer(TOTAL);
        for (let k = 0; k < TOTAL; k++) out.view[k] = pattern(k, s);
        return { fd, seed: s, out, inb: h.buffer(CHUNK), sent: 0, got: 0, sendTok: 0, recvTok: 0, partial: 0, overlap: 0 };
      });
      const postSend = (x: (typeof sides)[number]) => (x.sendTok = h.send(x.fd, x.out.ptr + BigInt(x.sent), TOTAL - x.sent));
      const postRecv = (x: (typeof sides)[number]) => (x.recvTok = h.recv(x.fd, x.inb.ptr, CHUNK));
      for (const x of sides) {
        postSend(x);
        postRecv(x);
      }
      let failure: string | undefined;
      await h.run(
        () => failure !== undefined || sides.every((x) => x.sent === TOTAL && x.got === TOTAL),
        (t, res) => {
          for (const x of sides) {
            const peerSeed = 1 - x.seed;
            if (t === x.sendTok) {
              if (res <= 0) return void (failure = `send: ${describeResult(res)}`);
              if (h.inflight.has(x.recvTok)) x.overlap++;
              x.sent += res;
              if (x.sent < TOTAL) {
                x.partial++;
                postSend(x);
              }
            } else if (t === x.recvTok) {
              if (res <= 0) return void (failure = `recv after ${x.got} bytes: ${describeResult(res)}`);
              for (let i = 0; i < res; i++) {
                if (x.inb.view[i] !== pattern(x.got + i, peerSeed)) return void (failure = `corrupt byte at ${x.got + i}`);
              }
              x.got += res;
              if (x.got < TOTAL) postRecv(x);
            }
          }
        },
        10_000
      );
      assert.equal(failure, undefined);
      for (const x of sides) {
        // Linux behaviour: an overlapped WSASend completes with all its bytes (IOCP never reports a
        // partial send), so on iocp only the data and the overlap are checked.
        if (backend !== 'iocp') assert.ok(x.partial > 0, 'an 8 MiB send on a nonblocking socket must come back partial at least once');
        assert.ok(x.overlap > 0, 'a send and a recv must have been in flight on the same fd together');
      }
    });

    // --- receives whose buffer the port picks (prepRecvSelect), and vectored sends

    /** Receive buffers out of the port's arena beyond what io_uring's provided ring holds. */
    function buffersOut(): number {
      const m = h.port.memory();
      return m.recvBuffers.inUse - (m.ring?.buffers ?? 0);
    }

    it('a select receive pins no buffer while it waits, then names the buffer holding its bytes until released', async () => {
      const { client, server } = await connectedPair();
      const pinned = h.port.recvMode === 'pool' ? 1 : 0; // the fallback gives each receive its buffer up front
      const tr = h.recvSelect(server, 65536);
      h.turn(0);
      assert.ok(h.inflight.has(tr), 'nothing sent yet: the receive waits');
      assert.equal(buffersOut(), pinned, `a waiting ${h.port.recvMode} receive holds ${pinned} buffers`);
      const out = h.buffer(5);
      out.view.set(Buffer.from('hello'));
      assert.deepEqual(await h.wait([h.send(client, out.ptr, 5), tr]), [5, 5]);
      assert.ok(h.selected.has(tr), 'the completion named its buffer');
      assert.equal(buffersOut(), 1, 'the named buffer is out until released');
      assert.equal(h.takeData(tr).toString(), 'hello');
      assert.equal(buffersOut(), 0, 'released');
    });

    it('a select receive takes at most maxLen bytes; the rest waits for the next one', async () => {
      const { client, server } = await connectedPair();
      const out = h.buffer(1000);
      for (let i = 0; i < 1000; i++) out.view[i] = i & 255;
      assert.deepEqual(await h.wait([h.send(client, out.ptr, 1000)]), [1000]);
      const got: Buffer[] = [];
      let total = 0;
      while (total < 1000) {
        const t = h.recvSelect(server, 300);
        const [n] = await h.wait([t]);
        assert.ok(n > 0 && n <= 300, `received ${n}`);
        got.push(h.takeData(t));
        total += n;
      }
      assert.deepEqual(Buffer.concat(got), Buffer.from(out.view));
    });

    /**
     * 250 connected pairs, a select receive waiting on each of the 500 sockets, then two bytes to
     * each at once: every receive gets a buffer of its own (io_uring's provided ring runs dry,
     * retries and grows), and every buffer is back after.
     */
    async function burstOfSelectReceives(): Promise<void> {
      const N = 250;
      const l = h.listener();
      const accepts = Array.from({ length: N }, () => h.accept(l.fd));
      const clients = Array.from({ length: N }, () => h.socket());
      const connects = clients.map((fd) => h.connect(fd, l.addr));
      const res = await h.wait([...accepts, ...connects]);
      const servers = res.slice(0, N).map((fd) => {
        assert.ok(fd >= 0, describeResult(fd));
        return h.track(fd);
      });
      const all = [...clients, ...servers];
      const recvs = all.map((fd) => h.recvSelect(fd, 64));
      h.turn(0);
      assert.equal(recvs.filter((t) => h.inflight.has(t)).length, all.length);
      const pinned = h.port.recvMode === 'pool' ? all.length : 0;
      assert.equal(buffersOut(), pinned, `${all.length} waiting receives hold ${pinned} buffers (${h.port.recvMode})`);
      // Every socket sends its peer two bytes naming itself; no buffer is released until all arrived,
      // so the port must hand out one per receive at once (io_uring: grow its ring past what it held).
      const out = h.buffer(all.length * 2);
      all.forEach((_, i) => ((out.view[2 * i] = i >> 8), (out.view[2 * i + 1] = i & 255)));
      const sends = all.map((fd, i) => h.send(fd, out.ptr + BigInt(2 * i), 2));
      const done = await h.wait([...sends, ...recvs]);
      assert.ok(done.every((r) => r === 2), done.filter((r) => r !== 2).map(describeResult).join(','));
      assert.equal(new Set(recvs.map((t) => h.selected.get(t))).size, all.length, 'each receive named its own buffer');
      assert.equal(buffersOut(), all.length);
      // A socket receives what its peer sent: the peer of client i is server i's counterpart, so
      // compare multisets of the two-byte names.
      const names = recvs.map((t) => h.takeData(t).readUInt16BE(0)).sort((a, b) => a - b);
      assert.deepEqual(names, all.map((_, i) => i));
      assert.equal(buffersOut(), 0, 'every buffer is back');
      const ring = h.port.memory().ring;
      if (ring) assert.ok(ring.retries > 0 && ring.target > 16, `the ring ran dry, retried and grew: ${JSON.stringify(ring)}`);
    }

    it('500 select receives waiting at once pin nothing; data on all of them gets a buffer each, all returned after', async () => {
      await burstOfSelectReceives();
      // With load gone, trim hands back what was only needed at the peak.
      const before = h.port.memory().recvBuffers.allocated;
      h.port.trim(true);
      h.port.trim(true); // the first trim resets the high-water mark to what is in use now
      const after = h.port.memory();
      assert.ok(after.recvBuffers.allocated < before, `trim gave back buffers: ${before} -> ${after.recvBuffers.allocated}`);
      if (after.ring) assert.equal(after.ring.buffers, after.ring.target, 'the ring is back at its target');
    });

    it('after a burst, quiet upkeeps (no discard) bring io_uring\'s provided ring back to its minimum, whatever size it grew to', async function () {
      if (h.port.recvMode !== 'provided') this.skip(); // only io_uring's provided ring grows
      await burstOfSelectReceives();
      const states: string[] = [];
      for (let i = 0; i < 12; i++) {
        h.port.trim(false);
        const r = h.port.memory().ring!;
        states.push(`${r.buffers}/${r.target}`);
        assert.ok(r.buffers <= 2 * r.target, `ring buffers/target after each quiet trim: ${states.join(' ')}`);
      }
      const end = h.port.memory().ring!;
      h.port.trim(false);
      assert.equal(h.port.memory().ring!.target, end.target, `the target has reached its minimum: ${states.join(' ')}`);
      assert.equal(end.buffers, end.target, `the ring holds its minimum, not up to twice it: ${states.join(' ')}`);
    });

    it('EOF, a reset and a cancel complete a select receive with no buffer', async () => {
      const { client, server } = await connectedPair();
      const tc = h.recvSelect(server, 1024);
      h.turn(0);
      const [cres, cc] = await h.wait([tc, h.cancel(tc)]);
      assert.deepEqual([cres, cc], [E.ECANCELED, 0]);
      assert.ok(!h.selected.has(tc));
      const teof = h.recvSelect(server, 1024);
      const [eof, closed] = await h.wait([teof, h.close(client)]);
      assert.deepEqual([eof, closed], [0, 0]);
      assert.ok(!h.selected.has(teof));
      assert.equal(buffersOut(), 0);

      const peer = net.createServer((s) => {
        sockets.push(s);
        setTimeout(() => s.resetAndDestroy(), 20);
      });
      servers.push(peer);
      const port = await listen(peer);
      const fd = h.socket();
      assert.deepEqual(await h.wait([h.connect(fd, h.port.sockaddr('127.0.0.1', port))]), [0]);
      const tr = h.recvSelect(fd, 1024);
      const [reset] = await h.wait([tr]);
      assert.equal(reset, E.ECONNRESET, describeResult(reset));
      assert.ok(!h.selected.has(tr));
      assert.equal(buffersOut(), 0);
    });

    it('a vectored send carries two regions in order, as one send; a large one may come back partial', async () => {
      const { client, server } = await connectedPair();
      const a = h.buffer(3);
      const b = h.buffer(4);
      a.view.set(Buffer.from('abc'));
      b.view.set(Buffer.from('defg'));
      const tr = h.recvSelect(server, 64);
      assert.deepEqual(await h.wait([h.sendv(client, a.ptr, 3, b.ptr, 4), tr]), [7, 7]);
      assert.equal(h.takeData(tr).toString(), 'abcdefg');

      // 2 x 4 MiB: a nonblocking socket takes part of it; the rest goes in later sends.
      const HALF = 4 << 20;
      const big = h.buffer(2 * HALF);
      for (let k = 0; k < 2 * HALF; k++) big.view[k] = pattern(k, 3);
      let sent = 0;
      let got = 0;
      let sendTok = h.sendv(client, big.ptr, HALF, big.ptr + BigInt(HALF), HALF);
      let recvTok = h.recvSelect(server, 65536);
      let failure: string | undefined;
      await h.run(
        () => failure !== undefined || (sent === 2 * HALF && got === 2 * HALF),
        (t, res) => {
          if (t === sendTok) {
            if (res <= 0) return void (failure = `send: ${describeResult(res)}`);
            sent += res;
            if (sent < 2 * HALF) {
              // Resume where it stopped: a plain send for what is left of either region.
              sendTok = sent < HALF ? h.sendv(client, big.ptr + BigInt(sent), HALF - sent, big.ptr + BigInt(HALF), HALF) : h.send(client, big.ptr + BigInt(sent), 2 * HALF - sent);
            }
          } else if (t === recvTok) {
            if (res <= 0) return void (failure = `recv: ${describeResult(res)}`);
            const data = h.takeData(t);
            for (let i = 0; i < data.length; i++) if (data[i] !== pattern(got + i, 3)) return void (failure = `corrupt byte at ${got + i}`);
            got += data.length;
            if (got < 2 * HALF) recvTok = h.recvSelect(server, 65536);
          }
        },
        20_000
      );
      assert.equal(failure, undefined);
      assert.equal(got, 2 * HALF);
    });
  });
}

// The loop on each backend: what the engine promises above the port, on real sockets.
for (const { name, backend, make } of portVariants()) {
  describe(`the loop on ${name}`, function () {
    this.timeout(60_000);
    const cleanup: (() => void | Promise<void>)[] = [];
    afterEach(async () => {
      for (const f of cleanup.splice(0).reverse()) await f();
    });

    function newLoop(): Loop {
      const loop = new Loop(make());
      cleanup.push(() => void loop.destroy());
      return loop;
    }

    /** Turns the loop (yielding to Node between turns) until done() or the deadline. */
    async function until(loop: Loop, done: () => boolean, ms = 20_000): Promise<void> {
      const end = performance.now() + ms;
      await loop.runAsync(() => done() || performance.now() > end, 5);
    }

    function serverContext(o: Partial<TlsContextOptions> = {}): TlsContext {
      const ctx = new TlsContext({ role: 'server', certs: [{ cert: fixture('localhost.pem'), key: fixture('localhost.key') }], ...o });
      cleanup.push(() => ctx.free());
      return ctx;
    }
    function clientContext(o: Partial<TlsContextOptions> = {}): TlsContext {
      const ctx = new TlsContext({ role: 'client', verify: false, ...o });
      cleanup.push(() => ctx.free());
      return ctx;
    }

    it('carries handshake flights larger than the BIO pair both ways, and refills a blocked writer while a send is in flight', async () => {
      const chain = bigChain(200);
      cleanup.push(() => chain.remove());
      const sctx = serverContext({ certs: [{ cert: chain.certPath, key: chain.keyPath }], clientAuth: 'require', clientCa: chain.rootPath });
      const cctx = clientContext({ verify: true, ca: chain.rootPath, certs: [{ cert: chain.clientCertPath, key: chain.clientKeyPath }] });
      const loop = newLoop();
      const l = loop.port.openListener('127.0.0.1', 0, 64);
      const TOTAL = 4 << 20;
      const chunk = Buffer.alloc(16384, 0x5a);
      interface Side { chain: number; sent: number; got: number; drains: number; drainsWithSendInFlight: number; error?: Error; closed: boolean }
      const side = (): Side => ({ chain: 0, sent: 0, got: 0, drains: 0, drainsWithSendInFlight: 0, closed: false });
      const server = side();
      const client = side();
      // Each side writes TOTAL bytes as fast as it is allowed and counts what it receives.
      const app = (st: Side): ConnHandler => {
        const fill = (c: Connection) => {
          while (st.sent < TOTAL && c.open) {
            const want = Math.min(chunk.length, TOTAL - st.sent);
            const n = c.write(chunk, want);
            st.sent += n;
            if (n < want) return;
          }
        };
        return {
          onHandshake: (c) => {
            st.chain = c.session.peerChainDer().length;
            fill(c);
          },
          onDrain: (c) => {
            st.drains++;
            if (c.sendInFlight > 0) st.drainsWithSendInFlight++;
            fill(c);
          },
          onData: (_c, _d, _p, n) => void (st.got += n),
          onPeerClose: (c) => c.close('notify'),
          onClose: (_c, err) => {
            st.closed = true;
            st.error = err;
          },
        };
      };
      loop.listen(l.fd, sctx, () => app(server), { depth: 4, handshakeTimeoutMs: 20_000 });
      const conn = loop.connect(loop.port.sockaddr('127.0.0.1', l.port), {
        context: cctx,
        servername: 'localhost',
        verifyHost: 'localhost',
        handler: app(client),
        timeoutMs: 20_000,
      });
      const done = () => server.closed || client.closed || (server.got === TOTAL && client.got === TOTAL);
      await until(loop, done, 40_000);
      assert.equal(client.error, undefined, String(client.error));
      assert.equal(server.error, undefined, String(server.error));
      assert.equal(client.chain, chain.count, 'the client received the whole server chain');
      assert.equal(server.chain, chain.count, 'the server received the whole client chain');
      assert.deepEqual([client.got, server.got], [TOTAL, TOTAL]);
      // The writer was refilled below the low-water mark while the next send was already out.
      assert.ok(client.drainsWithSendInFlight + server.drainsWithSendInFlight > 0, JSON.stringify({ client, server }));
      conn.close('notify');
      await until(loop, () => server.closed && client.closed);
      assert.deepEqual([client.error, server.error], [undefined, undefined]);
      loop.closeListeners();
      await until(loop, () => loop.pendingOps === 0);
      assert.equal(loop.pendingOps, 0);
    });

    it('closing a listener cancels every accept in flight and closes its socket: no fd, no pending operation', async () => {
      const loop = newLoop();
      const l = loop.port.openListener('127.0.0.1', 0, 64);
      const idx = loop.listen(l.fd, serverContext(), () => ({}), { depth: 8 });
      for (let i = 0; i < 3; i++) loop.turn(0);
      loop.closeListeners();
      await until(loop, () => loop.pendingOps === 0, 3000);
      // Nothing listens there any more: a connect is refused (it would queue in the backlog otherwise).
      const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        const s = net.connect(l.port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(undefined)));
        s.once('error', resolve);
      });
      assert.equal(err?.code, 'ECONNREFUSED', 'the listening socket was closed');
      const st = loop.listenerStats(idx);
      assert.equal(st.acceptsInFlight, 0);
      assert.equal(loop.pendingOps, 0, 'every accept completed');
      assert.equal(st.listening, false);
      assert.equal(st.accepted, 0);
    });

    it('destroy() resets what is left, waits for every operation the kernel owns, then frees', async () => {
      // A peer that never answers: our ClientHello sits there, a receive stays in flight.
      let peerClosed = false;
      let peerGot = 0;
      const peer = net.createServer((s) => {
        s.on('data', (d) => (peerGot += d.length));
        s.on('error', () => {});
        s.on('close', () => (peerClosed = true));
      });
      const port = await listen(peer);
      cleanup.push(() => closeServer(peer));
      const loop = new Loop(make());
      const l = loop.port.openListener('127.0.0.1', 0, 64);
      loop.listen(l.fd, serverContext(), () => ({}), { depth: 4 });
      let closedWith: IocptlsError | undefined;
      let closed = false;
      loop.connect(loop.port.sockaddr('127.0.0.1', port), {
        context: clientContext(),
        handler: { onClose: (_c, e) => ((closed = true), (closedWith = e)) },
      });
      cleanup.push(() => void loop.destroy()); // idempotent: this test destroys it itself
      await until(loop, () => peerGot > 0);
      assert.ok(loop.conns.some((c) => c?.recvInFlight), 'a receive is in flight');
      // ... and pins no buffer while it waits, unless the port has to give each receive its own.
      assert.equal(loop.recvBuffersInUse, loop.port.recvMode === 'pool' ? 1 : 0);
      const pendingBefore = loop.pendingOps;
      const report = loop.destroy();
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('the peer never saw the socket close')), 5000);
        const check = () => (peerClosed ? (clearTimeout(t), resolve()) : setTimeout(check, 10));
        check();
      });
      assert.equal(closed, true, 'the connection was closed (its handler heard of it)');
      assert.equal(closedWith, undefined);
      assert.ok(pendingBefore >= 5, `a receive and the accepts were in flight (${pendingBefore})`);
      assert.deepEqual(report, { pendingOps: 0, leakedBuffers: 0, leakedBytes: 0 });
    });

    it('fails a connection at its deadline through the timer heap, and leaves no timer behind', async () => {
      const silent = net.createServer((s) => s.on('error', () => {}));
      const port = await listen(silent);
      cleanup.push(() => closeServer(silent));
      const loop = newLoop();
      let err: IocptlsError | undefined;
      let closed = false;
      const t0 = performance.now();
      loop.connect(loop.port.sockaddr('127.0.0.1', port), {
        context: clientContext(),
        timeoutMs: 150,
        handler: { onClose: (_c, e) => ((closed = true), (err = e)) },
      });
      assert.equal(loop.timerCount, 1, 'the deadline is one timer');
      await until(loop, () => closed);
      assert.ok(performance.now() - t0 >= 149);
      assert.equal(err?.reason, 'timeout');
      assert.match(String(err?.message), /handshake timeout after \d+ ms/);
      assert.equal(loop.timerCount, 0);
    });

    it('closes an idle connection once its idle timeout passes without activity', async () => {
      const loop = newLoop();
      const l = loop.port.openListener('127.0.0.1', 0, 64);
      let serverClosed = false;
      loop.listen(l.fd, serverContext(), () => ({ onClose: () => void (serverClosed = true) }), { depth: 2, idleTimeoutMs: 200 });
      let ended = false;
      let handshaken = 0;
      const t0 = performance.now();
      const s = tls.connect({ port: l.port, host: '127.0.0.1', rejectUnauthorized: false }, () => (handshaken = performance.now()));
      s.on('error', () => {});
      s.on('end', () => {
        ended = true;
        s.end();
      });
      cleanup.push(() => void s.destroy());
      await until(loop, () => serverClosed && ended, 10_000);
      assert.ok(handshaken > t0);
      assert.ok(performance.now() - handshaken >= 199, 'not before the idle timeout');
      assert.equal(loop.timerCount, 0);
    });

    it('a signal every 20 ms does not stretch a 200 ms wait (EINTR goes back to the loop, which waits for what is left)', async function () {
      if (process.platform === 'win32') this.skip();
      const onSignal = () => {};
      process.on('SIGUSR2', onSignal);
      cleanup.push(() => void process.off('SIGUSR2', onSignal));
      // Another process sends the signals, for 3 s at most.
      const sender = spawn(
        process.execPath,
        ['-e', `let n = 0; const t = setInterval(() => { try { process.kill(${process.pid}, 'SIGUSR2'); } catch {} if (++n >= 150) clearInterval(t); }, 20); console.log('ready');`],
        { stdio: ['ignore', 'pipe', 'inherit'] }
      );
      cleanup.push(() => void sender.kill());
      await new Promise<void>((resolve) => sender.stdout!.once('data', () => resolve()));
      await new Promise<void>((resolve) => setTimeout(resolve, 60)); // signals are arriving
      const loop = newLoop();
      const t0 = performance.now();
      let firedAt = 0;
      loop.setTimer(t0 + 200, () => (firedAt = performance.now()));
      loop.run(() => firedAt > 0 || performance.now() - t0 > 6000, 1000);
      const took = (firedAt || performance.now()) - t0;
      assert.ok(firedAt > 0, `the timer never fired (${took.toFixed(0)} ms)`);
      assert.ok(took >= 199 && took < 1500, `a 200 ms timer fired after ${took.toFixed(0)} ms`);
      if (backend === 'io_uring') assert.ok((loop.port as IoUringPort).interrupts > 0, 'signals did interrupt the wait');
    });

    it('backs off when out of descriptors (EMFILE) instead of spinning, counts it, and serves everyone once they are free', async function () {
      if (process.platform !== 'linux') this.skip(); // RLIMIT_NOFILE
      const CLIENTS = 40;
      const loop = newLoop();
      const l = loop.port.openListener('127.0.0.1', 0, 256);
      cleanup.push(() => void loop.closeListeners());
      const idx = loop.listen(l.fd, serverContext(), () => ({}), { depth: 8 });
      // Plain TCP clients in another process (their descriptors are not ours); they connect on 'go'.
      const clients = spawn(
        process.execPath,
        [
          '-e',
          `const net = require('net'); const socks = [];
           process.stdin.once('data', () => { for (let i = 0; i < ${CLIENTS}; i++) { const s = net.connect(${l.port}, '127.0.0.1'); s.on('error', () => {}); socks.push(s); } });
           console.log('ready');`,
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] }
      );
      cleanup.push(() => void clients.kill());
      await new Promise<void>((resolve) => clients.stdout!.once('data', () => resolve()));
      // Room for four more descriptors in this process: the limit sits just above the fourth free number.
      const [soft] = c.fileLimit();
      const open = new Set(fs.readdirSync('/proc/self/fd').map(Number));
      let limit = 0;
      for (let free = 0; free < 4; limit++) if (!open.has(limit)) free++;
      let st: ListenerStats;
      let cpuMs: number;
      c.setFileLimit(limit);
      try {
        clients.stdin!.write('go\n');
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        // One second of loop while the listen queue holds clients we cannot accept.
        loop.run(() => performance.now() - t0 > 1000, 20);
        const cpu = process.cpuUsage(cpu0);
        cpuMs = (cpu.user + cpu.system) / 1000;
        st = loop.listenerStats(idx);
      } finally {
        c.setFileLimit(soft);
      }
      assert.ok(st.accepted < CLIENTS, `accepted ${st.accepted}`);
      assert.ok((st.acceptErrors.EMFILE ?? 0) >= 1, `accept errors: ${JSON.stringify(st.acceptErrors)}`);
      assert.ok(st.acceptErrorsTotal < 200, `${st.acceptErrorsTotal} failed accepts in 1 s: the loop spun`);
      assert.ok(st.acceptPauses >= 1);
      assert.ok(cpuMs < 500, `${cpuMs.toFixed(0)} ms of CPU in 1 s: the loop spun`);
      // Descriptors are back: within a few backoff periods, everyone queued is accepted.
      await until(loop, () => loop.listenerStats(idx).accepted >= CLIENTS, 10_000);
      assert.equal(loop.listenerStats(idx).accepted, CLIENTS);
    });
  });
}

describe('completion port conformance', () => {
  it('runs for at least one backend on this platform', () => {
    assert.ok(availableBackends().length > 0);
    if (process.platform === 'linux') assert.ok(availableBackends().includes('epoll'));
    if (process.platform === 'win32') assert.deepEqual(availableBackends(), ['iocp']);
  });
});
