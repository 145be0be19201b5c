#!/usr/bin/env node
'use strict';
// `iocptls scan` against sslscan (and nmap's ssl-enum-ciphers and testssl.sh when installed), on
// loopback against one nginx, optionally through a proxy that adds round-trip time (--rtt MS: each
// direction's bytes are held RTT/2 ms, and so is the connect, like a distant server).
// Each tool in turn, interleaved over --rounds; wall time of the whole process (startup included,
// as a user waits for it); medians; ratio iocptls / other. Then the findings are compared: the
// accepted cipher suites per protocol version that iocptls reports against sslscan's.
// sslscan is installed with apt-get when missing and we are root (it is not needed by the tests).
//
//   node bench/scan.js [--rounds 3] [--rtt 0] [--concurrency 8]
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const ROUNDS = opt('rounds', 3);
const RTT = opt('rtt', 0);
const CONCURRENCY = opt('concurrency', 32);
// --skip testssl,nmap: leave tools out (testssl.sh takes about a minute per run).
const SKIP = (args.includes('--skip') ? args[args.indexOf('--skip') + 1] : '').split(',');
// --root DIR: the iocptls checkout whose bin/run.js is measured (default: this one), for before/after.
const IOCPTLS_ROOT = args.includes('--root') ? path.resolve(args[args.indexOf('--root') + 1]) : ROOT;

const which = (b) => {
  for (const d of (process.env.PATH || '').split(':')) if (fs.existsSync(path.join(d, b))) return path.join(d, b);
  return undefined;
};

function ensureSslscan() {
  if (which('sslscan')) return which('sslscan');
  if (process.getuid?.() === 0 && which('apt-get')) {
    try {
      execFileSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sslscan'], { stdio: 'ignore', timeout: 300_000 });
    } catch {
      // reported below
    }
  }
  return which('sslscan');
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function startNginx() {
  const bin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
  if (!bin) throw new Error('nginx is not installed (apt-get install nginx)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-bench-scan-'));
  const port = await freePort();
  const t = path.join(dir, 'tmp');
  fs.mkdirSync(t);
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log crit;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${t}; proxy_temp_path ${t}; fastcgi_temp_path ${t}; uwsgi_temp_path ${t}; scgi_temp_path ${t};
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${ROOT}/fixtures/rsa.pem; ssl_certificate_key ${ROOT}/fixtures/rsa.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:AES128-SHA;
    ssl_prefer_server_ciphers on;
    location / { return 200 "ok"; }
  }
}
`
  );
  const child = spawn(bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, stop: () => child.kill('SIGTERM') };
}

/** A TCP proxy that delays the connect and each chunk by rtt/2 in each direction. */
function startDelayProxy(targetPort, rtt) {
  const half = rtt / 2;
  const server = net.createServer((c) => {
    c.pause();
    const later = (fn) => setTimeout(fn, half);
    const up = net.connect(targetPort, '127.0.0.1');
    up.on('connect', () => later(() => c.resume()));
    c.on('data', (d) => later(() => up.write(d)));
    up.on('data', (d) => later(() => c.write(d)));
    c.on('end', () => later(() => up.end()));
    up.on('end', () => later(() => c.end()));
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
    c.on('close', () => later(() => up.destroy()));
    up.on('close', () => later(() => c.destroy()));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, stop: () => server.close() })));
}

function run(cmd, argv) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err, s: Number(process.hrtime.bigint() - t0) / 1e9 }));
  });
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** sslscan's accepted suites: "Preferred TLSv1.2  128 bits  ECDHE-RSA-AES128-GCM-SHA256 ..." */
function sslscanSuites(out) {
  const m = new Map();
  for (const line of out.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
    const x = /^(Preferred|Accepted)\s+(\S+)\s+\d+ bits\s+(\S+)/.exec(line.trim());
    if (!x) continue;
    if (!m.has(x[2])) m.set(x[2], new Set());
    m.get(x[2]).add(x[3]);
  }
  return m;
}

function iocptlsSuites(doc) {
  const m = new Map();
  for (const c of doc.hosts[0].ciphers) m.set(c.version, new Set(c.suites.map((s) => s.openssl)));
  return m;
}

(async () => {
  const sslscan = ensureSslscan();
  const nmap = which('nmap');
  const testssl = which('testssl.sh') || which('testssl');
  const nginx = await startNginx();
  const proxy = RTT ? await startDelayProxy(nginx.port, RTT) : undefined;
  const port = proxy ? proxy.port : nginx.port;
  const target = `127.0.0.1:${port}`;
  const tools = [
    { name: 'iocptls scan', cmd: process.execPath, argv: [path.join(IOCPTLS_ROOT, 'bin', 'run.js'), 'scan', target, '--json', '--concurrency', String(CONCURRENCY)] },
  ];
  if (sslscan) tools.push({ name: 'sslscan', cmd: sslscan, argv: ['--no-colour', target] });
  else console.log('sslscan: not installed (apt-get install sslscan), skipped');
  if (nmap && !SKIP.includes('nmap')) tools.push({ name: 'nmap ssl-enum-ciphers', cmd: nmap, argv: ['-Pn', '-p', String(port), '--script', 'ssl-enum-ciphers', '127.0.0.1'] });
  if (testssl && !SKIP.includes('testssl')) tools.push({ name: 'testssl.sh', cmd: testssl, argv: ['--quiet', '--color', '0', target] });
  const times = new Map(tools.map((t) => [t.name, []]));
  const inside = [];
  let lastDoc;
  let lastSslscan;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of tools) {
        const res = await run(t.cmd, t.argv);
        if (t.name === 'iocptls scan') {
          if (res.code !== 0) throw new Error(`iocptls scan exited ${res.code}: ${res.err}`);
          lastDoc = JSON.parse(res.out);
          inside.push(lastDoc.durationMs / 1000);
        }
        if (t.name === 'sslscan') lastSslscan = res.out;
        times.get(t.name).push(res.s);
      }
    }
  } finally {
    proxy?.stop();
    nginx.stop();
  }
  console.log(`target: nginx on loopback${RTT ? ` behind a proxy adding ${RTT} ms RTT` : ''}; ${ROUNDS} rounds, medians, wall time of each process`);
  const ours = median(times.get('iocptls scan'));
  for (const [name, t] of times) {
    const m = median(t);
    console.log(`  ${name.padEnd(22)} ${m.toFixed(3)} s${name === 'iocptls scan' ? `  (scan itself ${median(inside).toFixed(3)} s, ${lastDoc.hosts[0].probes.total} probes)` : `  iocptls/${name} = ${(ours / m).toFixed(2)}`}`);
  }
  if (lastSslscan) {
    const a = iocptlsSuites(lastDoc);
    const b = sslscanSuites(lastSslscan);
    let same = true;
    for (const v of new Set([...a.keys(), ...b.keys()])) {
      const x = [...(a.get(v) || [])].sort();
      const y = [...(b.get(v) || [])].sort();
      const eq = JSON.stringify(x) === JSON.stringify(y);
      same &&= eq;
      console.log(`  ${v}: ${eq ? 'same suites' : `DIFFER: iocptls ${x.join(',') || '-'} / sslscan ${y.join(',') || '-'}`}`);
    }
    console.log(same ? 'findings agree with sslscan (accepted suites per version)' : 'findings DIFFER from sslscan');
  }
})().catch((e) => {
  console.error(`bench/scan: ${e.message}`);
  process.exit(1);
});
