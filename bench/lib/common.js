'use strict';
// Shared plumbing of bench/peers.js and bench/serve.js: options, child processes pinned with taskset
// (all killed on exit, Ctrl-C or an error), CPU time of process trees from /proc, nginx config and
// lifecycle, stub_status, medians and tables. Plain CommonJS, no build step. Linux only.
const cp = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const RUN_JS = path.join(ROOT, 'bin', 'run.js');
const CLK_TCK = (() => {
  try {
    return Number(cp.execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

// ---------------------------------------------------------------- options

function parseArgs(argv, spec, usage) {
  const o = {};
  for (const [k, v] of Object.entries(spec)) o[k] = v.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      process.stdout.write(usage);
      process.exit(0);
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !spec[m[1]]) {
      process.stderr.write(`unknown option ${a}\n\n${usage}`);
      process.exit(2);
    }
    const s = spec[m[1]];
    if (s.type === 'bool') {
      o[m[1]] = true;
      continue;
    }
    const v = m[2] !== undefined ? m[2] : argv[++i];
    if (v === undefined) {
      process.stderr.write(`${a} needs a value\n`);
      process.exit(2);
    }
    o[m[1]] = s.type === 'number' ? Number(v) : v;
  }
  return o;
}

// ---------------------------------------------------------------- processes and cleanup

const children = new Set();
const tempDirs = new Set();
let cleaned = false;

function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) {
    // Each child leads its own process group (detached), so this reaches what it started too
    // (nginx's worker, taskset's exec'd program) and nothing else.
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {}
  }
  if (children.size) {
    const until = Date.now() + 1500;
    while (Date.now() < until && [...children].some((c) => alive(c.pid))) sleepSync(50);
    for (const c of children) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {}
    }
  }
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
}

process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: stopping peers and removing temp files\n`);
    cleanup();
    process.exit(130);
  });
}
process.on('uncaughtException', (e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  cleanup();
  process.exit(1);
});
process.on('unhandledRejection', (e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  cleanup();
  process.exit(1);
});

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function alive(pid) {
  try {
    process.kill(pid, 0);
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^\d+ \(.*\) Z/.test(st);
  } catch {
    return false;
  }
}

function tempDir(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

/**
 * Starts `cmd args` pinned to `cpu` (taskset execs the program, so the pid is the program's).
 * Returns { pid, child, done: Promise<{code, stdout, stderr}> }.
 */
function spawnPinned(cpu, cmd, args, opts = {}) {
  const full = cpu === null || cpu === undefined ? [cmd, ...args] : ['taskset', '-c', String(cpu), cmd, ...args];
  const child = cp.spawn(full[0], full.slice(1), {
    cwd: opts.cwd || ROOT,
    env: { ...process.env, ...(opts.env || {}) },
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
    if (opts.onStdout) opts.onStdout(stdout);
  });
  child.stderr.on('data', (d) => {
    stderr += d;
    if (opts.onStderr) opts.onStderr(stderr);
  });
  const done = new Promise((resolve) => {
    child.on('error', (e) => {
      children.delete(child);
      resolve({ code: -1, stdout, stderr: stderr + String(e) });
    });
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code: code === null ? signal : code, stdout, stderr });
    });
  });
  return { pid: child.pid, child, done, get stdout() { return stdout; }, get stderr() { return stderr; } };
}

async function stopChild(p, signal = 'SIGTERM', waitMs = 5000) {
  try {
    process.kill(-p.pid, signal);
  } catch {}
  const t = setTimeout(() => {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {}
  }, waitMs);
  const r = await p.done;
  clearTimeout(t);
  return r;
}

function which(cmd) {
  for (const d of (process.env.PATH || '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const f = path.join(d, cmd);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {}
  }
  return null;
}

// ---------------------------------------------------------------- CPU time from /proc

/** utime+stime (all threads) of one process, in seconds; null once it is gone. */
function procCpu(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/** The thread ids of a live process ([] once it is gone). */
function taskIds(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

function childPids(pid) {
  const out = [];
  for (const t of taskIds(pid)) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'latin1').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {}
  }
  return out;
}

/** f(pid) summed over a process and its live descendants (f returns null for a process gone). */
function sumOverTree(pid, f) {
  let sum = 0;
  const stack = [pid];
  const seen = new Set();
  while (stack.length) {
    const p = stack.pop();
    if (seen.has(p)) continue;
    seen.add(p);
    const v = f(p);
    if (v !== null) sum += v;
    stack.push(...childPids(p));
  }
  return sum;
}

/** utime+stime of each thread of one process, in seconds, by thread id ({} once it is gone). */
function threadCpu(pid) {
  const out = {};
  for (const t of taskIds(pid)) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'latin1');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out[t] = (Number(f[11]) + Number(f[12])) / CLK_TCK;
    } catch {}
  }
  return out;
}

/** utime+stime of a process and its live descendants, in seconds. */
function treeCpu(pid) {
  return sumOverTree(pid, procCpu);
}

/** VmRSS of one process in bytes; null once it is gone. */
function procRss(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** VmRSS of a process and its live descendants, in bytes. */
function treeRss(pid) {
  return sumOverTree(pid, procRss);
}

/**
 * Samples { t (s), cpu: {name: seconds}, obs: number } every `everyMs` until stop() — cpu of each
 * named pid tree and an observer count (e.g. nginx's accepted connections).
 */
function startSampler(pids, observer, everyMs = 100) {
  const samples = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now() / 1000;
      const cpu = {};
      for (const [k, pid] of Object.entries(pids)) cpu[k] = treeCpu(pid);
      let obs = null;
      try {
        obs = observer ? await observer() : null;
      } catch {}
      samples.push({ t, cpu, obs, alive: Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, alive(p)])) });
      await sleep(everyMs);
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/**
 * The steady part of a sampled run: from the first sample where the observer started counting
 * plus `lead` of the active span, to the last sample where it still counted minus `tail`.
 * Returns per-second rate of the observer and CPU seconds per observed operation for each tree.
 */
function steadyWindow(samples, aliveKey, lead = 0.2, tail = 0.1) {
  const s = samples.filter((x) => x.obs !== null && (!aliveKey || x.alive[aliveKey]));
  if (s.length < 3) return null;
  let i0 = s.findIndex((x) => x.obs > s[0].obs);
  let i1 = -1;
  for (let i = s.length - 1; i > 0; i--)
    if (s[i].obs > s[i - 1].obs) {
      i1 = i;
      break;
    }
  if (i0 < 0 || i1 <= i0) return null;
  i0 = Math.max(0, i0 - 1);
  const span = s[i1].t - s[i0].t;
  const t0 = s[i0].t + lead * span;
  const t1 = s[i1].t - tail * span;
  let a = s.findIndex((x) => x.t >= t0);
  let b = -1;
  for (let i = s.length - 1; i >= 0; i--)
    if (s[i].t <= t1) {
      b = i;
      break;
    }
  if (a < 0 || b <= a || s[b].t - s[a].t < 0.5) {
    a = i0;
    b = i1;
  }
  const dt = s[b].t - s[a].t;
  const dobs = s[b].obs - s[a].obs;
  const cpu = {};
  for (const k of Object.keys(s[a].cpu)) cpu[k] = s[b].cpu[k] - s[a].cpu[k];
  return { from: s[a].t, to: s[b].t, seconds: dt, ops: dobs, rate: dobs / dt, cpu, cpuPerOp: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, dobs ? v / dobs : NaN])), util: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / dt])) };
}

// ---------------------------------------------------------------- network helpers

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function freePorts(n) {
  const out = new Set();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

async function waitForPort(port, ms = 15000, proc) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (proc && !alive(proc.pid)) throw new Error(`process exited before listening on ${port}: ${proc.stderr.slice(-500)}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${ms} ms`);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
/** nginx stub_status: { active, accepts, handled, requests }. */
function stubStatus(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/status', agent }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => {
        const m = /accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)/.exec(b);
        const a = /Active connections:\s*(\d+)/.exec(b);
        if (!m) return reject(new Error(`bad stub_status: ${b}`));
        resolve({ active: a ? Number(a[1]) : NaN, accepts: Number(m[1]), handled: Number(m[2]), requests: Number(m[3]) });
      });
    });
    req.on('error', reject);
    req.setTimeout(2000, () => req.destroy(new Error('stub_status timeout')));
  });
}

/** Bytes of a file (0 when missing): an access log of fixed-width lines counts connections. */
function fileSize(f) {
  try {
    return fs.statSync(f).size;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------- certificates and nginx

/** Generates ECDSA P-256 and RSA-2048 server certificates with `iocptls cert`. */
function makeCerts(dir) {
  const out = {};
  for (const kt of ['ecdsa-p256', 'rsa2048']) {
    const d = path.join(dir, kt);
    cp.execFileSync(process.execPath, [RUN_JS, 'cert', '--out', d, '--key-type', kt], { stdio: 'ignore' });
    out[kt] = { cert: path.join(d, 'server.pem'), key: path.join(d, 'server.key') };
  }
  return out;
}

/**
 * Writes nginx.conf: one worker pinned to CPU 0, stub_status on a plain port, and the given http /
 * stream server blocks (strings). Returns the path.
 */
function writeNginxConf(dir, { statusPort, httpServers = [], streamServers = [], cpuMask = '01', workerConnections = 16384 }) {
  const stream = streamServers.length && fs.existsSync('/usr/lib/nginx/modules/ngx_stream_module.so');
  const t = path.join(dir, 'tmp');
  fs.mkdirSync(t, { recursive: true });
  const conf = `# generated by bench/ (iocptls)
${stream ? 'load_module /usr/lib/nginx/modules/ngx_stream_module.so;' : ''}
daemon off;
worker_processes 1;
worker_cpu_affinity ${cpuMask};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log crit;
events { worker_connections ${workerConnections}; multi_accept on; }
http {
  access_log off;
  sendfile off;
  client_body_temp_path ${t}; proxy_temp_path ${t}; fastcgi_temp_path ${t}; uwsgi_temp_path ${t}; scgi_temp_path ${t};
  log_format reuse '$ssl_session_reused';
  server { listen 127.0.0.1:${statusPort}; location = /status { stub_status; } }
${httpServers.join('\n')}
}
${stream ? `stream {\n  log_format reuse '$ssl_session_reused';\n${streamServers.join('\n')}\n}` : ''}
`;
  const f = path.join(dir, 'nginx.conf');
  fs.writeFileSync(f, conf);
  return { file: f, stream };
}

/** Starts nginx in the foreground (daemon off) pinned to CPU 0; returns the child with its worker pid. */
async function startNginx(dir, confFile, ports) {
  const p = spawnPinned(0, which('nginx'), ['-p', dir, '-c', confFile, '-e', path.join(dir, 'error.log')]);
  for (const port of ports) await waitForPort(port, 10000, p);
  let worker = null;
  for (let i = 0; i < 50 && !worker; i++) {
    worker = childPids(p.pid)[0] || null;
    if (!worker) await sleep(50);
  }
  p.worker = worker;
  return p;
}

// ---------------------------------------------------------------- statistics and tables

function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function fmt(x, digits = 0) {
  if (x === null || x === undefined || (typeof x === 'number' && !Number.isFinite(x))) return '-';
  if (typeof x !== 'number') return String(x);
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(a, b) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-';
  return `${(a / b).toFixed(2)}×`;
}

/** Plain-text table (right-aligned numbers, left-aligned first column). */
function table(head, rows) {
  const cells = [head, ...rows].map((r) => r.map((c) => (c === undefined || c === null ? '' : String(c))));
  const w = head.map((_, i) => Math.max(...cells.map((r) => (r[i] || '').length)));
  const line = (r) => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ') + ' |';
  const sep = '|' + w.map((x, i) => (i === 0 ? '-'.repeat(x + 2) : '-'.repeat(x + 1) + ':')).join('|') + '|';
  return [line(cells[0]), sep, ...cells.slice(1).map(line)].join('\n') + '\n';
}

function log(msg) {
  process.stderr.write(`${msg}\n`);
}

/** One line about the machine and the load on it (the figures are only comparable side by side). */
function machineLine() {
  const cpus = os.cpus();
  let git = '';
  try {
    git = cp.execFileSync('git', ['describe', '--always', '--dirty'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {}
  return `iocptls ${git || '?'} (dist/ as built), ${cpus.length} CPUs (${cpus[0] ? cpus[0].model.trim() : '?'}), load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, node ${process.version}, OpenSSL in node ${process.versions.openssl}`;
}

module.exports = {
  ROOT,
  RUN_JS,
  parseArgs,
  spawnPinned,
  stopChild,
  which,
  alive,
  procCpu,
  treeCpu,
  threadCpu,
  treeRss,
  startSampler,
  steadyWindow,
  freePorts,
  waitForPort,
  stubStatus,
  fileSize,
  makeCerts,
  writeNginxConf,
  startNginx,
  tempDir,
  cleanup,
  median,
  fmt,
  ratio,
  table,
  log,
  sleep,
  machineLine,
};
