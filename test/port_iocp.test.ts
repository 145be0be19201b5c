// The IOCP completion port on real loopback sockets (Windows; on Linux run it under Wine with
// `npm run test:windows`). Each case runs with and without FILE_SKIP_COMPLETION_PORT_ON_SUCCESS,
// since the two modes report immediate results through different paths.
import assert from 'node:assert/strict';
import koffi from 'koffi';
import * as w from '../native/win32';
import type { IocpPort as IocpPortType, IocpOptions } from '../src/engine/port/iocp';
import { E, errorName } from '../src/engine/port/types';

const onWindows = process.platform === 'win32';

/** Drives one port: checks that every token completes exactly once, and owns buffers and sockets. */
class Loop {
  readonly port: IocpPortType;
  readonly inflight = new Set<number>();
  readonly results = new Map<number, number>();
  #next = 1;
  #tok = new Uint32Array(64);
  #res = new Int32Array(64);
  #bufIds = new Uint32Array(64);
  #fds = new Set<number>();
  #bufs: Array<[bigint, number]> = [];

  constructor(opts: IocpOptions) {
    // Required here, not imported above: Linux must not load kernel32 bindings.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { IocpPort } = require('../src/engine/port/iocp') as typeof import('../src/engine/port/iocp');
    this.port = new IocpPort(opts);
  }

  post(fn: (token: number) => void): number {
    const t = this.#next++;
    this.inflight.add(t);
    fn(t);
    return t;
  }
  track(fd: number): number {
    this.#fds.add(fd);
    return fd;
  }
  forget(fd: number): void {
    this.#fds.delete(fd);
  }

  buffer(len: number): { ptr: bigint; view: Uint8Array } {
    const ptr = w.win32().VirtualAlloc(null, len, w.MEM_COMMIT | w.MEM_RESERVE, w.PAGE_READWRITE) as bigint;
    assert.ok(ptr, 'VirtualAlloc');
    this.#bufs.push([ptr, len]);
    return { ptr, view: new Uint8Array(koffi.view(ptr, len)) };
  }

  /** One turn: wait up to waitMs for at least one completion, record everything ready. */
  turn(waitMs: number): number {
    this.port.submitAndWait(1, waitMs);
    let total = 0;
    for (;;) {
      const n = this.port.reap(this.#tok, this.#res, this.#bufIds);
      for (let i = 0; i < n; i++) {
        const t = this.#tok[i];
        assert.ok(this.inflight.has(t), `token ${t} completed (${this.#res[i]}) but was not in flight`);
        this.inflight.delete(t);
        this.results.set(t, this.#res[i]);
      }
      total += n;
      if (n < this.#tok.length) return total;
    }
  }

  wait(tokens: number[], timeoutMs = 5000): number[] {
    const deadline = Date.now() + timeoutMs;
    while (!tokens.every((t) => this.results.has(t))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${tokens.filter((t) => !this.results.has(t)).join(',')}`);
      this.turn(50);
    }
    return tokens.map((t) => this.results.get(t)!);
  }

  /** A connected pair over 127.0.0.1: [client, server]. */
  pair(): [number, number] {
    const l = this.port.openListener('127.0.0.1', 0, 16);
    this.track(l.fd);
    const c = this.track(this.port.openSocket(4));
    const a = this.post((t) => this.port.prepAccept(l.fd, t));
    const k = this.post((t) => this.port.prepConnect(c, this.port.sockaddr('127.0.0.1', l.port), t));
    const [s, r] = this.wait([a, k]);
    assert.ok(s > 0, `accept: ${res(s)}`);
    assert.equal(r, 0, `connect: ${res(r)}`);
    return [c, this.track(s)];
  }

  dispose(): void {
    for (const t of [...this.inflight]) this.post((c) => this.port.prepCancel(t, c));
    this.wait([...this.inflight], 2000);
    for (const fd of this.#fds) this.port.closeNow(fd);
    this.port.close();
    for (const [p] of this.#bufs) w.win32().VirtualFree(p, 0, w.MEM_RELEASE);
  }
}

function res(r: number): string {
  return r >= 0 ? String(r) : `${errorName(r)} (${r})`;
}

(onWindows ? describe : describe.skip)('IOCP completion port', function () {
  for (const skipOnSuccess of [true, false]) {
    describe(skipOnSuccess ? 'skip-on-success mode' : 'every completion through the port', () => {
      let loop: Loop;
      beforeEach(() => {
        loop = new Loop({ skipOnSuccess });
      });
      afterEach(() => loop.dispose());

      it('accepts, connects, and moves bytes both ways', () => {
        const [c, s] = loop.pair();
        const out = loop.buffer(4096);
        const inb = loop.buffer(4096);
        out.view.set(Buffer.from('hello from the client'));
        const rt = loop.post((t) => loop.port.prepRecv(s, inb.ptr, 4096, t));
        const st = loop.post((t) => loop.port.prepSend(c, out.ptr, 21, t));
        assert.deepEqual(loop.wait([st, rt]), [21, 21]);
        assert.equal(Buffer.from(inb.view.subarray(0, 21)).toString(), 'hello from the client');
        const back = loop.post((t) => loop.port.prepRecv(c, inb.ptr, 4096, t));
        const st2 = loop.post((t) => loop.port.prepSend(s, out.ptr, 5, t));
        assert.deepEqual(loop.wait([st2, back]), [5, 5]);
      });

      it('reports local and peer-visible addresses of accepted and connected sockets', () => {
        const [c, s] = loop.pair();
        const ca = loop.port.localAddress(c);
        const sa = loop.port.localAddress(s);
        assert.equal(ca.ip, '127.0.0.1');
        assert.equal(sa.ip, '127.0.0.1');
        assert.ok(ca.port > 0 && sa.port > 0);
        assert.notEqual(ca.port, sa.port);
      });

      it('completes a receive with 0 when the peer shuts down or closes', () => {
        const [c, s] = loop.pair();
        const b = loop.buffer(1024);
        const r1 = loop.post((t) => loop.port.prepRecv(s, b.ptr, 1024, t));
        loop.port.shutdownWrite(c);
        assert.deepEqual(loop.wait([r1]), [0]);
        const r2 = loop.post((t) => loop.port.prepRecv(c, b.ptr, 1024, t));
        loop.forget(s);
        const cl = loop.post((t) => loop.port.prepClose(s, t));
        assert.deepEqual(loop.wait([cl, r2]), [0, 0]);
      });

      it('reports a reset as -ECONNRESET', () => {
        const [c, s] = loop.pair();
        const b = loop.buffer(1024);
        const r = loop.post((t) => loop.port.prepRecv(c, b.ptr, 1024, t));
        loop.port.setLingerZero(s);
        loop.forget(s);
        loop.port.closeNow(s);
        assert.deepEqual(loop.wait([r]).map(res), [res(E.ECONNRESET)]);
      });

      it('reports a refused connect as -ECONNREFUSED', () => {
        // A port that was just listening and is now closed: nothing answers on it.
        const l = loop.port.openListener('127.0.0.1', 0, 1);
        loop.port.closeNow(l.fd);
        const c = loop.track(loop.port.openSocket(4));
        const k = loop.post((t) => loop.port.prepConnect(c, loop.port.sockaddr('127.0.0.1', l.port), t));
        assert.deepEqual(loop.wait([k]).map(res), [res(E.ECONNREFUSED)]);
      });

      it('fires timeouts with -ETIME, in deadline order, not early', () => {
        const t0 = performance.now();
        const late = loop.post((t) => loop.port.prepTimeout(120, t));
        const early = loop.post((t) => loop.port.prepTimeout(40, t));
        const order: number[] = [];
        while (order.length < 2) {
          loop.turn(500);
          for (const t of [early, late]) if (loop.results.has(t) && !order.includes(t)) order.push(t);
          if (order.length === 1) assert.ok(performance.now() - t0 >= 39, 'first timer fired early');
        }
        assert.deepEqual(order, [early, late]);
        assert.ok(performance.now() - t0 >= 119, 'second timer fired early');
        assert.deepEqual([loop.results.get(early), loop.results.get(late)], [E.ETIME, E.ETIME]);
      });

      it('returns from submitAndWait after its timeout when nothing completes', () => {
        const t0 = performance.now();
        loop.port.submitAndWait(1, 60);
        const dt = performance.now() - t0;
        assert.ok(dt >= 55 && dt < 1000, `waited ${dt} ms`);
        assert.equal(loop.port.reap(new Uint32Array(4), new Int32Array(4), new Uint32Array(4)), 0);
      });

      it('cancels a receive (-ECANCELED, cancel 0), a timer, an accept, and reports unknown targets as -ENOENT', () => {
        const [c] = loop.pair();
        const b = loop.buffer(1024);
        const r = loop.post((t) => loop.port.prepRecv(c, b.ptr, 1024, t));
        const cr = loop.post((t) => loop.port.prepCancel(r, t));
        assert.deepEqual(loop.wait([r, cr]).map(res), [res(E.ECANCELED), '0']);

        const tm = loop.post((t) => loop.port.prepTimeout(10_000, t));
        const ct = loop.post((t) => loop.port.prepCancel(tm, t));
        assert.deepEqual(loop.wait([tm, ct]).map(res), [res(E.ECANCELED), '0']);

        const l = loop.port.openListener('127.0.0.1', 0, 4);
        loop.track(l.fd);
        const a = loop.post((t) => loop.port.prepAccept(l.fd, t));
        const ca = loop.post((t) => loop.port.prepCancel(a, t));
        assert.deepEqual(loop.wait([a, ca]).map(res), [res(E.ECANCELED), '0']);

        const none = loop.post((t) => loop.port.prepCancel(999_999, t));
        assert.deepEqual(loop.wait([none]).map(res), [res(E.ENOENT)]);
        // A target that already completed is gone too.
        const again = loop.post((t) => loop.port.prepCancel(r, t));
        assert.deepEqual(loop.wait([again]).map(res), [res(E.ENOENT)]);
      });

      it('closes a socket with a receive in flight: close completes 0, the receive -ECANCELED', () => {
        const [c] = loop.pair();
        const b = loop.buffer(1024);
        const r = loop.post((t) => loop.port.prepRecv(c, b.ptr, 1024, t));
        loop.forget(c);
        const cl = loop.post((t) => loop.port.prepClose(c, t));
        assert.deepEqual(loop.wait([cl, r]).map(res), ['0', res(E.ECANCELED)]);
      });

      it('reports operations on a closed socket as errors, not hangs', () => {
        const c = loop.port.openSocket(4);
        loop.port.closeNow(c);
        const b = loop.buffer(64);
        const r = loop.post((t) => loop.port.prepRecv(c, b.ptr, 64, t));
        const [v] = loop.wait([r]);
        assert.ok(v < 0, `recv on a closed socket: ${res(v)}`);
      });

      it('sends 4 MiB in one operation and receives all of it', () => {
        const [c, s] = loop.pair();
        const size = 4 << 20;
        const out = loop.buffer(size);
        for (let i = 0; i < size; i++) out.view[i] = (i * 7) & 0xff;
        const inb = loop.buffer(65536);
        const st = loop.post((t) => loop.port.prepSend(c, out.ptr, size, t));
        let got = 0;
        let bad = -1;
        while (got < size) {
          const [n] = loop.wait([loop.post((t) => loop.port.prepRecv(s, inb.ptr, 65536, t))]);
          assert.ok(n > 0, `recv: ${res(n)}`);
          for (let i = 0; i < n && bad < 0; i++) if (inb.view[i] !== (((got + i) * 7) & 0xff)) bad = got + i;
          got += n;
        }
        assert.equal(bad, -1, `byte ${bad} differs`);
        assert.deepEqual(loop.wait([st]), [size]);
      });

      it('keeps hundreds of operations in flight and matches every completion to its token', () => {
        const N = 300;
        const l = loop.port.openListener('127.0.0.1', 0, 512);
        loop.track(l.fd);
        const addr = loop.port.sockaddr('127.0.0.1', l.port);
        const accepts = Array.from({ length: N }, () => loop.post((t) => loop.port.prepAccept(l.fd, t)));
        const clients = Array.from({ length: N }, () => loop.track(loop.port.openSocket(4)));
        const connects = clients.map((c) => loop.post((t) => loop.port.prepConnect(c, addr, t)));
        const servers = loop.wait([...accepts, ...connects], 20_000).slice(0, N);
        for (const s of servers) assert.ok(s > 0, `accept: ${res(s)}`);
        servers.forEach((s) => loop.track(s));
        assert.equal(new Set(servers).size, N, 'accepted sockets are distinct');

        // Each server receives into its own slice, then every client sends its index.
        const rx = loop.buffer(N * 8);
        const tx = loop.buffer(N * 8);
        const recvs = servers.map((s, i) => loop.post((t) => loop.port.prepRecv(s, rx.ptr + BigInt(i * 8), 8, t)));
        const txv = new DataView(tx.view.buffer);
        clients.forEach((_, i) => txv.setUint32(i * 8, 0xc0de0000 + i, true));
        const sends = clients.map((c, i) => loop.post((t) => loop.port.prepSend(c, tx.ptr + BigInt(i * 8), 4, t)));
        const timers = Array.from({ length: 50 }, (_, i) => loop.post((t) => loop.port.prepTimeout(1 + (i % 10), t)));
        const all = loop.wait([...sends, ...recvs, ...timers], 20_000);
        assert.ok(all.slice(0, N).every((n) => n === 4), 'every send wrote 4 bytes');
        assert.ok(all.slice(N, 2 * N).every((n) => n === 4), 'every recv read 4 bytes');
        assert.ok(all.slice(2 * N).every((n) => n === E.ETIME));
        // Which client landed on which accepted socket is up to the kernel; the set must be exact.
        const rxv = new DataView(rx.view.buffer);
        const seen = new Set(servers.map((_, i) => rxv.getUint32(i * 8, true) - 0xc0de0000));
        assert.equal(seen.size, N);
        assert.ok([...seen].every((i) => i >= 0 && i < N));
        assert.equal(loop.inflight.size, 0);
      });

      it('is woken by PostQueuedCompletionStatus without a completion', () => {
        loop.port.wake();
        const t0 = performance.now();
        loop.port.submitAndWait(1, 5000);
        assert.ok(performance.now() - t0 < 1000);
      });
    });
  }

  it('runs a port per worker thread, each with its own bindings', async () => {
    // Workers play the role of the IOCP thread pool: one port each, nothing shared.
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { IocpPort } = require(workerData);
      const p = new IocpPort();
      const l = p.openListener('127.0.0.1', 0, 4);
      const c = p.openSocket(4);
      p.prepAccept(l.fd, 1);
      p.prepConnect(c, p.sockaddr('127.0.0.1', l.port), 2);
      p.prepTimeout(20, 3);
      const tok = new Uint32Array(8), res = new Int32Array(8), got = {};
      const end = Date.now() + 5000;
      while (Object.keys(got).length < 3 && Date.now() < end) {
        p.submitAndWait(1, 100);
        const n = p.reap(tok, res, new Uint32Array(8));
        for (let i = 0; i < n; i++) got[tok[i]] = res[i];
      }
      p.closeNow(got[1]); p.closeNow(c); p.closeNow(l.fd); p.close();
      parentPort.postMessage(got);`;
    const { Worker } = await import('node:worker_threads');
    const runOne = () =>
      new Promise<Record<string, number>>((resolve, reject) => {
        const wk = new Worker(code, { eval: true, workerData: require.resolve('../src/engine/port/iocp') });
        wk.once('message', resolve);
        wk.once('error', reject);
      });
    const results = await Promise.all([runOne(), runOne(), runOne()]);
    for (const r of results) {
      assert.ok(r[1] > 0, `accept in worker: ${res(r[1])}`);
      assert.deepEqual([r[2], r[3]], [0, E.ETIME]);
    }
  });

  it('maps Windows errors to negative Linux errno values', () => {
    assert.equal(w.errnoFromWin32(w.WSAECONNREFUSED), E.ECONNREFUSED);
    assert.equal(w.errnoFromWin32(w.ERROR_CONNECTION_REFUSED), E.ECONNREFUSED);
    assert.equal(w.errnoFromWin32(w.WSAECONNRESET), E.ECONNRESET);
    assert.equal(w.errnoFromWin32(w.ERROR_NETNAME_DELETED), E.ECONNRESET);
    assert.equal(w.errnoFromWin32(w.ERROR_OPERATION_ABORTED), E.ECANCELED);
    // What the kernel writes into OVERLAPPED.Internal, through ntdll's own table.
    const nt = w.win32().RtlNtStatusToDosError;
    assert.equal(w.errnoFromWin32(nt(0xc0000236)), E.ECONNREFUSED); // STATUS_CONNECTION_REFUSED
    assert.equal(w.errnoFromWin32(nt(0xc000020d)), E.ECONNRESET); // STATUS_CONNECTION_RESET
    assert.equal(w.errnoFromWin32(nt(0xc0000120)), E.ECANCELED); // STATUS_CANCELLED
  });
});
