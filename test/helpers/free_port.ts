// Free loopback TCP ports for tests. Prefer letting the peer bind port 0 and report its port
// (s_server prints it; Node servers have address()); use this only for peers that cannot.
import net from 'node:net';

/** A port that was free on 127.0.0.1 a moment ago (the kernel picks it; someone may take it before us). */
export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A port with nobody listening on it: bound then closed, so connects to it are refused. */
export const closedPort = getFreePort;
