// Tiny TLS servers for bench http tests: HTTP/1.1 answered by hand, HTTP/2 frames written by
// hand, to play the peers that do what real servers should not.
import fs from 'node:fs';
import http2 from 'node:http2';
import type net from 'node:net';
import tls from 'node:tls';
import { fixture } from './cli';
import { frame } from './h2_frames';

export const creds = () => ({ cert: fs.readFileSync(fixture('localhost.pem')), key: fs.readFileSync(fixture('localhost.key')) });

export interface Closable {
  port: number;
  close(): Promise<void>;
}

export function listen(server: tls.Server | http2.Http2SecureServer, onClose?: () => void): Promise<Closable> {
  return new Promise((resolve) => {
    const sockets = new Set<net.Socket>();
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            onClose?.();
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      })
    );
  });
}

/** A TLS server that answers each HTTP/1.1 request head with `answer(n)` (n counts from 0), or does what it says. */
export function h1Server(answer: (socket: tls.TLSSocket, n: number) => void): Promise<Closable> {
  let n = 0;
  // No ALPN: a server from before it, as a client offering h2 only may meet.
  const server = tls.createServer(creds(), (socket) => {
    let buf = '';
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        buf = buf.slice(i + 4);
        answer(socket, n++);
      }
    });
  });
  return listen(server);
}

/**
 * A raw HTTP/2 server over TLS, frames written by hand, to do what Node's http2 would not: each
 * request (HEADERS from the client) gets `answer(id, n)`'s frames (n counts requests on the
 * connection from 0). The client's SETTINGS are acknowledged; everything else it sends is ignored.
 */
export function rawH2Server(answer: (id: number, n: number) => Buffer[]): Promise<Closable> {
  const server = tls.createServer({ ...creds(), ALPNProtocols: ['h2'] }, (socket) => {
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let preface = false;
    let n = 0;
    socket.write(frame(4, 0, 0)); // our (empty) SETTINGS
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!preface) {
        if (buf.length < 24) return;
        buf = buf.subarray(24);
        preface = true;
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) return;
        const type = buf[3];
        const flags = buf[4];
        const id = buf.readUInt32BE(5) & 0x7fffffff;
        buf = buf.subarray(9 + len);
        if (type === 4 && !(flags & 1)) socket.write(frame(4, 1, 0)); // SETTINGS ACK
        if (type === 1) for (const f of answer(id, n++)) socket.write(f);
      }
    });
  });
  return listen(server);
}

/** HEADERS with :status 200 (HPACK static index 8), END_HEADERS, and END_STREAM when `end`. */
export const h2Status200 = (id: number, end: boolean) => frame(1, 0x4 | (end ? 0x1 : 0), id, [0x88]);
export const h2Data = (id: number, bytes: number, end: boolean) => frame(0, end ? 0x1 : 0, id, Buffer.alloc(bytes, 'd'));

