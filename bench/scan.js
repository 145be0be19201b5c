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
//   node bench/scan.js [--rounds 3] [--rtt 0] [--concurrency 32] [--skip testssl,nmap] [--root DIR]
//   node bench/scan.js --targets 200      targets per second: one `scan --targets FILE --jsonl` of
//                                         200 loopback targets (nginx listening on 20 ports, each
//                                         listed 10 times), whole process, full scan and --quick
//                                         alternating (--skip full or --skip quick leaves one out)
// testssl.sh, when installed, also writes its JSON (--jsonfile) and its accepted suites per
// version are compared with ours like sslscan's.
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
const TARGETS = opt('targets', 0);
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

async function startNginx(ports = 1) {
  const bin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
  if (!bin) throw new Error('nginx is not installed (apt-get install nginx)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-bench-scan-'));
  const port = await freePort();
  const extra = [];
  for (let i = 1; i < ports; i++) extra.push(await freePort());
  const t = path.join(dir, 'tmp');
  fs.mkdirSync(t);
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${t}; proxy_temp_path ${t}; fastcgi_temp_path ${t}; uwsgi_temp_path ${t}; scgi_temp_path ${t};
  server {
    listen 127.0.0.1:${port} ssl;${extra.map((p) => ` listen 127.0.0.1:${p} ssl;`).join('')}
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
  // Its directory goes once nginx is gone (it writes its pid file and logs there until then).
  child.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return { port, ports: [port, ...extra], stop: () => child.kill('SIGTERM') };
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

/** testssl.sh's JSON (--jsonfile): accepted suites per version, by hex id (x2f, xc02f...). */
function testsslSuites(file) {
  const m = new Map();
  const names = { ssl3: 'SSLv3', tls1: 'TLSv1', tls1_1: 'TLSv1.1', tls1_2: 'TLSv1.2', tls1_3: 'TLSv1.3' };
  for (const e of JSON.parse(fs.readFileSync(file, 'utf8'))) {
    // e.g. {"id":"cipher-tls1_2_xc02f","finding":"TLSv1.2   xc02f   ECDHE-RSA-AES128-GCM-SHA256 ..."}
    const x = /^cipher-(ssl3|tls1|tls1_1|tls1_2|tls1_3)_x/.exec(e.id);
    if (!x) continue;
    const v = names[x[1]];
    const hex = e.finding.trim().split(/\s+/).find((t) => /^x[0-9a-f]+$/i.test(t));
    if (!hex) continue;
    if (!m.has(v)) m.set(v, new Set());
    m.get(v).add(parseInt(hex.slice(1), 16));
  }
  return m;
}

async function targetsPerSecond() {
  const nginx = await startNginx(20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-bench-targets-'));
  const list = path.join(dir, 'targets');
  const lines = [];
  for (let i = 0; i < TARGETS; i++) lines.push(`127.0.0.1:${nginx.ports[i % nginx.ports.length]}`);
  fs.writeFileSync(list, lines.join('\n') + '\n');
  // The full scan and the quick one (--quick) alternate within each round, so load hits both alike.
  const modes = [
    { name: 'full', argv: ['--hosts', '64', '--max-probes', '512'] },
    { name: 'quick', argv: ['--quick', '--hosts', '64', '--max-probes', '512'] },
  ].filter((m) => !SKIP.includes(m.name));
  const rates = new Map(modes.map((m) => [m.name, []]));
  const probes = new Map();
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const m of modes) {
        const res = await run(process.execPath, [path.join(IOCPTLS_ROOT, 'bin', 'run.js'), 'scan', '--targets', list, '--jsonl', ...m.argv]);
        const done = res.out.trim() ? res.out.trim().split('\n').map((l) => JSON.parse(l)) : [];
        const failed = done.filter((d) => d.hosts[0].error);
        probes.set(m.name, done.length ? done.reduce((n, d) => n + d.hosts[0].probes.total, 0) / done.length : 0);
        rates.get(m.name).push(TARGETS / res.s);
        const why = failed.length ? ` (first: ${failed[0].hosts[0].error})` : res.code > 1 ? ` (exit ${res.code}: ${res.err.trim().split('\n')[0]})` : '';
        console.log(`  round ${r + 1} ${m.name.padEnd(5)}: ${done.length} targets (${failed.length} not scanned${why}) in ${res.s.toFixed(2)} s = ${(TARGETS / res.s).toFixed(0)} targets/s (whole process)`);
      }
    }
  } finally {
    nginx.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${TARGETS} loopback targets, one scan --targets --jsonl process each; targets per second, median (range) of ${ROUNDS}:`);
  for (const [name, r] of rates) {
    console.log(`  ${name.padEnd(5)} ${median(r).toFixed(0)} (${Math.min(...r).toFixed(0)}-${Math.max(...r).toFixed(0)}) targets/s, ${probes.get(name).toFixed(0)} probes per target`);
  }
}

(async () => {
  if (TARGETS) return targetsPerSecond();
  const sslscan = ensureSslscan();
  const nmap = which('nmap');
  // Debian's package installs it as `testssl`.
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
  const testsslJson = path.join(os.tmpdir(), `iocptls-bench-testssl-${process.pid}.json`);
  // -E (each protocol's ciphers) and -P (server preference): what the comparison reads, so the
  // time shown is for those two checks, not for testssl.sh's full default run (about a minute).
  if (testssl && !SKIP.includes('testssl'))
    tools.push({ name: 'testssl.sh -E -P', cmd: testssl, argv: ['--quiet', '--color', '0', '-E', '-P', '--jsonfile', testsslJson, target], before: () => fs.rmSync(testsslJson, { force: true }) });
  const times = new Map(tools.map((t) => [t.name, []]));
  const inside = [];
  let lastDoc;
  let lastSslscan;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of tools) {
        t.before?.();
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
  const ourTimes = times.get('iocptls scan');
  const range = (a, d = 3) => `${Math.min(...a).toFixed(d)}-${Math.max(...a).toFixed(d)}`;
  for (const [name, t] of times) {
    const m = median(t);
    // Rounds interleave the tools, so each round's ratio compares runs made under the same load.
    const perRound = t.map((x, i) => ourTimes[i] / x);
    console.log(
      `  ${name.padEnd(22)} ${m.toFixed(3)} s (${range(t)})` +
        (name === 'iocptls scan'
          ? `  (scan itself ${median(inside).toFixed(3)} s, ${range(inside)}; ${lastDoc.hosts[0].probes.total} probes)`
          : `  iocptls/${name} = ${(ours / m).toFixed(2)} (per round ${range(perRound, 2)})`)
    );
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
  if (fs.existsSync(testsslJson)) {
    const a = new Map(lastDoc.hosts[0].ciphers.map((c) => [c.version, new Set(c.suites.map((x) => x.id))]));
    const b = testsslSuites(testsslJson);
    let same = true;
    for (const v of new Set([...a.keys(), ...b.keys()])) {
      const x = [...(a.get(v) || [])].sort((p, q) => p - q);
      const y = [...(b.get(v) || [])].sort((p, q) => p - q);
      const eq = JSON.stringify(x) === JSON.stringify(y);
      same &&= eq;
      const hex = (l) => l.map((i) => `0x${i.toString(16)}`).join(',') || '-';
      console.log(`  ${v}: ${eq ? 'same suites as testssl.sh' : `DIFFER: iocptls ${hex(x)} / testssl.sh ${hex(y)}`}`);
    }
    console.log(same ? 'findings agree with testssl.sh (accepted suites per version, from its --jsonfile)' : 'findings DIFFER from testssl.sh');
    fs.rmSync(testsslJson, { force: true });
  }
})().catch((e) => {
  console.error(`bench/scan: ${e.message}`);
  process.exit(1);
});
