// nginx as an independent server for bench tests: one worker, a TLS server block that answers
// every request (and handshake-only clients) and a plain stub_status port, whose `accepts` counts
// the TCP connections nginx took — what our connect counts must add up to.
// Installed with apt-get when missing (root on Debian, as on CI); otherwise tests skip, saying why.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fixture } from './cli';
import { getFreePort } from './free_port';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'];

/** The nginx binary, installing it if we can; undefined (with the reason) when not. */
export function ensureNginx(): { bin?: string; why?: string } {
  let bin = NGINX.find((p) => fs.existsSync(p));
  if (bin) return { bin };
  if (process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/apt-get')) return { why: 'nginx is not installed (apt-get install nginx)' };
  try {
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx'], { stdio: 'ignore', timeout: 300_000 });
  } catch {
    return { why: 'apt-get install nginx failed' };
  }
  bin = NGINX.find((p) => fs.existsSync(p));
  return bin ? { bin } : { why: 'nginx still missing after apt-get' };
}

export interface Nginx {
  port: number;
  /** stub_status as nginx reports it: every call is itself one more accepted connection and request. */
  status(): Promise<{ active: number; accepts: number; handled: number; requests: number }>;
  stop(): Promise<void>;
}

export async function startNginx(bin: string, extra = ''): Promise<Nginx> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-nginx-'));
  const port = await getFreePort();
  const statusPort = await getFreePort();
  const t = path.join(dir, 'tmp');
  fs.mkdirSync(t);
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${t}; proxy_temp_path ${t}; fastcgi_temp_path ${t}; uwsgi_temp_path ${t}; scgi_temp_path ${t};
  server { listen 127.0.0.1:${statusPort}; location = /status { stub_status; } }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${fixture('localhost.pem')};
    ssl_certificate_key ${fixture('localhost.key')};
    ssl_session_tickets off; ssl_session_cache off;
    ${extra}
    location / { return 200 "ok"; }
  }
}
`
  );
  const child: ChildProcess = spawn(bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
  for (const p of [port, statusPort]) await waitForPort(p, 10_000);
  const status = () =>
    new Promise<{ active: number; accepts: number; handled: number; requests: number }>((resolve, reject) => {
      http
        // A fresh connection each time (Node's default agent keeps connections alive): each call is one accept.
        .get({ host: '127.0.0.1', port: statusPort, path: '/status', agent: false }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => {
            const m = /Active connections:\s*(\d+)\s+server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)/.exec(body);
            if (!m) return reject(new Error(`unexpected stub_status: ${body}`));
            resolve({ active: Number(m[1]), accepts: Number(m[2]), handled: Number(m[3]), requests: Number(m[4]) });
          });
        })
        .on('error', reject);
    });
  return {
    port,
    status,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGQUIT');
      }),
  };
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nginx did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
