// One behaviour, every backend: the same operations on real loopback sockets must give the same
// completions (tokens, byte counts, Linux errno values) whichever completion port runs them.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { availableBackends, createPort } from '../src/engine/port/index';
import { E } from '../src/engine/port/types';
import * as c from '../native/libc';
import { describeResult, PortHarness } from './helpers/port_harness';

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

for (const backend of availableBackends()) {
  describe(`completion port conformance: ${backend}`, function () {
    this.timeout(15000);
    let h: PortHarness;
    const servers: net.Server[] = [];
    const sockets: net.Socket[] = [];

    beforeEach(() => {
      h = new PortHarness(createPort(backend));
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
  });
}

describe('completion port conformance', () => {
  it('runs for at least one backend on this platform', () => {
    assert.ok(availableBackends().length > 0);
    if (process.platform === 'linux') assert.ok(availableBackends().includes('epoll'));
    if (process.platform === 'win32') assert.deepEqual(availableBackends(), ['iocp']);
  });
});
