// Starts `openssl s_server` (an independent TLS peer) on a free loopback port and waits until it
// listens. s_server binds port 0 itself and prints `ACCEPT 127.0.0.1:PORT`, so there is no race
// for the port. Everything it prints (stdout + stderr: -www banners, -trace, -msg) is kept.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { ROOT, fixture } from './cli';

export interface SServer {
  port: number;
  /** Everything s_server printed so far (stop() first to be sure it is all there). */
  output(): string;
  /** Resolves once the output matches (e.g. after a connection, to read its -trace). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /**
   * Kills it and waits until its pipes are read; idempotent. s_server's stdout is block-buffered
   * when piped and a kill loses the rest: to read all of -trace/-msg, start it with
   * `-naccept N` and await exited() instead.
   */
  stop(): Promise<void>;
  /** Resolves when s_server exits by itself (after -naccept N connections) and its output is all read. */
  exited(timeoutMs?: number): Promise<void>;
  proc: ChildProcess;
}

export interface SServerOptions {
  /** Certificate and key (default: fixtures/localhost.pem/.key). */
  cert?: string;
  key?: string;
  /** Extra s_server arguments, e.g. ['-www', '-tls1_2', '-alpn', 'h2']. */
  args?: string[];
  /** The openssl binary (default: `openssl` on PATH). */
  openssl?: string;
  startTimeoutMs?: number;
}

const live = new Set<SServer>();

export function startSServer(o: SServerOptions = {}): Promise<SServer> {
  const args = [
    's_server',
    '-accept',
    '127.0.0.1:0',
    '-cert',
    o.cert ?? fixture('localhost.pem'),
    '-key',
    o.key ?? fixture('localhost.key'),
    ...(o.args ?? []),
  ];
  const proc = spawn(o.openssl ?? 'openssl', args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let text = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const onText = (d: Buffer) => {
    text += d.toString('latin1');
    for (let i = waiters.length - 1; i >= 0; i--) {
      const m = text.match(waiters[i].re);
      if (m) {
        waiters[i].resolve(m);
        waiters.splice(i, 1);
      }
    }
  };
  proc.stdout!.on('data', onText);
  proc.stderr!.on('data', onText);
  let exited = false;
  // 'close' (not 'exit'): by then everything s_server wrote to its pipes has been read.
  const exit = new Promise<void>((r) => proc.once('close', () => ((exited = true), r())));

  const waitFor = (re: RegExp, timeoutMs = 5000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const m = text.match(re);
      if (m) return resolve(m);
      const t = setTimeout(() => reject(new Error(`s_server output never matched ${re}:\n${text.slice(-3000)}`)), timeoutMs);
      waiters.push({ re, resolve: (x) => (clearTimeout(t), resolve(x)) });
      void exit.then(() => {
        const i = waiters.findIndex((w) => w.re === re);
        if (i >= 0 && !text.match(re)) reject(new Error(`s_server exited before printing ${re}:\n${text.slice(-3000)}`));
      });
    });

  const server: SServer = {
    port: 0,
    proc,
    output: () => text,
    waitFor,
    exited: (timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`s_server did not exit:\n${text.slice(-3000)}`)), timeoutMs);
        void exit.then(() => (clearTimeout(t), live.delete(server), resolve()));
      }),
    async stop() {
      live.delete(server);
      if (!exited) proc.kill('SIGKILL');
      await exit;
    },
  };
  live.add(server);
  return waitFor(/ACCEPT \S+:(\d+)/, o.startTimeoutMs ?? 5000).then(
    (m) => {
      server.port = Number(m[1]);
      return server;
    },
    async (e) => {
      await server.stop();
      throw e;
    }
  );
}

/** Stops every s_server still running (for an after() hook or process exit). */
export async function stopAllSServers(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop()));
}

process.once('exit', () => {
  for (const s of live) s.proc.kill('SIGKILL');
});

/** The SHA-256 fingerprint of a PEM certificate as `openssl x509` prints it (AA:BB:...), independent of our code. */
export function opensslFingerprint256(pemFile: string): string {
  const out = execFileSync('openssl', ['x509', '-fingerprint', '-sha256', '-noout', '-in', pemFile], { encoding: 'utf8' });
  return out.trim().replace(/^.*=/, '');
}

/** What s_server's -www page says the server negotiated (its own view of the connection). */
export interface WwwPage {
  protocol?: string;
  cipher?: string;
  /** 'Reused, ' vs 'New, ' before the cipher line. */
  reused?: boolean;
  sharedGroups?: string[];
  /** The client certificate s_server saw, if any. */
  clientCert: boolean;
}

export function parseWwwPage(page: string): WwwPage {
  const field = (name: string) => new RegExp(`^\\s*${name}\\s*:\\s*(.+)$`, 'm').exec(page)?.[1].trim();
  const shared = /^Shared groups: (.+)$/m.exec(page)?.[1].trim();
  const nr = /^(New|Reused), /m.exec(page)?.[1];
  return {
    protocol: field('Protocol'),
    cipher: field('Cipher'),
    reused: nr === undefined ? undefined : nr === 'Reused',
    sharedGroups: shared ? shared.split(':') : undefined,
    clientCert: !/no client certificate available/.test(page),
  };
}
