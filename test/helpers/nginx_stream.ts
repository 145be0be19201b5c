// nginx as an independent TLS peer for resumption: a `stream` server (no HTTP request needed, so
// it counts every handshake) configured for one resumption mechanism, logging $ssl_session_reused
// per connection. nginx and its stream module are installed with apt-get when missing and we are
// root (CI's .ci/run installs them first); otherwise the tests that need them are skipped, saying why.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fixture } from './cli';
import { getFreePort } from './free_port';
import { ensureNginx } from './nginx';

const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
let tried = false;

/** The nginx binary with its stream module, installing them if we can; undefined with a reason otherwise. */
export function findStreamNginx(): { bin?: string; why?: string } {
  const n = ensureNginx();
  if (!n.bin) return n;
  if (!fs.existsSync(STREAM_MODULE) && !tried && process.getuid?.() === 0 && fs.existsSync('/usr/bin/apt-get')) {
    tried = true;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['install', '-y', '-qq', 'libnginx-mod-stream'], { stdio: 'ignore', env, timeout: 300_000 });
  }
  if (!fs.existsSync(STREAM_MODULE)) return { why: `nginx's stream module is missing (${STREAM_MODULE}: apt-get install libnginx-mod-stream)` };
  return n;
}

export interface StreamNginx {
  port: number;
  /** $ssl_session_reused of each connection logged so far ('r' or '.'). */
  reuse(): { total: number; reused: number };
  stop(): Promise<void>;
}

/**
 * One TLS stream server on 127.0.0.1 (TLS 1.2 only, so session IDs exist) that resumes by
 * `tickets` only (session cache off) or by session `ids` only (tickets off, shared cache on).
 */
export async function startStreamNginx(resumeBy: 'tickets' | 'ids', bin: string): Promise<StreamNginx> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-nginx-'));
  const port = await getFreePort();
  const log = path.join(dir, 'reuse.log');
  const conf = `load_module ${STREAM_MODULE};
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
events { worker_connections 1024; }
stream {
  log_format reuse '$ssl_session_reused';
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${fixture('localhost.pem')};
    ssl_certificate_key ${fixture('localhost.key')};
    ssl_protocols TLSv1.2;
    ${resumeBy === 'tickets' ? 'ssl_session_tickets on; ssl_session_cache off;' : 'ssl_session_tickets off; ssl_session_cache shared:iocptls:1m;'}
    access_log ${log} reuse;
    return "";
  }
}
`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  // master_process off: one process that logs each connection as it closes, and stops on SIGQUIT.
  const p: ChildProcess = spawn(bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (up) break;
    if (Date.now() > deadline || p.exitCode !== null) {
      p.kill('SIGKILL');
      throw new Error(`nginx did not start: ${fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // The probe above is a connection too: count from here.
  await new Promise((r) => setTimeout(r, 100));
  const skip = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0;
  return {
    port,
    reuse: () => {
      const lines = (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '').split('\n').filter(Boolean).slice(skip);
      return { total: lines.length, reused: lines.filter((l) => l === 'r').length };
    },
    stop: async () => {
      p.kill('SIGQUIT');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
