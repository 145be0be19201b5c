// The HTTP/1.1 response parser (sans-I/O): what ends a response, and what it refuses; fed in
// every split, and fuzzed (random and mutated input must give an error or events, never a throw or a hang).
import assert from 'node:assert/strict';
import { H1ResponseParser } from '../src/engine/http/h1/response_parser';

interface Seen {
  heads: Array<[number, number]>;
  body: number;
  complete: boolean[];
}

function parser(opts?: { maxHeaderBytes?: number }): { p: H1ResponseParser; seen: Seen } {
  const seen: Seen = { heads: [], body: 0, complete: [] };
  const p = new H1ResponseParser(
    {
      onHead: (s, b) => seen.heads.push([s, b]),
      onBody: (n) => (seen.body += n),
      onComplete: (k) => seen.complete.push(k),
    },
    opts
  );
  return { p, seen };
}

/** Feeds `text` in pieces of `step` bytes; returns the first error. */
function feed(p: H1ResponseParser, bytes: Buffer, step = bytes.length): string | undefined {
  for (let i = 0; i < bytes.length; i += step) {
    const e = p.push(bytes.subarray(i, Math.min(bytes.length, i + step)));
    if (e) return e;
  }
  return undefined;
}

const OK = (body: string, extra = '') => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

describe('HTTP/1.1 response parser', () => {
  it('Content-Length bodies, pipelined, in every split: heads, body bytes and ends', () => {
    const stream = Buffer.from(OK('hello') + OK('', 'X-A: b\r\n') + OK('x'.repeat(3000)));
    for (const step of [1, 2, 3, 7, 64, stream.length]) {
      const { p, seen } = parser();
      for (let i = 0; i < 3; i++) p.expect(false);
      assert.equal(feed(p, stream, step), undefined, `step ${step}`);
      assert.deepEqual(seen.heads.map((h) => h[0]), [200, 200, 200]);
      assert.equal(seen.heads[0][1], 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'.length);
      assert.equal(seen.body, 3005);
      assert.deepEqual(seen.complete, [true, true, true]);
      assert.equal(p.pending, 0);
    }
  });

  it('a head seen again is recognized, and one that differs in any byte is parsed anew (lengths, statuses, close)', () => {
    const head = (status: number, len: number, extra = '') => `HTTP/1.1 ${status} X\r\nDate: Mon, 07 Dec 2026 12:00:00 GMT\r\nContent-Length: ${len}\r\n${extra}\r\n`;
    const responses = [
      head(200, 3) + 'abc',
      head(200, 3) + 'def', // the same head again
      head(200, 4) + 'ghij', // one byte differs: another length
      head(200, 4) + 'klmn',
      head(404, 4) + 'opqr', // another status
      head(404, 4, 'Connection: close\r\n') + 'stuv', // a longer head starting with the same bytes is not the kept one
    ];
    const stream = Buffer.from(responses.join(''));
    for (const step of [1, 9, 100, stream.length]) {
      const { p, seen } = parser();
      for (let i = 0; i < responses.length; i++) p.expect(false);
      assert.equal(feed(p, stream, step), undefined, `step ${step}`);
      assert.deepEqual(seen.heads.map((h) => h[0]), [200, 200, 200, 200, 404, 404]);
      assert.deepEqual(seen.heads.map((h) => h[1]), responses.map((r) => r.indexOf('\r\n\r\n') + 4));
      assert.equal(seen.body, 3 + 3 + 4 + 4 + 4 + 4);
      assert.deepEqual(seen.complete, [true, true, true, true, true, false]);
    }
  });

  it('chunked bodies with extensions and trailers; the decoded size counts', () => {
    const r = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n' + OK('z'));
    for (const step of [1, 5, r.length]) {
      const { p, seen } = parser();
      p.expect(false);
      p.expect(false);
      assert.equal(feed(p, r, step), undefined);
      assert.equal(seen.body, 16);
      assert.deepEqual(seen.complete, [true, true]);
    }
  });

  it('HEAD, 204 and 304 have no body; 1xx interim heads are skipped', () => {
    const { p, seen } = parser();
    p.expect(true);
    p.expect(false);
    p.expect(false);
    p.expect(false);
    const r = 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n' + 'HTTP/1.1 204 No Content\r\n\r\n' + 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n' + OK('ab');
    assert.equal(feed(p, Buffer.from(r)), undefined);
    assert.deepEqual(seen.heads.map((h) => h[0]), [200, 204, 304, 200]);
    assert.equal(seen.body, 2);
    assert.equal(p.pending, 0);
  });

  it('Connection: close and HTTP/1.0 end the connection; a body without a length runs until the close', () => {
    const a = parser();
    a.p.expect(false);
    feed(a.p, Buffer.from(OK('hi', 'Connection: close\r\n')));
    assert.deepEqual(a.seen.complete, [false]);
    const b = parser();
    b.p.expect(false);
    assert.equal(feed(b.p, Buffer.from('HTTP/1.0 200 OK\r\n\r\nuntil the end')), undefined);
    assert.deepEqual(b.seen.complete, []);
    assert.equal(b.p.end(), undefined);
    assert.deepEqual(b.seen.complete, [false]);
    assert.equal(b.seen.body, 'until the end'.length);
  });

  it('a close mid-body, mid-head or mid-chunk is an error; after a complete response it is not', () => {
    for (const cut of ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc', 'HTTP/1.1 200 OK\r\nContent-Le', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab']) {
      const { p } = parser();
      p.expect(false);
      assert.equal(feed(p, Buffer.from(cut)), undefined);
      assert.equal(p.end(), 'connection closed mid-response', cut);
    }
    const { p } = parser();
    p.expect(false);
    feed(p, Buffer.from(OK('abc')));
    assert.equal(p.end(), undefined);
  });

  it('refuses what would make lengths ambiguous or unbounded, and stays failed', () => {
    const bad: Array<[string, string]> = [
      ['HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n', 'bad content-length'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'conflicting content-length'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999\r\n\r\n', 'bad content-length'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', 'both transfer-encoding and content-length'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'bad chunk size'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc', 'chunk data longer than its size'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + '1'.repeat(2000), 'chunk-size line too long'],
      ['HTTX/1.1 200 OK\r\n\r\n', 'bad status line'],
      ['HTTP/1.1 20 OK\r\n\r\n', 'bad status line'],
      ['HTTP/1.1 200 OK\r\n folded\r\n\r\n', 'obsolete header line folding'],
      ['HTTP/1.1 200 OK\r\nNoColon\r\n\r\n', 'header line without a name'],
      ['HTTP/1.1 200 OK\r\nName : v\r\n\r\n', 'whitespace before a header colon'],
      ['HTTP/1.1 101 Switching Protocols\r\n\r\n', 'unexpected 101 Switching Protocols'],
    ];
    for (const [text, why] of bad) {
      const { p } = parser();
      p.expect(false);
      assert.equal(feed(p, Buffer.from(text)), why, text);
      assert.equal(p.push(Buffer.from(OK('a'))), why, 'sticky');
    }
    const idle = parser();
    assert.equal(idle.p.push(Buffer.from(OK('a'))), 'response data with no request outstanding');
  });

  it('a head larger than the limit is refused whole or in pieces, without holding more than the limit', () => {
    const big = 'HTTP/1.1 200 OK\r\n' + 'X: ' + 'y'.repeat(5000) + '\r\n\r\n';
    for (const step of [100, big.length]) {
      const { p } = parser({ maxHeaderBytes: 4096 });
      p.expect(false);
      assert.equal(feed(p, Buffer.from(big), step), 'response head too large');
    }
  });

  it('fuzz: random and mutated responses end in events or an error, never a throw, in bounded time', function () {
    this.timeout(20_000);
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const corpus = [
      OK('hello'),
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n',
      'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc',
    ];
    const t0 = Date.now();
    for (let n = 0; n < 20_000; n++) {
      let b: Buffer;
      if (n % 3 === 0) {
        b = Buffer.alloc(Math.floor(rand() * 300));
        for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
        if (rand() < 0.5) b = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n'), b]);
      } else {
        b = Buffer.from(corpus[n % corpus.length] + corpus[(n + 1) % corpus.length]);
        const edits = 1 + Math.floor(rand() * 4);
        for (let e = 0; e < edits; e++) {
          const at = Math.floor(rand() * b.length);
          const op = rand();
          if (op < 0.4) b[at] = Math.floor(rand() * 256);
          else if (op < 0.7) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
          // Insert a CR, LF or digit: the bytes that decide framing.
          else b = Buffer.concat([b.subarray(0, at), Buffer.from([[0x0d, 0x0a, 0x39][Math.floor(rand() * 3)]]), b.subarray(at)]);
        }
      }
      const { p, seen } = parser({ maxHeaderBytes: 1024 });
      p.expect(rand() < 0.2);
      p.expect(false);
      const err = feed(p, b, 1 + Math.floor(rand() * 40));
      const end = p.end();
      assert.ok(err === undefined || typeof err === 'string');
      assert.ok(end === undefined || typeof end === 'string');
      assert.ok(seen.complete.length <= 2, 'never more responses than requests');
      assert.ok(seen.body <= b.length);
    }
    assert.ok(Date.now() - t0 < 15_000);
  });
});
