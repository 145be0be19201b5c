// The pure parts behind serve's hardening, on their own: the shared session store (bounded,
// expiring, evicting), the request-head parser (CRLF or LF), the FIFO deadline queue, the shared
// connection limit (across real worker threads) and the stats/totals text.
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { DeadlineQueue, Deadline } from '../src/engine/apps/deadline_queue';
import { findHeadEnd, parseRequestHead, skipEmptyLines } from '../src/engine/apps/http_request';
import { SharedConnectionLimit } from '../src/engine/connection_limit';
import { emptyCounters } from '../src/engine/stats/counters';
import { SharedSessionStore } from '../src/engine/tls/session_store';
import { renderServeTotals, renderStatsLine, ServeDocument } from '../src/report/serve';

const id = (n: number, len = 32) => Uint8Array.from({ length: len }, (_, i) => (n * 31 + i * 7) & 0xff);
const der = (n: number, len = 100) => Uint8Array.from({ length: len }, (_, i) => (n + i) & 0xff);

describe('shared session store', () => {
  it('stores and finds sessions by ID, byte for byte; unknown IDs miss', () => {
    const s = new SharedSessionStore(SharedSessionStore.buffer({ sets: 256, ringBytes: 64 * 1024 }));
    const now = Date.now();
    for (let i = 0; i < 20; i++) assert.ok(s.put(id(i), der(i), now + 60_000, now));
    for (let i = 0; i < 20; i++) assert.deepEqual(s.get(id(i), now), der(i));
    assert.equal(s.get(id(99), now), undefined);
    assert.deepEqual(s.stats(), { stored: 20, hits: 20, misses: 1, evicted: 0, tooLarge: 0, removed: 0 });
  });

  it('a second worker thread sees what the first stored (one SharedArrayBuffer)', async () => {
    const buffer = SharedSessionStore.buffer({ sets: 16, ringBytes: 64 * 1024 });
    const w = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const { SharedSessionStore } = require(${JSON.stringify(require.resolve('../src/engine/tls/session_store'))});
       const s = new SharedSessionStore(workerData);
       s.put(Uint8Array.of(1, 2, 3), Uint8Array.of(9, 8, 7), Date.now() + 60000);
       parentPort.postMessage('stored');`,
      { eval: true, workerData: buffer }
    );
    await new Promise((r) => w.once('message', r));
    await w.terminate();
    assert.deepEqual(new SharedSessionStore(buffer).get(Uint8Array.of(1, 2, 3)), Uint8Array.of(9, 8, 7));
  });

  it('expired sessions are not returned', () => {
    const s = new SharedSessionStore(SharedSessionStore.buffer({ sets: 4, ringBytes: 8192 }));
    s.put(id(1), der(1), 1000, 0);
    assert.deepEqual(s.get(id(1), 999), der(1));
    assert.equal(s.get(id(1), 1000), undefined);
  });

  it('is bounded: a full set evicts its oldest, and the ring wrapping invalidates what it overwrote', () => {
    const s = new SharedSessionStore(SharedSessionStore.buffer({ sets: 1, ringBytes: 4096 }));
    const far = Date.now() + 60_000;
    // One set of 4 ways: the 5th session evicts the 1st.
    for (let i = 0; i < 5; i++) s.put(id(i), der(i, 50), far);
    assert.equal(s.get(id(0)), undefined);
    for (let i = 1; i < 5; i++) assert.deepEqual(s.get(id(i)), der(i, 50));
    assert.equal(s.stats().evicted, 1);
    // 4 KiB ring, ~233-byte records: after 20 more puts every old record has been overwritten.
    const t = new SharedSessionStore(SharedSessionStore.buffer({ sets: 64, ringBytes: 4096 }));
    for (let i = 0; i < 40; i++) t.put(id(i), der(i, 200), far);
    let found = 0;
    for (let i = 0; i < 40; i++) {
      const got = t.get(id(i));
      if (got) {
        assert.deepEqual(got, der(i, 200), `session ${i} intact`);
        found++;
      }
    }
    assert.ok(found > 0 && found <= Math.floor(4096 / 233), `found ${found}`);
    assert.ok(t.get(id(39)), 'the newest is there');
    assert.equal(t.get(id(0)), undefined, 'the oldest was overwritten');
  });

  it('refuses records larger than a sixteenth of the ring, and forgets on delete', () => {
    const s = new SharedSessionStore(SharedSessionStore.buffer({ sets: 4, ringBytes: 4096 }));
    assert.equal(s.put(id(1), der(1, 300), Date.now() + 1000), false);
    assert.equal(s.stats().tooLarge, 1);
    s.put(id(2), der(2), Date.now() + 60_000);
    assert.ok(s.delete(id(2)));
    assert.equal(s.get(id(2)), undefined);
    assert.equal(s.stats().removed, 1);
  });
});

describe('HTTP request heads', () => {
  const b = (s: string) => Buffer.from(s, 'latin1');
  it('end at an empty line with CRLF, bare LF or a mix (RFC 9112 §2.2)', () => {
    for (const raw of ['GET / HTTP/1.1\r\nHost: a\r\n\r\nX', 'GET / HTTP/1.1\nHost: a\n\nX', 'GET / HTTP/1.1\r\nHost: a\n\r\nX', 'GET / HTTP/1.1\nHost: a\r\n\nX']) {
      const buf = b(raw);
      const end = findHeadEnd(buf, 0, buf.length);
      assert.equal(buf.toString('latin1', end), 'X', JSON.stringify(raw));
      const p = parseRequestHead(buf.toString('latin1', 0, end));
      assert.ok(p.ok && p.head.method === 'GET' && p.head.minor === 1 && p.head.keepAlive, JSON.stringify(raw));
    }
    assert.equal(findHeadEnd(b('GET / HTTP/1.1\r\nHost: a\r\n\r'), 0, 26), -1);
    assert.equal(skipEmptyLines(b('\r\n\nGET'), 0, 6), 3);
  });
  it('keep-alive follows the version and Connection; bad heads are refused', () => {
    const ok = (s: string) => {
      const p = parseRequestHead(s);
      assert.ok(p.ok, s);
      return p.head;
    };
    assert.equal(ok('GET / HTTP/1.0').keepAlive, false);
    assert.equal(ok('GET / HTTP/1.0\r\nConnection: Keep-Alive').keepAlive, true);
    assert.equal(ok('GET / HTTP/1.1\r\nConnection: close').keepAlive, false);
    assert.equal(ok('POST / HTTP/1.1\r\nContent-Length: 12').contentLength, 12);
    assert.equal(ok('POST / HTTP/1.1\r\nTransfer-Encoding: chunked').chunked, true);
    for (const bad of ['GET /', 'GET / HTTP/2.0', 'GET / HTTP/1.1\r\n folded: x', 'GET / HTTP/1.1\r\nBad Name: x', 'GET / HTTP/1.1\r\nContent-Length: 1x',
      'GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2', 'GET / HTTP/1.1\r\nno colon']) {
      assert.equal(parseRequestHead(bad).ok, false, JSON.stringify(bad));
    }
  });
});

describe('deadline queue', () => {
  it('fires in arming order once due; disarmed and re-armed deadlines do not fire early', () => {
    let now = 0;
    const timers: { at: number; fn: () => void }[] = [];
    const q = new DeadlineQueue(100, { now: () => now, setTimer: (at, fn) => timers.push({ at, fn }) });
    const fired: string[] = [];
    const a = new Deadline(() => fired.push('a'));
    const b = new Deadline(() => fired.push('b'));
    const c = new Deadline(() => fired.push('c'));
    q.arm(a);
    now = 10;
    q.arm(b);
    q.arm(b); // already running: not pushed back
    now = 20;
    q.arm(c);
    q.disarm(a);
    const run = (t: number) => {
      now = t;
      while (timers.length && timers[0].at <= now) timers.shift()!.fn();
    };
    run(105);
    assert.deepEqual(fired, []);
    run(110);
    assert.deepEqual(fired, ['b']);
    q.arm(b);
    run(121);
    assert.deepEqual(fired, ['b', 'c']);
    run(209);
    assert.deepEqual(fired, ['b', 'c']);
    run(210);
    assert.deepEqual(fired, ['b', 'c', 'b']);
    assert.equal(q.size, 0);
  });
});

describe('shared connection limit', () => {
  it('four threads racing for 100 places get exactly 100 in all', async () => {
    const buffer = SharedConnectionLimit.buffer();
    const src = `const { workerData, parentPort } = require('node:worker_threads');
      const { SharedConnectionLimit } = require(${JSON.stringify(require.resolve('../src/engine/connection_limit'))});
      const l = new SharedConnectionLimit(workerData, 100);
      let got = 0;
      for (let i = 0; i < 1000; i++) if (l.tryAcquire()) got++;
      parentPort.postMessage(got);`;
    const got = await Promise.all(
      [0, 1, 2, 3].map(
        () =>
          new Promise<number>((resolve) => {
            const w = new Worker(src, { eval: true, workerData: buffer });
            w.once('message', (n: number) => void w.terminate().then(() => resolve(n)));
          })
      )
    );
    assert.equal(got.reduce((a, b) => a + b, 0), 100, JSON.stringify(got));
    const l = new SharedConnectionLimit(buffer, 100);
    assert.equal(l.open, 100);
    l.release();
    assert.ok(l.tryAcquire());
    assert.equal(l.tryAcquire(), false);
  });
});

describe('serve report', () => {
  it('stats lines and totals show rejected connections, accept errors by reason and leftovers', () => {
    const counters = { ...emptyCounters(), handshakes: 3 };
    const line = renderStatsLine(
      { index: 0, startMs: 0, durationMs: 1000, counters } as never,
      { open: 2, accepted: 5, rejected: 2, acceptErrors: { EMFILE: 3, ENFILE: 1 } }
    );
    assert.match(line, /^open 2 {2}handshakes 3\/s .* {2}errors 0 {2}rejected 2 {2}accept errors 4 \(EMFILE: 3, ENFILE: 1\)$/);
    const doc: ServeDocument = {
      schema: 'iocptls.serve/2',
      listen: { host: '127.0.0.1', port: 1 },
      mode: 'echo',
      workers: 2,
      backend: 'epoll',
      openssl: { version: 'x', source: 'node' },
      durationSec: 1,
      stoppedBy: 'SIGHUP',
      totals: counters,
      connections: { accepted: 5, rejected: 2, acceptErrors: { EMFILE: 3 } },
      perWorker: [],
      leftover: { connections: 1, recvBuffers: 0, pendingOps: 0, listeners: 0 },
    };
    const text = renderServeTotals(doc);
    assert.match(text, /stopped after 1\.0 s \(SIGHUP\)/);
    assert.match(text, /connections {2}5 accepted, 2 rejected \(max connections\), 3 accept errors \(EMFILE: 3\)/);
    assert.match(text, /leftover {5}1 connections, 0 receive buffers \(should be 0\)/);
  });
});
