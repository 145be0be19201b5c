// Independent observers for the bench tests: Node.js TLS/TCP servers in the test process that
// count, from their own side, what iocptls bench claims to have done (handshakes, resumptions,
// bytes, echoed messages), plus one that stalls handshakes on a schedule (for open-loop tests).
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { fixture } from './cli';

export const CERT = { cert: fs.readFileSync(fixture('localhost.pem')), key: fs.readFileSync(fixture('localhost.key')) };

export type PeerMode = 'idle' | 'sink' | 'source' | 'echo';

export interface CountingServer {
  port: number;
  server: tls.Server;
  /** Completed handshakes (secureConnection events). */
  handshakes: number;
  /** Of those, how many the server resumed (isSessionReused()). */
  reused: number;
  /** Application bytes the server read. */
  bytesIn: number;
  /** Application bytes the server handed to write(). */
  bytesOut: number;
  /** TCP connections accepted. */
  accepted: number;
  /** Sockets still open. */
  readonly open: number;
  /** Resolves once every accepted socket has closed (rejects after timeoutMs). */
  idle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A Node TLS server on 127.0.0.1:0 that counts. sink: reads and counts; source: writes as fast
 * as the socket drains; echo: writes back what it reads; idle: reads (and discards) whatever comes.
 * `wrap` may hold a raw TCP socket before the TLS server sees it (see stallingServer).
 */
export function startCountingServer(options: tls.TlsOptions, mode: PeerMode = 'idle'): Promise<CountingServer> {
  const sockets = new Set<net.Socket>();
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  const server = tls.createServer({ ...CERT, ...options }, (s) => {
    c.handshakes++;
    if (s.isSessionReused()) c.reused++;
    s.on('error', () => {}); // bench resets connections: that is its business, not a crash here
    s.on('data', (d: Buffer) => {
      c.bytesIn += d.length;
      if (mode === 'echo') {
        c.bytesOut += d.length;
        s.write(d);
      }
    });
    if (mode === 'source') {
      const pump = () => {
        while (!s.destroyed && s.writable) {
          c.bytesOut += chunk.length;
          if (!s.write(chunk)) return;
        }
      };
      s.on('drain', pump);
      pump();
    }
  });
  server.on('tlsClientError', () => {});
  server.on('connection', (s: net.Socket) => {
    c.accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const c: CountingServer = {
    port: 0,
    server,
    handshakes: 0,
    reused: 0,
    bytesIn: 0,
    bytesOut: 0,
    accepted: 0,
    get open() {
      return sockets.size;
    },
    idle: async (timeoutMs = 5000) => {
      const end = Date.now() + timeoutMs;
      while (sockets.size > 0) {
        if (Date.now() > end) throw new Error(`${sockets.size} sockets still open on the Node server`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      c.port = (server.address() as net.AddressInfo).port;
      resolve(c);
    });
  });
}

/**
 * A TLS server whose handshakes stall on a schedule, the way a GC pause or a blocked event
 * loop stalls a real one: a TCP front accepts every connection at once, but one that arrives
 * in the first `stallMs` of each `periodMs` is handed to the TLS server only when that window
 * ends, so its handshake takes up to stallMs longer. Outside the windows there is no delay.
 */
export async function startStallingServer(stallMs: number, periodMs: number): Promise<CountingServer & { stalled: number }> {
  const inner = await startCountingServer({ minVersion: 'TLSv1.3' });
  inner.server.close(); // the TLS server only gets sockets from the front below
  const t0 = Date.now();
  const sockets = new Set<net.Socket>();
  const result = inner as CountingServer & { stalled: number };
  result.stalled = 0;
  const front = net.createServer({ pauseOnConnect: true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    const phase = (Date.now() - t0) % periodMs;
    const hand = () => {
      if (!sock.destroyed) inner.server.emit('connection', sock);
    };
    if (phase < stallMs) {
      result.stalled++;
      setTimeout(hand, stallMs - phase);
    } else hand();
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(0, '127.0.0.1', () => resolve());
  });
  result.port = (front.address() as net.AddressInfo).port;
  result.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      front.close(() => r());
    });
  return result;
}

/**
 * A TCP server that accepts and at once resets (RST, no TLS at all) every `resetOneIn`th
 * connection; the others go to a Node TLS server (TLS 1.3), which counts their handshakes.
 */
export async function startResettingServer(resetOneIn = 1): Promise<CountingServer & { resets: number }> {
  const inner = (await startCountingServer({ minVersion: 'TLSv1.3' })) as CountingServer & { resets: number };
  inner.server.close(); // the TLS server only gets sockets from the front below
  inner.resets = 0;
  let n = 0;
  const sockets = new Set<net.Socket>();
  const front = net.createServer((s) => {
    s.on('error', () => {});
    if (++n % resetOneIn === 0) {
      inner.resets++;
      s.resetAndDestroy();
      return;
    }
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    inner.server.emit('connection', s);
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(0, '127.0.0.1', () => resolve());
  });
  inner.port = (front.address() as net.AddressInfo).port;
  inner.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      front.close(() => r());
    });
  return inner;
}
