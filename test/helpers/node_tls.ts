// A Node.js TLS server in the test process (an independent peer: Node's TLS stack, not our
// engine) that records what each connection negotiated from the server's side.
import net from 'node:net';
import tls from 'node:tls';

export interface ServerSeen {
  protocol: string | null;
  cipher: tls.CipherNameAndProtocol;
  alpn: string | false | null;
  servername: string | false | null;
  reused: boolean;
  /** Subject of the client certificate, when one was presented and checked. */
  peerSubject?: Record<string, string>;
  authorized: boolean;
}

export interface NodeTlsServer {
  port: number;
  server: tls.Server;
  /** One entry per completed handshake, in order. */
  seen: ServerSeen[];
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1:0. `onSocket` decides what each secure socket does (default: nothing;
 * the client closes). Connections are destroyed on close() so after() never hangs.
 */
export function startNodeTlsServer(options: tls.TlsOptions, onSocket?: (s: tls.TLSSocket) => void): Promise<NodeTlsServer> {
  const seen: ServerSeen[] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(options, (s) => {
    const cert = s.getPeerCertificate();
    seen.push({
      protocol: s.getProtocol(),
      cipher: s.getCipher(),
      alpn: s.alpnProtocol,
      servername: (s as unknown as { servername: string | false | null }).servername,
      reused: s.isSessionReused(),
      peerSubject: cert && Object.keys(cert).length ? (cert.subject as unknown as Record<string, string>) : undefined,
      authorized: s.authorized,
    });
    s.on('error', () => {}); // the client may reset; that is the test's business, not a crash
    if (onSocket) onSocket(s);
    else s.resume();
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => {});
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        server,
        seen,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

/** Echoes every byte back, then ends when the client ends. */
export function echo(s: tls.TLSSocket): void {
  s.pipe(s);
}

/** A plain TCP server that accepts and never says a word (for timeouts). */
export function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      })
    );
  });
}
