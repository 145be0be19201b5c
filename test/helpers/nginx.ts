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

/** One line of the access log of startNginxHttp: what nginx itself says it sent. */
export interface AccessLine {
  status: number;
  /** $bytes_sent: head and body, as written to the connection. */
  bytesSent: number;
  /** $body_bytes_sent. */
  bodyBytesSent: number;
  /** $server_protocol: 'HTTP/1.1', 'HTTP/2.0'. */
  protocol: string;
  /** $request_method and $uri. */
  method: string;
  uri: string;
}

export interface NginxHttp {
  port: number;
  /** The access log so far (nginx writes a line as each request ends; call after stop() for all of them). */
  log(): AccessLine[];
  stop(): Promise<void>;
}

/** Whether this nginx takes `http2 on;` (1.25.1 and later) or only `listen ... ssl http2;` (Debian 12's 1.22). */
function http2Directive(bin: string): 'on' | 'listen' {
  // nginx -v prints to stderr.
  const out = execFileSync('sh', ['-c', `'${bin}' -v 2>&1`], { encoding: 'utf8' });
  const m = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(out);
  if (!m) return 'listen';
  const [maj, min, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return maj > 1 || min > 25 || (min === 25 && patch >= 1) ? 'on' : 'listen';
}

/**
 * nginx serving files over HTTPS (HTTP/1.1, and HTTP/2 with `http2`), one worker, an access log
 * of status and bytes per request in a temp dir: the independent count bench http must equal.
 * `files` maps names to sizes (bytes): /NAME answers that many bytes; other paths answer 404.
 */
export async function startNginxHttp(bin: string, opts: { http2?: boolean; files?: Record<string, number>; extra?: string } = {}): Promise<NginxHttp> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-nginx-http-'));
  const port = await getFreePort();
  const t = path.join(dir, 'tmp');
  const root = path.join(dir, 'www');
  fs.mkdirSync(t);
  fs.mkdirSync(root);
  // Run as root, nginx's worker is 'nobody': it must be able to read the files.
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(root, 0o755);
  for (const [name, size] of Object.entries(opts.files ?? { 'index.html': 1024 })) fs.writeFileSync(path.join(root, name), Buffer.alloc(size, 'x'), { mode: 0o644 });
  const logFile = path.join(dir, 'access.log');
  const h2 = opts.http2 ? http2Directive(bin) : undefined;
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log crit;
events { worker_connections 4096; }
http {
  log_format counts '$status $bytes_sent $body_bytes_sent $server_protocol $request_method $uri';
  access_log ${logFile} counts;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path ${t}; proxy_temp_path ${t}; fastcgi_temp_path ${t}; uwsgi_temp_path ${t}; scgi_temp_path ${t};
  server {
    listen 127.0.0.1:${port} ssl${h2 === 'listen' ? ' http2' : ''};
    ${h2 === 'on' ? 'http2 on;' : ''}
    ssl_certificate ${fixture('localhost.pem')};
    ssl_certificate_key ${fixture('localhost.key')};
    root ${root};
    ${opts.extra ?? ''}
  }
}
`
  );
  const child: ChildProcess = spawn(bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
  await waitForPort(port, 10_000);
  const parse = (): AccessLine[] => {
    if (!fs.existsSync(logFile)) return [];
    return fs
      .readFileSync(logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [status, bytesSent, body, protocol, method, uri] = l.split(' ');
        return { status: Number(status), bytesSent: Number(bytesSent), bodyBytesSent: Number(body), protocol, method, uri };
      });
  };
  let final: AccessLine[] | undefined;
  return {
    port,
    log: () => final ?? parse(),
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          final = parse();
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        // A graceful stop: nginx finishes and logs what it is serving, then exits.
        child.kill('SIGQUIT');
      }),
  };
}
