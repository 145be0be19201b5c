// A TLS "server" scripted in a few lines (an independent peer for the scan): it reads the first
// ClientHello, picks per its own configuration and answers with a ServerHello (plus
// ServerHelloDone) or an alert, then closes. It can speak SSL 3.0 and pick RC4 or export suites,
// which no TLS stack on this machine still does, and it can misbehave on purpose.
import crypto from 'node:crypto';
import net from 'node:net';

export interface ScriptedOptions {
  /** Versions it accepts (0x0300..0x0303); it answers the client's version when it is in here. */
  versions: number[];
  /** Its suites in its order of preference. */
  suites: number[];
  /** Follow the client's order instead of its own. */
  clientOrder?: boolean;
  /** Echo the heartbeat extension, and answer a heartbeat request after the ServerHelloDone ('vulnerable') or drop it ('patched'). */
  heartbeat?: 'vulnerable' | 'patched';
  /** Refuse a ClientHello whose version is above what it knows (instead of answering its highest). */
  versionIntolerant?: boolean;
  /** Answer an SSL 2.0 CLIENT-HELLO with a SERVER-HELLO offering these SSL 2 cipher kinds. */
  ssl2?: number[];
  /** Misbehaviour ('random': per connection, a real answer mutated, random bytes, or a stall): 'garbage', 'truncated', 'unoffered' (a suite never offered), 'silent', 'reset', 'huge-length'. */
  hostile?: 'garbage' | 'truncated' | 'unoffered' | 'silent' | 'reset' | 'huge-length' | 'random';
}

export interface Scripted {
  port: number;
  connections: number;
  close(): Promise<void>;
}

function record(type: number, version: number, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt16BE(version, 1);
  h.writeUInt16BE(body.length, 3);
  return Buffer.concat([h, body]);
}

function handshake(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  h.writeUIntBE(body.length, 1, 3);
  return Buffer.concat([h, body]);
}

const alert = (v: number, d: number) => record(21, v, Buffer.from([2, d]));

function serverHello(version: number, suite: number, heartbeat = false): Buffer {
  const b = Buffer.alloc(2 + 32 + 1 + 2 + 1 + 2 + 5 + (heartbeat ? 5 : 0));
  let o = b.writeUInt16BE(version, 0);
  o += 32; // zero random
  b[o++] = 0; // empty session id
  o = b.writeUInt16BE(suite, o);
  b[o++] = 0; // null compression
  o = b.writeUInt16BE(heartbeat ? 10 : 5, o); // extensions: renegotiation_info (+ heartbeat)
  o = b.writeUInt16BE(0xff01, o);
  o = b.writeUInt16BE(1, o);
  b[o++] = 0;
  if (heartbeat) {
    o = b.writeUInt16BE(0x000f, o);
    o = b.writeUInt16BE(1, o);
    b[o] = 1;
  }
  return Buffer.concat([handshake(2, b), handshake(14, Buffer.alloc(0))]);
}

/** SSL 2.0 SERVER-HELLO: no certificate (length 0), these cipher kinds, a 16-byte connection id. */
function ssl2ServerHello(ciphers: number[]): Buffer {
  const specs = Buffer.alloc(ciphers.length * 3);
  ciphers.forEach((c, i) => specs.writeUIntBE(c, i * 3, 3));
  const head = Buffer.from([4, 0, 1, 0, 2, 0, 0, specs.length >> 8, specs.length & 0xff, 0, 16]);
  const body = Buffer.concat([head, specs, Buffer.alloc(16, 7)]);
  return Buffer.concat([Buffer.from([0x80 | (body.length >> 8), body.length & 0xff]), body]);
}

/** The client's version and suites, or undefined when it is not a TLS ClientHello in one record. */
function parseClientHello(buf: Buffer): { version: number; suites: number[] } | undefined {
  if (buf.length < 5 || buf[0] !== 22) return undefined;
  const len = buf.readUInt16BE(3);
  if (buf.length < 5 + len) return undefined;
  const m = buf.subarray(5, 5 + len);
  if (m[0] !== 1) return undefined;
  const version = m.readUInt16BE(4);
  let o = 4 + 2 + 32;
  o += 1 + m[o];
  const n = m.readUInt16BE(o);
  const suites: number[] = [];
  for (let i = 0; i < n; i += 2) suites.push(m.readUInt16BE(o + 2 + i));
  return { version, suites };
}

export function startScripted(o: ScriptedOptions): Promise<Scripted> {
  const sockets = new Set<net.Socket>();
  const s: Scripted = { port: 0, connections: 0, close: async () => {} };
  const server = net.createServer((sock) => {
    s.connections++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let helloDone = false;
    sock.on('data', (d) => {
      if (helloDone) {
        // After our ServerHelloDone: a heartbeat request gets the "leak" from a vulnerable server.
        if (d[0] === 24 && o.heartbeat === 'vulnerable') sock.end(record(24, 0x0303, Buffer.alloc(64, 0x41)));
        return;
      }
      buf = Buffer.concat([buf, d]);
      if (o.hostile === 'silent') return;
      if (o.hostile === 'reset') return sock.resetAndDestroy();
      if (o.hostile === 'garbage') return void sock.end(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
      if (o.hostile === 'random') {
        const real = (() => {
          const ch = parseClientHello(buf);
          return ch ? record(22, 0x0303, serverHello(0x0303, ch.suites[0] ?? 0xc02f)) : Buffer.alloc(0);
        })();
        const roll = Math.random();
        if (roll < 0.1) return; // stall
        if (roll < 0.4) return void sock.end(crypto.randomBytes(1 + Math.floor(Math.random() * 200)));
        const b = Buffer.from(real);
        for (let i = 0; i < 1 + Math.random() * 4; i++) if (b.length) b[Math.floor(Math.random() * b.length)] ^= 1 << Math.floor(Math.random() * 8);
        return void sock.end(b.subarray(0, Math.floor(Math.random() * (b.length + 1))));
      }
      if (o.hostile === 'huge-length') return void sock.end(Buffer.from([22, 3, 3, 0xff, 0xff, 2, 0, 0]));
      const ch = parseClientHello(buf);
      if (!ch) {
        if (buf[0] & 0x80) sock.end(o.ssl2 ? ssl2ServerHello(o.ssl2) : alert(0x0301, 70)); // SSL 2.0: refuse like modern servers
        return;
      }
      const v = ch.version >= 0x0304 && !o.versionIntolerant ? 0x0303 : ch.version;
      if (!o.versions.includes(v)) return void sock.end(alert(0x0301, 70));
      if (o.hostile === 'unoffered') return void sock.end(record(22, v, serverHello(v, 0xc0ff)));
      const pick = o.clientOrder ? ch.suites.find((x) => o.suites.includes(x)) : o.suites.find((x) => ch.suites.includes(x));
      if (pick === undefined) return void sock.end(alert(v, 40));
      const answer = record(22, v, serverHello(v, pick, !!o.heartbeat));
      if (o.hostile === 'truncated') return void sock.end(answer.subarray(0, answer.length - 7));
      if (o.heartbeat) {
        helloDone = true;
        return void sock.write(answer);
      }
      sock.end(answer);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      s.port = (server.address() as net.AddressInfo).port;
      s.close = () =>
        new Promise<void>((r) => {
          for (const x of sockets) x.destroy();
          server.close(() => r());
        });
      resolve(s);
    });
  });
}
