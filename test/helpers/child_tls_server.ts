// A Node.js TLS server in a child process, so a test can kill it mid-run (SIGKILL: no
// close_notify, no FIN handshake of its own) and see what the client makes of a dying server.
import { ChildProcess, spawn } from 'node:child_process';
import { fixture } from './cli';

const SCRIPT = `
const tls = require('node:tls');
const fs = require('node:fs');
const [cert, key, mode] = process.argv.slice(1);
const chunk = Buffer.alloc(16384, 0x61);
let first = true;
const server = tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (s) => {
  if (first) { first = false; process.stdout.write('connected\\n'); }
  s.on('error', () => {});
  if (mode === 'source') {
    const pump = () => { while (!s.destroyed && s.write(chunk)); };
    s.on('drain', pump);
    pump();
  } else s.resume();
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

export interface ChildServer {
  port: number;
  child: ChildProcess;
  /** Resolves at the first completed handshake: the client is running (whatever the machine's load). */
  firstConnection: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** mode: 'source' streams 16 KiB writes as fast as the client reads; 'idle' reads and discards. */
export function startChildTlsServer(mode: 'source' | 'idle'): Promise<ChildServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', SCRIPT, fixture('localhost.pem'), fixture('localhost.key'), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let connected: () => void = () => {};
    const firstConnection = new Promise<void>((r) => (connected = r));
    let resolved = false;
    child.on('error', reject);
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (/\nconnected\n/.test(out)) connected();
      const m = /^(\d+)\n/.exec(out);
      if (m && !resolved) {
        resolved = true;
        resolve({
          port: Number(m[1]),
          child,
          firstConnection,
          kill: (signal = 'SIGKILL') =>
            new Promise<void>((r) => {
              if (child.exitCode !== null || child.signalCode !== null) return r();
              child.once('exit', () => r());
              child.kill(signal);
            }),
        });
      }
    });
  });
}
