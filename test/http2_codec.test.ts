// The sans-I/O HTTP/2 codec (src/engine/http/h2/): HPACK against the RFC 7541 Appendix C
// vectors, the client and server sessions back to back in memory (flow control with a tiny
// window and a 1 MiB body, GOAWAY, RST_STREAM, hostile frames and their GOAWAY codes), fuzzing
// (random and mutated conversations in random chunks: events or one connection error, never a
// throw or a hang), and each session against peers we did not write: our client over a real TLS
// socket to Node's http2.createSecureServer and to nginx (its access log as the count), Node's
// http2 client to our server session over TCP.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { H2ClientEvents, H2ClientSession } from '../src/engine/http/h2/client_session';
import { ErrorCode, Flag, FrameType, PREFACE, Setting } from '../src/engine/http/h2/frames';
import { HeaderSink, HpackDecoder, HpackEncoder } from '../src/engine/http/h2/hpack';
import { huffmanDecode, huffmanEncode, huffmanLength } from '../src/engine/http/h2/huffman';
import { H2ServerSession } from '../src/engine/http/h2/server_session';
import { fixture } from './helpers/cli';
import { getFreePort } from './helpers/free_port';
import { ensureNginx } from './helpers/nginx';
import { frame, goaways, hex, parseFrames, settingsPayload, u32 } from './helpers/h2_frames';

// ---------------------------------------------------------------- HPACK

class Fields implements HeaderSink {
  list: Array<[string, string]> = [];
  header(name: string, value: string): void {
    this.list.push([name, value]);
  }
}

function decodeAll(d: HpackDecoder, block: Buffer): Array<[string, string]> {
  const f = new Fields();
  const err = d.decode(block, 0, block.length, f);
  assert.equal(err, null, `decode error: ${err}`);
  return f.list;
}

const REQ1: Array<[string, string]> = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
];
const REQ2: Array<[string, string]> = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: Array<[string, string]> = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
];
const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const URL = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RESP1: Array<[string, string]> = [
  [':status', '302'],
  ['cache-control', 'private'],
  ['date', DATE1],
  ['location', URL],
];
const RESP2: Array<[string, string]> = [[':status', '307'], ...RESP1.slice(1)];
const RESP3: Array<[string, string]> = [
  [':status', '200'],
  ['cache-control', 'private'],
  ['date', DATE2],
  ['location', URL],
  ['content-encoding', 'gzip'],
  ['set-cookie', COOKIE],
];

describe('HPACK (RFC 7541)', () => {
  it('Huffman code: a complete prefix code; every byte value round-trips; bad padding and EOS are refused', () => {
    // Every one of the 256 byte values, in many orders.
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('latin1');
    for (let k = 0; k < 50; k++) {
      const s = k === 0 ? all : crypto.randomBytes(1 + (k % 40)).toString('latin1');
      const out = Buffer.alloc(huffmanLength(s));
      assert.equal(huffmanEncode(s, out, 0), out.length);
      assert.equal(huffmanDecode(out, 0, out.length), s);
    }
    // RFC 7541 C.4.1's "www.example.com".
    assert.equal(huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff'), 0, 12), 'www.example.com');
    // Padding of zeros, padding of 8 one-bits, and a whole EOS are decoding errors (5.2).
    assert.equal(huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f400'), 0, 12), null);
    assert.equal(huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff ff'), 0, 13), null);
    assert.equal(huffmanDecode(hex('ffff fffc'), 0, 4), null);
  });

  it('decodes C.2 single fields and the C.3/C.4 request sequences with their table sizes', () => {
    const one = (h: string) => decodeAll(new HpackDecoder(), hex(h));
    assert.deepEqual(one('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'), [['custom-key', 'custom-header']]);
    assert.deepEqual(one('040c 2f73 616d 706c 652f 7061 7468'), [[':path', '/sample/path']]);
    assert.deepEqual(one('1008 7061 7373 776f 7264 0673 6563 7265 74'), [['password', 'secret']]);
    assert.deepEqual(one('82'), [[':method', 'GET']]);
    const plain = ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865', '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'];
    const huff = ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'];
    for (const blocks of [plain, huff]) {
      const d = new HpackDecoder();
      assert.deepEqual(decodeAll(d, hex(blocks[0])), REQ1);
      assert.equal(d.table.size, 57);
      assert.deepEqual(decodeAll(d, hex(blocks[1])), REQ2);
      assert.equal(d.table.size, 110);
      assert.deepEqual(decodeAll(d, hex(blocks[2])), REQ3);
      assert.equal(d.table.size, 164);
    }
  });

  it('decodes the C.5/C.6 responses with a 256-byte table (eviction)', () => {
    const plain = [
      '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '4803 3330 37c1 c0bf',
      '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
    ];
    const huff = [
      '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
      '4883 640e ffc1 c0bf',
      '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
    ];
    for (const blocks of [plain, huff]) {
      const d = new HpackDecoder(256);
      d.table.setMaxSize(256);
      assert.deepEqual(decodeAll(d, hex(blocks[0])), RESP1);
      assert.equal(d.table.size, 222);
      assert.deepEqual(decodeAll(d, hex(blocks[1])), RESP2);
      assert.equal(d.table.size, 222);
      assert.deepEqual(decodeAll(d, hex(blocks[2])), RESP3);
      assert.equal(d.table.size, 215);
      assert.equal(d.table.count, 3);
    }
  });

  it('decodes a block seen again (replayed) exactly as a fresh decode: same fields, same table, dynamic references decoded anew', () => {
    // nginx's way: the same literals with incremental indexing in every response, evicting as the table fills.
    const enc = new HpackEncoder();
    const list: Array<[string, string]> = [[':status', '200'], ['server', 'nginx'], ['x-date', DATE1], ['content-length', '1024']];
    const fields = (l: Array<[string, string]>) => l.map(([n, v]) => [n, v] as const);
    const block = enc.encode(fields(list)); // literals with indexing: the table is empty
    const replayed = new HpackDecoder(256);
    replayed.table.setMaxSize(256);
    // The reference decodes an empty block in between, so it never sees the same block twice in a row: never replays.
    const d = new HpackDecoder(256);
    d.table.setMaxSize(256);
    for (let i = 1; i <= 6; i++) {
      assert.deepEqual(decodeAll(replayed, block), list, `round ${i}`);
      assert.deepEqual(decodeAll(d, block), list);
      assert.deepEqual(decodeAll(d, Buffer.alloc(0)), []);
      assert.equal(replayed.table.size, d.table.size, `table size after ${i}`);
      assert.ok(d.table.size > 0);
      assert.equal(replayed.table.count, d.table.count);
      for (let k = 0; k < d.table.count; k++) assert.deepEqual([replayed.table.name(k), replayed.table.value(k)], [d.table.name(k), d.table.value(k)]);
      assert.equal(replayed.listSize, list.reduce((n, [a, b]) => n + a.length + b.length + 32, 0));
    }
    // A block that points into the dynamic table is never replayed: the same bytes decode to what the table holds now.
    const t = new HpackDecoder();
    decodeAll(t, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')); // custom-key: custom-header, indexed at 62
    assert.deepEqual(decodeAll(t, hex('be')), [['custom-key', 'custom-header']]);
    decodeAll(t, hex('4003 782d 6101 31')); // x-a: 1 is now 62
    assert.deepEqual(decodeAll(t, hex('be')), [['x-a', '1']]);
    // A failed block is not kept: the same bytes fail again.
    const bad = hex('4082 ffff 01 61');
    const e = new HpackDecoder();
    assert.notEqual(e.decode(bad, 0, bad.length, new Fields()), null);
    assert.notEqual(e.decode(bad, 0, bad.length, new Fields()), null);
  });

  it('encodes the C.4 requests byte for byte, and random header lists round-trip through a decoder', () => {
    const e = new HpackEncoder();
    assert.equal(e.encode(REQ1).toString('hex'), hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff').toString('hex'));
    assert.equal(e.encode(REQ2).toString('hex'), hex('8286 84be 5886 a8eb 1064 9cbf').toString('hex'));
    assert.equal(e.encode(REQ3).toString('hex'), hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf').toString('hex'));
    // Random lists, the peer's table size changing now and then (size updates in the blocks).
    const enc = new HpackEncoder();
    const dec = new HpackDecoder();
    const names = ['content-type', 'x-a', 'x-b', 'server', ':path', 'cookie', 'x-long'];
    for (let i = 0; i < 2000; i++) {
      if (i % 97 === 0) enc.setPeerTableSize([4096, 0, 100, 256, 4096][(i / 97) % 5 | 0]);
      const list: Array<[string, string]> = [];
      for (let k = 0; k < 1 + (i % 7); k++) {
        const name = names[(i * 7 + k) % names.length];
        const value = name === 'x-long' ? 'v'.repeat(i % 300) : crypto.randomBytes(i % 5).toString('latin1');
        list.push([name, value]);
      }
      assert.deepEqual(decodeAll(dec, enc.encode(list)), list);
    }
  });

  it('refuses bad blocks: index 0, indexes past the table, truncated strings, huge integers, late size updates', () => {
    const bad = ['80', 'be', 'ff80808080808008', '410a 6162', '82 3fe1 1f', '3fe2 1f', '4082 ffff 01 61'];
    for (const h of bad) {
      const d = new HpackDecoder();
      const b = hex(h);
      assert.notEqual(d.decode(b, 0, b.length, new Fields()), null, h);
    }
  });
});

// ---------------------------------------------------------------- sessions back to back

interface ClientLog {
  heads: Array<[number, number, number]>;
  data: Map<number, number>;
  ends: number[];
  resets: Array<[number, number]>;
  goaways: Array<[number, number]>;
  errors: Array<[string, number]>;
}

function clientLog(): { log: ClientLog; events: H2ClientEvents } {
  const log: ClientLog = { heads: [], data: new Map(), ends: [], resets: [], goaways: [], errors: [] };
  const events: H2ClientEvents = {
    onResponseHeaders: (id, status, bytes) => log.heads.push([id, status, bytes]),
    onData: (id, n) => log.data.set(id, (log.data.get(id) ?? 0) + n),
    onStreamEnd: (id) => log.ends.push(id),
    onStreamReset: (id, code) => log.resets.push([id, code]),
    onGoaway: (last, code) => log.goaways.push([last, code]),
    onConnectionError: (msg, code) => log.errors.push([msg, code]),
  };
  return { log, events };
}

/** Moves bytes both ways until both sides are quiet, cut into random pieces when chunky. */
function shuttle(c: H2ClientSession, s: H2ServerSession, chunky = false, tap?: (fromClient: boolean, b: Buffer) => void): void {
  for (let round = 0; round < 100_000; round++) {
    const a = c.takeOutput();
    if (a) {
      tap?.(true, a);
      feed(s, a, chunky);
    }
    const b = s.takeOutput();
    if (b) {
      tap?.(false, b);
      feed(c, b, chunky);
    }
    if (!a && !b) return;
  }
  assert.fail('the sessions never went quiet');
}

function feed(to: { receive(b: Buffer): void }, b: Buffer, chunky: boolean): void {
  if (!chunky) return to.receive(b);
  for (let p = 0; p < b.length; ) {
    const n = 1 + Math.floor(Math.random() * Math.min(64, b.length - p));
    // A copy each time: the session must not keep references into the caller's buffer.
    to.receive(Buffer.from(b.subarray(p, p + n)));
    p += n;
  }
}

function pair(bodySize: number, clientOptions = {}, serverOptions = {}) {
  const { log, events } = clientLog();
  const body = Buffer.alloc(bodySize, 'b');
  const requests: Array<[number, string, string]> = [];
  const serverErrors: Array<[string, number]> = [];
  const server: H2ServerSession = new H2ServerSession(
    {
      onRequest(id, method, path) {
        requests.push([id, method, path]);
        server.respond(id, 200, [['content-length', String(body.length)]], method === 'HEAD' ? null : body);
      },
      onConnectionError: (m, code) => serverErrors.push([m, code]),
    },
    serverOptions,
  );
  const client = new H2ClientSession(events, clientOptions);
  server.start();
  client.start();
  return { client, server, log, requests, serverErrors };
}

const HEAD = { method: 'GET', path: '/x', authority: '127.0.0.1:8443' } as const;

describe('HTTP/2 sessions back to back', () => {
  it('1000 requests over 100 concurrent streams: every response counted once, repeat heads a few bytes', () => {
    const { client, server, log, requests, serverErrors } = pair(1000);
    let sent = 0;
    const headerFrames: number[] = [];
    const tap = (fromClient: boolean, b: Buffer) => {
      if (fromClient) for (const f of parseFrames(b, b.subarray(0, 24).equals(PREFACE))) if (f.type === FrameType.HEADERS) headerFrames.push(f.payload.length);
    };
    while (log.ends.length < 1000) {
      while (sent < 1000 && client.canOpenStream()) {
        client.request(HEAD);
        sent++;
      }
      shuttle(client, server, sent % 3 === 0, tap);
    }
    assert.deepEqual(log.errors, []);
    assert.deepEqual(serverErrors, []);
    assert.equal(requests.length, 1000);
    assert.equal(log.heads.length, 1000);
    assert.ok(log.heads.every(([, status]) => status === 200));
    assert.equal([...log.data.values()].reduce((a, b) => a + b, 0), 1000 * 1000);
    assert.equal(client.openStreams, 0);
    assert.equal(server.openStreams, 0);
    assert.equal(server.requests, 1000);
    // Once in the table, a repeated head is four indexes (method, scheme, authority, path).
    assert.ok(headerFrames[0] > 10);
    assert.ok(headerFrames.slice(2).every((n) => n === 4), `repeat heads: ${[...new Set(headerFrames.slice(2))]}`);
    // The peer's limit before its SETTINGS arrive is 100, then 128 (ours).
    assert.equal(client.peerMaxConcurrentStreams, 128);
  });

  it('SETTINGS_HEADER_TABLE_SIZE both ways (0 and 256): the encoders follow with size updates, nothing breaks', () => {
    const { client, server, log, serverErrors } = pair(10, { headerTableSize: 0 }, { headerTableSize: 256 });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) client.request({ ...HEAD, path: `/${round}/${i}`, headers: [['x-round', 'r'.repeat(round * 40)]] });
      shuttle(client, server, true);
    }
    assert.deepEqual(log.errors, []);
    assert.deepEqual(serverErrors, []);
    assert.equal(log.ends.length, 50);
    // The client's decoder table may hold nothing; the server's at most 256 bytes.
    assert.equal((server as unknown as { encoder: HpackEncoder }).encoder.table.maxSize, 0);
    assert.ok((client as unknown as { encoder: HpackEncoder }).encoder.table.size <= 256);
  });

  it('HEAD and a POST with a body larger than the windows', () => {
    const { client, server, log, requests } = pair(300, {}, { initialWindowSize: 1000 });
    const h = client.request({ method: 'HEAD', path: '/h', authority: 'a' });
    const p = client.request({ method: 'POST', path: '/p', authority: 'a', headers: [['Content-Type', 'text/plain']] }, Buffer.alloc(200_000, 'p'));
    shuttle(client, server);
    assert.deepEqual(
      requests.map((r) => r.slice(1)),
      [
        ['HEAD', '/h'],
        ['POST', '/p'],
      ],
    );
    assert.deepEqual(log.ends.sort(), [h, p]);
    assert.equal(log.data.get(h), undefined);
    assert.equal(log.data.get(p), 300);
    assert.deepEqual(log.errors, []);
  });

  it('flow control: a 1 MiB body through a 1 KiB stream window never exceeds what the client granted', () => {
    const { client, server, log } = pair(1 << 20, { initialWindowSize: 1024 });
    const id = client.request(HEAD);
    let granted = 1024;
    let sent = 0;
    let maxOutput = 0;
    shuttle(client, server, false, (fromClient, b) => {
      for (const f of parseFrames(b, fromClient && b.subarray(0, 24).equals(PREFACE))) {
        if (fromClient && f.type === FrameType.WINDOW_UPDATE && f.id === id) granted += f.payload.readUInt32BE(0);
        if (!fromClient && f.type === FrameType.DATA) sent += f.payload.length;
      }
      if (!fromClient) maxOutput = Math.max(maxOutput, b.length);
      assert.ok(sent <= granted, `server sent ${sent} with ${granted} granted`);
    });
    assert.equal(log.data.get(id), 1 << 20);
    assert.deepEqual(log.ends, [id]);
    assert.ok(maxOutput < 2048, `one server output of ${maxOutput} bytes`);
  });

  it('takeOutput() gives all the DATA the windows allow in one Buffer; takeOutput(maxBytes) in pieces', () => {
    const { client, server } = pair(1 << 20, { initialWindowSize: 1 << 24 });
    client.request(HEAD);
    server.receive(client.takeOutput()!);
    const all = parseFrames(server.takeOutput()!).filter((f) => f.type === FrameType.DATA);
    assert.equal(
      all.reduce((a, f) => a + f.payload.length, 0),
      1 << 20,
    );
    const second = pair(1 << 20, { initialWindowSize: 1 << 24 });
    second.client.request(HEAD);
    second.server.receive(second.client.takeOutput()!);
    const sizes: number[] = [];
    for (let out = second.server.takeOutput(100_000); out; out = second.server.takeOutput(100_000)) sizes.push(out.length);
    assert.ok(sizes.length >= 10 && sizes.every((n) => n < 100_000 + 16_384 + 9), `${sizes}`);
  });

  it('a client whose window never opens: the server holds the stream, sends no DATA, buffers nothing', () => {
    const server = new H2ServerSession({
      onRequest: (id) => server.respond(id, 200, [], Buffer.alloc(1 << 20)),
      onConnectionError: () => assert.fail('no error expected'),
    });
    server.start();
    const enc = new HpackEncoder();
    const block = enc.encode([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/'],
      [':authority', 'a'],
    ]);
    server.receive(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0, settingsPayload([[Setting.INITIAL_WINDOW_SIZE, 0]])), frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block)]));
    const out = server.takeOutput()!;
    const frames = parseFrames(out);
    assert.ok(frames.some((f) => f.type === FrameType.HEADERS && f.id === 1));
    assert.ok(!frames.some((f) => f.type === FrameType.DATA));
    for (let i = 0; i < 10; i++) assert.equal(server.takeOutput(), null);
    assert.equal(server.openStreams, 1);
    assert.equal(server.pendingBodies, 1);
    // A 100-byte WINDOW_UPDATE on the stream (the connection has 65535): exactly 100 bytes of DATA.
    server.receive(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(100)));
    const data = parseFrames(server.takeOutput()!).filter((f) => f.type === FrameType.DATA);
    assert.deepEqual(
      data.map((f) => f.payload.length),
      [100],
    );
  });

  it('RST_STREAM from the server ends that stream only; GOAWAY stops new streams above its last id', () => {
    const { log, events } = clientLog();
    const client = new H2ClientSession(events);
    client.start();
    client.takeOutput();
    client.receive(frame(FrameType.SETTINGS, 0, 0, settingsPayload([[Setting.MAX_CONCURRENT_STREAMS, 3]])));
    const ids = [client.request(HEAD), client.request(HEAD), client.request(HEAD)];
    assert.deepEqual(ids, [1, 3, 5]);
    assert.equal(client.canOpenStream(), false);
    assert.throws(() => client.request(HEAD), /3 streams open/);
    client.receive(frame(FrameType.RST_STREAM, 0, 3, u32(ErrorCode.REFUSED_STREAM)));
    assert.deepEqual(log.resets, [[3, ErrorCode.REFUSED_STREAM]]);
    assert.equal(client.openStreams, 2);
    assert.equal(client.canOpenStream(), true);
    // GOAWAY with last stream 1: stream 5 will never complete, no new stream may open.
    client.receive(frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(1), u32(ErrorCode.NO_ERROR)])));
    assert.deepEqual(log.goaways, [[1, 0]]);
    assert.equal(client.goingAway, true);
    assert.equal(client.canOpenStream(), false);
    assert.equal(client.openStreams, 1);
    assert.throws(() => client.request(HEAD), /going away/);
    // Stream 1 still completes.
    const enc = new HpackEncoder();
    client.receive(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, enc.encode([[':status', '204']])));
    assert.deepEqual(log.heads.map((h) => h.slice(0, 2)), [[1, 204]]);
    assert.deepEqual(log.ends, [1]);
    assert.deepEqual(log.errors, []);
  });

  it('a body that disagrees with its content-length resets that stream (PROTOCOL_ERROR), the others go on', () => {
    const { log, events } = clientLog();
    const client = new H2ClientSession(events);
    client.start();
    client.receive(frame(FrameType.SETTINGS, 0, 0));
    const a = client.request(HEAD);
    const b = client.request(HEAD);
    client.takeOutput();
    const enc = new HpackEncoder();
    client.receive(frame(FrameType.HEADERS, Flag.END_HEADERS, a, enc.encode([[':status', '200'], ['content-length', '10']])));
    client.receive(frame(FrameType.DATA, Flag.END_STREAM, a, Buffer.alloc(5)));
    client.receive(frame(FrameType.HEADERS, Flag.END_HEADERS, b, enc.encode([[':status', '200'], ['content-length', '3']])));
    client.receive(frame(FrameType.DATA, Flag.END_STREAM, b, Buffer.alloc(3)));
    assert.deepEqual(log.resets, [[a, ErrorCode.PROTOCOL_ERROR]]);
    assert.deepEqual(log.ends, [b]);
    const rst = parseFrames(client.takeOutput()!).filter((f) => f.type === FrameType.RST_STREAM);
    assert.deepEqual(
      rst.map((f) => [f.id, f.payload.readUInt32BE(0)]),
      [[a, ErrorCode.PROTOCOL_ERROR]],
    );
    assert.deepEqual(log.errors, []);
  });

  it('answers PING, acks SETTINGS, ignores unknown frame types and PRIORITY', () => {
    const server = new H2ServerSession({ onRequest: () => {}, onConnectionError: () => assert.fail('no error') });
    server.start();
    server.takeOutput();
    server.receive(
      Buffer.concat([
        PREFACE,
        frame(FrameType.SETTINGS, 0, 0),
        frame(0xfa, 0xff, 7, Buffer.alloc(100)),
        frame(FrameType.PRIORITY, 0, 9, Buffer.alloc(5)),
        frame(FrameType.PING, 0, 0, Buffer.from('12345678')),
        frame(FrameType.SETTINGS, 0, 0, settingsPayload([[0x99, 1]])),
      ]),
    );
    const frames = parseFrames(server.takeOutput()!);
    assert.deepEqual(
      frames.map((f) => [f.type, f.flags]),
      [
        [FrameType.SETTINGS, Flag.ACK],
        [FrameType.PING, Flag.ACK],
        [FrameType.SETTINGS, Flag.ACK],
      ],
    );
    assert.equal(frames[1].payload.toString(), '12345678');
  });

  // What a hostile client sends (after the preface and an empty SETTINGS) -> the GOAWAY code.
  const enc = () =>
    new HpackEncoder().encode([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/'],
      [':authority', 'a'],
    ]);
  const hostile: Array<[string, () => Buffer, number]> = [
    ['a frame above SETTINGS_MAX_FRAME_SIZE', () => frame(FrameType.DATA, 0, 1, Buffer.alloc(16_385)), ErrorCode.FRAME_SIZE_ERROR],
    ['a connection window pushed past 2^31-1', () => frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)), ErrorCode.FLOW_CONTROL_ERROR],
    ['an INITIAL_WINDOW_SIZE above 2^31-1', () => frame(FrameType.SETTINGS, 0, 0, settingsPayload([[Setting.INITIAL_WINDOW_SIZE, 0x80000000]])), ErrorCode.FLOW_CONTROL_ERROR],
    ['a WINDOW_UPDATE of 0 on the connection', () => frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0)), ErrorCode.PROTOCOL_ERROR],
    ['a SETTINGS of 5 bytes', () => frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5)), ErrorCode.FRAME_SIZE_ERROR],
    ['a PING of 7 bytes', () => frame(FrameType.PING, 0, 0, Buffer.alloc(7)), ErrorCode.FRAME_SIZE_ERROR],
    ['DATA on an idle stream', () => frame(FrameType.DATA, 0, 1, Buffer.alloc(3)), ErrorCode.PROTOCOL_ERROR],
    ['HEADERS on an even stream', () => frame(FrameType.HEADERS, Flag.END_HEADERS, 2, enc()), ErrorCode.PROTOCOL_ERROR],
    ['a garbage header block', () => frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0xbf, 0xff, 0xff])), ErrorCode.COMPRESSION_ERROR],
    ['CONTINUATION without HEADERS', () => frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, enc()), ErrorCode.PROTOCOL_ERROR],
    ['another frame inside a header block', () => Buffer.concat([frame(FrameType.HEADERS, 0, 1, enc()), frame(FrameType.PING, 0, 0, Buffer.alloc(8))]), ErrorCode.PROTOCOL_ERROR],
    [
      'a CONTINUATION flood (empty frames)',
      () => Buffer.concat([frame(FrameType.HEADERS, 0, 1, enc()), ...Array.from({ length: 1000 }, () => frame(FrameType.CONTINUATION, 0, 1))]),
      ErrorCode.ENHANCE_YOUR_CALM,
    ],
    [
      'a header block of 1 MiB in CONTINUATIONs',
      () => Buffer.concat([frame(FrameType.HEADERS, 0, 1, enc()), ...Array.from({ length: 64 }, () => frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(16_000, 0x82)))]),
      ErrorCode.ENHANCE_YOUR_CALM,
    ],
    ['a SETTINGS flood', () => Buffer.concat(Array.from({ length: 20_000 }, () => frame(FrameType.SETTINGS, 0, 0))), ErrorCode.ENHANCE_YOUR_CALM],
    ['a PING flood', () => Buffer.concat(Array.from({ length: 20_000 }, () => frame(FrameType.PING, 0, 0, Buffer.alloc(8)))), ErrorCode.ENHANCE_YOUR_CALM],
    ['PUSH_PROMISE from a client', () => frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.alloc(4)), ErrorCode.PROTOCOL_ERROR],
    ['SETTINGS_MAX_FRAME_SIZE below 16384', () => frame(FrameType.SETTINGS, 0, 0, settingsPayload([[Setting.MAX_FRAME_SIZE, 100]])), ErrorCode.PROTOCOL_ERROR],
    ['DATA padding longer than the frame', () => Buffer.concat([frame(FrameType.HEADERS, Flag.END_HEADERS, 1, enc()), frame(FrameType.DATA, Flag.PADDED, 1, Buffer.from([9, 0, 0]))]), ErrorCode.PROTOCOL_ERROR],
  ];
  for (const [what, bytes, code] of hostile) {
    it(`server: ${what} -> GOAWAY ${code}, one error event, input ignored after`, () => {
      const errors: Array<[string, number]> = [];
      const server = new H2ServerSession({ onRequest: () => {}, onConnectionError: (m, c) => errors.push([m, c]) });
      server.start();
      server.takeOutput();
      server.receive(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0)]));
      server.takeOutput();
      server.receive(bytes());
      assert.equal(errors.length, 1, `errors: ${JSON.stringify(errors)}`);
      assert.equal(errors[0][1], code, errors[0][0]);
      assert.deepEqual(
        goaways(server.takeOutput()).map((g) => g[1]),
        [code],
      );
      server.receive(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
      assert.equal(server.takeOutput(), null);
      assert.equal(errors.length, 1);
    });
  }

  it('server: a stream window pushed past 2^31-1 resets that stream (FLOW_CONTROL_ERROR), not the connection', () => {
    const server = new H2ServerSession({ onRequest: () => {}, onConnectionError: () => assert.fail('no connection error') });
    server.start();
    server.receive(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0), frame(FrameType.HEADERS, Flag.END_HEADERS, 1, enc())]));
    server.takeOutput();
    server.receive(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(0x7fffffff)));
    const rst = parseFrames(server.takeOutput()!).filter((f) => f.type === FrameType.RST_STREAM);
    assert.deepEqual(
      rst.map((f) => [f.id, f.payload.readUInt32BE(0)]),
      [[1, ErrorCode.FLOW_CONTROL_ERROR]],
    );
  });

  it('server: streams beyond MAX_CONCURRENT_STREAMS are refused (REFUSED_STREAM), the rest answered', () => {
    let answered = 0;
    const server: H2ServerSession = new H2ServerSession(
      {
        // Responses held back: every stream stays open.
        onRequest: () => answered++,
        onConnectionError: () => assert.fail('no error'),
      },
      { maxConcurrentStreams: 4 },
    );
    server.start();
    const e = new HpackEncoder();
    const head = [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/'],
      [':authority', 'a'],
    ] as Array<[string, string]>;
    const frames = [PREFACE, frame(FrameType.SETTINGS, 0, 0)];
    for (let id = 1; id <= 11; id += 2) frames.push(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, e.encode(head)));
    server.receive(Buffer.concat(frames));
    assert.equal(answered, 4);
    const rst = parseFrames(server.takeOutput()!).filter((f) => f.type === FrameType.RST_STREAM);
    assert.deepEqual(
      rst.map((f) => [f.id, f.payload.readUInt32BE(0)]),
      [
        [9, ErrorCode.REFUSED_STREAM],
        [11, ErrorCode.REFUSED_STREAM],
      ],
    );
    assert.equal(server.refused, 2);
  });

  it('client: a server that pushes, or answers on a stream we never opened, gets a GOAWAY PROTOCOL_ERROR', () => {
    for (const bad of [frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.concat([u32(2), Buffer.from([0x82])])), frame(FrameType.HEADERS, Flag.END_HEADERS, 7, Buffer.from([0x88]))]) {
      const { log, events } = clientLog();
      const client = new H2ClientSession(events);
      client.start();
      client.request(HEAD);
      client.takeOutput();
      client.receive(Buffer.concat([frame(FrameType.SETTINGS, 0, 0), bad]));
      assert.deepEqual(
        log.errors.map((e) => e[1]),
        [ErrorCode.PROTOCOL_ERROR],
      );
      assert.deepEqual(
        goaways(client.takeOutput()).map((g) => g[1]),
        [ErrorCode.PROTOCOL_ERROR],
      );
      assert.equal(client.goingAway, true);
    }
  });
});

// ---------------------------------------------------------------- fuzzing

/** A real conversation's bytes, each direction in the pieces they went out in. */
function conversation(): { fromClient: Buffer[]; fromServer: Buffer[] } {
  const { client, server } = pair(5000, { initialWindowSize: 3000 });
  const fromClient: Buffer[] = [];
  const fromServer: Buffer[] = [];
  for (let i = 0; i < 6; i++) client.request({ ...HEAD, path: `/p${i}`, headers: [['x-n', String(i)]] }, i % 2 ? Buffer.alloc(300 * i, 'q') : undefined);
  shuttle(client, server, false, (c, b) => (c ? fromClient : fromServer).push(b));
  return { fromClient, fromServer };
}

function mutate(b: Buffer, rnd: () => number): Buffer {
  const out: Buffer = Buffer.from(b);
  switch (Math.floor(rnd() * 5)) {
    case 0: // flip bits
      for (let k = 0; k < 1 + rnd() * 4; k++) out[Math.floor(rnd() * out.length)] ^= 1 << Math.floor(rnd() * 8);
      return out;
    case 1: // random bytes over a stretch
      {
        const at = Math.floor(rnd() * out.length);
        for (let k = at; k < Math.min(out.length, at + 1 + rnd() * 16); k++) out[k] = Math.floor(rnd() * 256);
      }
      return out;
    case 2: // truncate
      return out.subarray(0, Math.floor(rnd() * out.length));
    case 3: // duplicate a stretch
      {
        const at = Math.floor(rnd() * out.length);
        const n = Math.floor(rnd() * 64);
        return Buffer.concat([out.subarray(0, at + n), out.subarray(at, at + n), out.subarray(at + n)]);
      }
    default: // interesting values in a frame header's length or stream id
      {
        const at = Math.floor(rnd() * Math.max(1, out.length - 4));
        out.writeUInt32BE([0, 0xffffffff, 0x7fffffff, 0x80000000, 16_384, 1][Math.floor(rnd() * 6)], at);
      }
      return out;
  }
}

/** A seeded generator (xorshift), so a failing case can be replayed by its seed. */
function rng(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

function chunks(b: Buffer, rnd: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let p = 0; p < b.length; ) {
    const n = 1 + Math.floor(rnd() * Math.min(b.length - p, rnd() < 0.5 ? 16 : 4096));
    out.push(Buffer.from(b.subarray(p, p + n)));
    p += n;
  }
  return out;
}

describe('HTTP/2 sessions under fuzzing', function () {
  this.timeout(60_000);
  const conv = conversation();

  /** After each input the session either carries on or has had exactly one error; its output is whole frames. */
  function checkServer(input: Buffer[], seed: number): void {
    const errors: number[] = [];
    const server: H2ServerSession = new H2ServerSession({
      onRequest: (id, method) => server.respond(id, 200, [['content-length', '7']], method === 'HEAD' ? null : Buffer.from('fuzzed!')),
      onConnectionError: (_m, code) => errors.push(code),
    });
    server.start();
    for (const b of input) {
      server.receive(b);
      const out = server.takeOutput();
      if (out) parseFrames(out);
      assert.ok(errors.length <= 1, `seed ${seed}: ${errors.length} errors`);
      // INTERNAL_ERROR is what receive() turns an exception of ours into: a bug, not the input's fault.
      assert.ok(!errors.includes(ErrorCode.INTERNAL_ERROR), `seed ${seed}: an internal error`);
      assert.ok(server.openStreams <= server.maxConcurrentStreams, `seed ${seed}`);
    }
    if (errors.length) assert.ok(goaways(server.takeOutput()).length === 0, `seed ${seed}: output after the GOAWAY was taken`);
  }

  function checkClient(input: Buffer[], seed: number): void {
    const { log, events } = clientLog();
    const client = new H2ClientSession(events, { initialWindowSize: 3000 });
    client.start();
    for (let i = 0; i < 6; i++) client.request({ ...HEAD, path: `/p${i}` }, i % 2 ? Buffer.alloc(10) : undefined);
    client.takeOutput();
    for (const b of input) {
      client.receive(b);
      const out = client.takeOutput();
      if (out) parseFrames(out);
      assert.ok(log.errors.length <= 1, `seed ${seed}: ${log.errors.length} errors`);
      assert.ok(!log.errors.some((e) => e[1] === ErrorCode.INTERNAL_ERROR), `seed ${seed}: ${log.errors[0]?.[0]}`);
      if (client.canOpenStream()) client.request(HEAD);
    }
    const ended = new Set(log.ends);
    assert.equal(ended.size, log.ends.length, `seed ${seed}: a stream ended twice`);
  }

  it('random bytes, with and without a valid preface and SETTINGS first: 3000 cases each side', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const rnd = rng(seed);
      const junk = crypto.randomBytes(1 + Math.floor(rnd() * 2000));
      const lead = seed % 2 ? Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0)]) : Buffer.alloc(0);
      checkServer(chunks(Buffer.concat([lead, junk]), rnd), seed);
      checkClient(chunks(Buffer.concat([seed % 2 ? frame(FrameType.SETTINGS, 0, 0) : Buffer.alloc(0), junk]), rnd), seed);
    }
  });

  it('mutated real conversations in random chunks: 3000 cases each side', () => {
    const clientBytes = Buffer.concat(conv.fromClient);
    const serverBytes = Buffer.concat(conv.fromServer);
    for (let seed = 1; seed <= 3000; seed++) {
      const rnd = rng(seed * 7919);
      let c: Buffer = clientBytes;
      let s: Buffer = serverBytes;
      for (let k = 0; k < 1 + rnd() * 3; k++) {
        c = mutate(c, rnd);
        s = mutate(s, rnd);
      }
      checkServer(chunks(c, rnd), seed);
      checkClient(chunks(s, rnd), seed);
    }
  });

  it('the unmutated conversation replays cleanly in random chunks (the fuzz starts from valid input)', () => {
    let requests = 0;
    const server: H2ServerSession = new H2ServerSession({
      onRequest: (id) => {
        requests++;
        server.respond(id, 200, [['content-length', '5000']], Buffer.alloc(5000));
      },
      onConnectionError: (m) => assert.fail(m),
    });
    server.start();
    for (const b of chunks(Buffer.concat(conv.fromClient), rng(5))) server.receive(b);
    assert.equal(requests, 6);
  });
});

// ---------------------------------------------------------------- against Node's HTTP/2 (nghttp2) and nginx

describe('HTTP/2 sessions against independent peers: Node http2 (nghttp2), nginx', function () {
  this.timeout(30_000);
  const key = fs.readFileSync(fixture('localhost.key'));
  const cert = fs.readFileSync(fixture('localhost.pem'));

  it('our client session over a TLS socket to http2.createSecureServer: statuses, body bytes, resets, big headers', async () => {
    const sizes = [0, 1, 1000, 70_000, 1 << 20];
    const server = http2.createSecureServer({ key, cert, settings: { maxConcurrentStreams: 50 }, maxSessionMemory: 1000 }); // MB: 50 streams of 1 MiB exceed Node's default 10 (it then refuses streams with ENHANCE_YOUR_CALM)
    let served = 0;
    server.on('stream', (stream, headers) => {
      const path = String(headers[':path']);
      served++;
      if (path.startsWith('/reset')) return stream.close(http2.constants.NGHTTP2_CANCEL);
      const size = sizes[Number(path.split('/')[2]) % sizes.length];
      const status = path.startsWith('/404') ? 404 : 200;
      // A header value that changes per response keeps the HPACK tables (and Huffman) busy.
      stream.respond({ ':status': status, 'content-length': size, 'x-echo': path.repeat(1 + (size % 7)), 'x-big': 'z'.repeat(size % 3000) });
      stream.end(Buffer.alloc(size, 'n'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const { log, events } = clientLog();
    const client = new H2ClientSession(events, { initialWindowSize: 65_535 });
    const socket = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false });
    const flush = () => {
      const out = client.takeOutput();
      if (out) socket.write(out);
    };
    const want = new Map<number, [number, number]>(); // id -> [status, bytes]
    const resets = new Set<number>();
    const total = 300;
    let sent = 0;
    // The first request goes with the preface; the rest once the server's SETTINGS (its limit of 50) arrived.
    const openMore = (limit = total) => {
      while (sent < limit && client.canOpenStream()) {
        const i = sent++;
        const path = i % 37 === 5 ? `/reset/${i}` : i % 11 === 3 ? `/404/${i}` : `/ok/${i}`;
        const id = client.request({ method: 'GET', path, authority: `127.0.0.1:${port}` });
        if (path.startsWith('/reset')) resets.add(id);
        else want.set(id, [path.startsWith('/404') ? 404 : 200, sizes[i % sizes.length]]);
      }
      flush();
    };
    await new Promise<void>((resolve, reject) => {
      socket.on('secureConnect', () => {
        assert.equal(socket.alpnProtocol, 'h2');
        client.start();
        openMore(1);
      });
      socket.on('data', (d: Buffer) => {
        client.receive(d);
        if (log.errors.length) return reject(new Error(log.errors[0][0]));
        openMore();
        if (log.ends.length + log.resets.length === total) resolve();
      });
      socket.on('error', reject);
    });
    socket.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    assert.deepEqual(log.errors, []);
    assert.equal(log.resets.filter((r) => r[1] !== 8).length, 0, JSON.stringify(log.resets.slice(0, 5)));
    assert.equal(served, total);
    assert.deepEqual(log.errors, []);
    assert.equal(log.ends.length, want.size);
    assert.deepEqual(new Set(log.resets.map((r) => r[0])), resets);
    assert.ok(log.resets.every((r) => r[1] === http2.constants.NGHTTP2_CANCEL));
    for (const [id, status] of log.heads) assert.equal(status, want.get(id)![0], `stream ${id}`);
    for (const [id, [, bytes]] of want) assert.equal(log.data.get(id) ?? 0, bytes, `stream ${id}`);
    assert.equal(client.peerMaxConcurrentStreams, 50);
  });

  it("Node's http2 client to our server session over TCP (h2c prior knowledge): paths decoded exactly, bodies whole", async () => {
    const body = Buffer.alloc(100_000, 's');
    const paths: string[] = [];
    const sockets = new Set<net.Socket>();
    const tcp = net.createServer((sock) => {
      sockets.add(sock);
      const session: H2ServerSession = new H2ServerSession({
        onRequest(id, method, path) {
          paths.push(path);
          session.respond(id, 200, [['content-length', String(body.length)], ['content-type', 'text/plain']], method === 'HEAD' ? null : body);
        },
        onConnectionError: (m) => sock.destroy(new Error(m)),
      });
      session.start();
      const flush = () => {
        const out = session.takeOutput();
        if (out) sock.write(out, () => session.pendingBodies > 0 && flush());
      };
      flush();
      sock.on('data', (d) => {
        session.receive(d);
        flush();
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as net.AddressInfo).port;
    const node = http2.connect(`http://127.0.0.1:${port}`);
    const sent: string[] = [];
    const printable = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join('');
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        // Every printable character in some path: nghttp2 Huffman-codes them, we decode.
        const rest = printable.slice(i % 90, (i % 90) + 8).replace(/[#?%]/g, 'x');
        const path = `/${i}/${rest}`;
        sent.push(path);
        return new Promise<[number, number]>((resolve, reject) => {
          const req = node.request({ ':path': path, ':method': i % 10 === 0 ? 'HEAD' : 'GET' });
          let status = 0;
          let n = 0;
          req.on('response', (h) => (status = Number(h[':status'])));
          req.on('data', (d: Buffer) => (n += d.length));
          req.on('end', () => resolve([status, n]));
          req.on('error', reject);
          req.end();
        });
      }),
    );
    node.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => tcp.close(() => r()));
    assert.deepEqual([...paths].sort(), [...sent].sort());
    results.forEach(([status, n], i) => {
      assert.equal(status, 200);
      assert.equal(n, i % 10 === 0 ? 0 : body.length, `request ${i}`);
    });
  });
  it('our client session against nginx (listen ssl http2): 1000 requests, statuses and bodies as its access log says', async function () {
    const { bin, why } = ensureNginx();
    if (!bin) {
      console.log(`      skipped: ${why}`);
      return this.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-h2-nginx-'));
    // nginx's worker (nobody, when started as root) must be able to read the files it serves.
    fs.chmodSync(dir, 0o755);
    const port = await getFreePort();
    fs.mkdirSync(path.join(dir, 'www'));
    fs.mkdirSync(path.join(dir, 'tmp'));
    fs.writeFileSync(path.join(dir, 'www', 'big'), crypto.randomBytes(1_000_000));
    fs.writeFileSync(path.join(dir, 'www', 'mid'), crypto.randomBytes(70_000));
    const t = path.join(dir, 'tmp');
    fs.writeFileSync(
      path.join(dir, 'nginx.conf'),
      `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log crit;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${t}; proxy_temp_path ${t}; fastcgi_temp_path ${t}; uwsgi_temp_path ${t}; scgi_temp_path ${t};
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${fixture('localhost.pem')}; ssl_certificate_key ${fixture('localhost.key')};
    root ${dir}/www;
    location = /ok { return 200 "ok"; }
  }
}
`,
    );
    const nginx: ChildProcess = spawn(bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100; i++) {
        const up = await new Promise<boolean>((r) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); r(true); }).once('error', () => r(false)));
        if (up) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const paths = ['/ok', '/big', '/mid', '/missing'];
      const want: Record<string, [number, number]> = { '/ok': [200, 2], '/big': [200, 1_000_000], '/mid': [200, 70_000], '/missing': [404, -1] };
      const { log, events } = clientLog();
      const client = new H2ClientSession(events);
      const socket = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false });
      const byId = new Map<number, string>();
      const total = 1000;
      const openMore = () => {
        while (byId.size < total && client.canOpenStream()) {
          const p = paths[byId.size % paths.length];
          byId.set(client.request({ method: 'GET', path: p, authority: 'localhost', headers: [['user-agent', 'iocptls-test']] }), p);
        }
        const out = client.takeOutput();
        if (out) socket.write(out);
      };
      await new Promise<void>((resolve, reject) => {
        socket.on('secureConnect', () => {
          client.start();
          openMore();
        });
        socket.on('data', (d: Buffer) => {
          client.receive(d);
          if (log.errors.length) return reject(new Error(log.errors[0][0]));
          openMore();
          if (log.ends.length + log.resets.length === total) resolve();
        });
        socket.on('error', reject);
      });
      socket.destroy();
      assert.deepEqual(log.resets, []);
      const status = new Map(log.heads.map(([id, st]) => [id, st]));
      for (const [id, p] of byId) {
        assert.equal(status.get(id), want[p][0], `${p} on stream ${id}`);
        if (want[p][1] >= 0) assert.equal(log.data.get(id), want[p][1], `${p} on stream ${id}`);
      }
      // nginx's own count: one access log line per request, with the same statuses.
      await new Promise((r) => setTimeout(r, 200));
      const lines = fs.readFileSync(path.join(dir, 'access.log'), 'utf8').trim().split('\n');
      assert.equal(lines.length, total);
      assert.equal(lines.filter((l) => / 404 /.test(l)).length, total / 4);
    } finally {
      nginx.kill('SIGTERM');
      await new Promise((r) => nginx.once('exit', r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
