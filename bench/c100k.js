#!/usr/bin/env node
'use strict';
// 100,000 concurrent TLS connections (issue 25, goal 5): `iocptls bench connections` against nginx,
// on one machine whose processes may each hold at most `ulimit -Hn` (here 20,000) descriptors.
//
//   client   N shards of `bench connections` (bin/run.js), each under the descriptor limit, meeting
//            by --rendezvous (shard 0 merges and prints one document), connecting from K source
//            addresses 127.100.0.1.. (--bind: ~28k ephemeral ports per source address and destination);
//   nginx    W workers, each `worker_rlimit_nofile` 20000 / `worker_connections` 19000, one
//            `listen ... ssl reuseport` stream server (the kernel spreads accepted connections over
//            the workers' own listening sockets), TLS 1.3 only, ECDSA P-256, no tickets, no cache;
//   echo     nginx has no echo of its own: its stream server proxies each connection (plain, over
//            Unix sockets: no ports) to E small echo processes (bench/lib/echo_unix.js). So each
//            client connection is two descriptors in nginx (client and upstream) and one in an echo.
//
// Each connection sends --message-size bytes every --interval ms once established and measures the
// echo's round trip (open loop, from the intended send time). Once every connection was tried the
// shards hold them --hold s, then close them. Sampled every second: nginx's stub_status (active),
// the resident memory of the shards, of nginx (master + workers) and of the echoes. At the middle
// of the hold the established sockets on nginx's port are counted with ss, and the descriptors of
// each nginx worker and shard read from /proc.
//
// Prints one table. Memory per connection = (RSS held - RSS at the start instant) / connections
// reached, where "held" is the median of the samples during the hold (and "peak" the most, during the
// ramp, with handshakes in flight). Round-trip percentiles and CPU per round trip are those of the
// hold (every connection established), from the merged document's per-second histograms and /proc.
// On a shared machine the round trips measure the machine as much as the programs: a round trip
// crosses five processes (client, nginx, echo, nginx, client), and when they need more CPU than
// they get, messages queue (Little's law: in flight = rate x latency); the CPU row says how much each
// side took per round trip, which is what to compare.
//
//   node bench/c100k.js                         # 20,000 connections, a quick run
//   node bench/c100k.js --connections 100000 --hold 60 --interval 60000   # a message a minute: this
//                                                  machine echoes ~7,000 a second in all (docs/performance.md)
const cp = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const C = require('./lib/common');

const USAGE = `usage: node bench/c100k.js [options]
  --connections N    concurrent TLS connections in all [20000]
  --shards N         client processes (bench connections --shard I/N) [connections / 16,000, rounded up]
  --workers N        client worker threads per shard (-w) [1]
  --nginx-workers N  nginx worker processes [2 × connections / 18,000 + 1, rounded up: each holds two descriptors per connection]
  --echoes N         echo processes behind nginx [connections / 16,000, rounded up]
  --sources N        client source addresses 127.100.0.1.. (--bind) [connections / 12,000, rounded up, at least 2]
  --ramp R           connections opened per second, over all shards [500]
  --hold S           seconds the connections are held once all were tried (-d) [30]
  --interval MS      ms between one connection's messages [10000]
  --message-size B   bytes per message (echoed) [64]
  --timeout MS       connect + handshake timeout per connection [30000]
  --io BACKEND       bench --io (io_uring, epoll) [auto]
  --json FILE        also write the measurements and the merged document to FILE
`;
const opt = C.parseArgs(process.argv.slice(2), {
  connections: { type: 'number', default: 20000 },
  shards: { type: 'number', default: 0 },
  workers: { type: 'number', default: 1 },
  'nginx-workers': { type: 'number', default: 0 },
  echoes: { type: 'number', default: 0 },
  sources: { type: 'number', default: 0 },
  ramp: { type: 'number', default: 500 },
  hold: { type: 'number', default: 30 },
  interval: { type: 'number', default: 10000 },
  'message-size': { type: 'number', default: 64 },
  timeout: { type: 'number', default: 30000 },
  io: { type: 'string', default: '' },
  json: { type: 'string', default: '' },
}, USAGE);

const N = opt.connections;
const shards = opt.shards || Math.ceil(N / 16000);
const nginxWorkers = opt['nginx-workers'] || Math.ceil((2 * N) / 18000) + 1;
const echoes = opt.echoes || Math.ceil(N / 16000);
const sources = Array.from({ length: opt.sources || Math.max(2, Math.ceil(N / 12000)) }, (_, i) => `127.100.0.${i + 1}`);
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
const WORKER_NOFILE = 20000;
const WORKER_CONNECTIONS = 19000;

/** nginx and its stream module, installed with apt-get when missing and we may; otherwise why not. */
function ensureNginx() {
  const missing = () => [!C.which('nginx') && 'nginx', !fs.existsSync(STREAM_MODULE) && 'libnginx-mod-stream'].filter(Boolean);
  if (missing().length && process.getuid?.() === 0 && C.which('apt-get')) {
    C.log(`installing ${missing().join(' ')} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    cp.spawnSync('sh', ['-c', `apt-get install -y -qq ${missing().join(' ')} || (apt-get update -qq && apt-get install -y -qq ${missing().join(' ')})`], { stdio: 'ignore', env, timeout: 600_000 });
  }
  if (missing().length) throw new Error(`missing: ${missing().join(', ')} (apt-get install -y nginx libnginx-mod-stream)`);
  if (!C.which('ss')) throw new Error('missing: ss (apt-get install -y iproute2)');
}

/** Descriptors a process may open (its hard limit: Node raises the soft one to it, nginx is told to). */
function hardNofile() {
  const m = /Max open files\s+\d+\s+(\d+)/.exec(fs.readFileSync('/proc/self/limits', 'latin1'));
  return m ? Number(m[1]) : Infinity;
}

function nginxConf(dir, port, statusPort, cert, echoSockets) {
  const t = path.join(dir, 'tmp');
  fs.mkdirSync(t, { recursive: true });
  const f = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    f,
    `# generated by bench/c100k.js (iocptls)
load_module ${STREAM_MODULE};
daemon off;
worker_processes ${nginxWorkers};
worker_rlimit_nofile ${WORKER_NOFILE};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections ${WORKER_CONNECTIONS}; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${t}; proxy_temp_path ${t}; fastcgi_temp_path ${t}; uwsgi_temp_path ${t}; scgi_temp_path ${t};
  server { listen 127.0.0.1:${statusPort}; location = /status { stub_status; } }
}
stream {
  upstream echo {
${echoSockets.map((s) => `    server unix:${s};`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port} ssl reuseport backlog=65535;
    ssl_certificate ${cert.cert};
    ssl_certificate_key ${cert.key};
    ssl_protocols TLSv1.3;
    ssl_session_tickets off;
    ssl_session_cache off;
    ssl_handshake_timeout 60s;
    proxy_pass echo;
    proxy_buffer_size 4k;
    proxy_timeout 10m;
  }
}
`
  );
  return f;
}

/** The pids of a process's direct children. */
function childrenOf(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function fdCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** Established TCP connections whose local port is `port` (nginx's side), counted by the kernel via ss. */
function establishedOn(port) {
  const r = cp.spawnSync('sh', ['-c', `ss -Htn state established '( sport = :${port} )' | wc -l`], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? Number(r.stdout.trim()) : NaN;
}

/** nginx's stub_status over a fresh connection, waiting up to 15 s (a worker deep in handshakes answers late). */
function stubStatus(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/status', agent: false }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => {
        const a = /Active connections:\s*(\d+)/.exec(b);
        return a ? resolve({ active: Number(a[1]) }) : reject(new Error(`bad stub_status: ${b}`));
      });
    });
    req.on('error', reject);
    req.setTimeout(15000, () => req.destroy(new Error('stub_status timeout')));
  });
}

/**
 * The kernel's TCP counters (/proc/net/snmp and /proc/net/netstat, what `nstat` reads): which of
 * them moved says who reset or dropped connections when nginx logged nothing (an accept queue
 * that overflowed, an abort for memory, a reset on data for a socket already gone).
 */
function tcpCounters() {
  const out = {};
  for (const f of ['/proc/net/snmp', '/proc/net/netstat']) {
    let lines;
    try {
      lines = fs.readFileSync(f, 'latin1').split('\n');
    } catch {
      continue;
    }
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i].split(/\s+/);
      const values = lines[i + 1].split(/\s+/);
      if (!/^Tcp(Ext)?:$/.test(names[0])) continue;
      for (let k = 1; k < names.length; k++) out[`${names[0].replace(':', '')}${names[k]}`] = Number(values[k]);
    }
  }
  return out;
}
// The counters that name a cause when connections are refused, reset or dropped on loopback.
const TCP_WATCH = /^(TcpAttemptFails|TcpEstabResets|TcpOutRsts|TcpExt(ListenOverflows|ListenDrops|TCPAbortOn\w+|TCPMemoryPressures|TCPReqQFull\w*|TCPBacklogDrop|TCPTimeWaitOverflow|TCPOFODrop|PruneCalled|TCPRcvQDrop|TCPZeroWindowDrop|TCPSynRetrans|TCPTimeouts))$/;
function tcpDelta(before, after) {
  return Object.entries(after)
    .filter(([k, v]) => TCP_WATCH.test(k) && v - (before[k] ?? 0) > 0)
    .map(([k, v]) => `${k.replace(/^TcpExt/, '')} +${n0(v - (before[k] ?? 0))}`);
}

/** What the kernel logged about TCP and sockets (e.g. "TCP: out of memory"); compare two calls' lengths. */
function kernelTcpLines() {
  const r = cp.spawnSync('dmesg', ['--notime', '--level', 'warn,err,crit,alert,emerg'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return [];
  return r.stdout.split('\n').filter((l) => /TCP|socket|conntrack|neighbour/i.test(l));
}

const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;
const kb = (b) => `${(b / 1000).toFixed(1)} kB`;
const n0 = (x) => C.fmt(x);
const ms = (us) => (us >= 1e6 ? `${(us / 1e6).toFixed(2)} s` : `${(us / 1000).toFixed(us < 1e4 ? 2 : 1)} ms`);

async function main() {
  ensureNginx();
  if (!fs.existsSync(path.join(C.ROOT, 'dist', 'src', 'engine', 'stats', 'histograms.js'))) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` first');
  const { mergeHistograms, summarizeHistogram } = require(path.join(C.ROOT, 'dist', 'src', 'engine', 'stats', 'histograms.js'));
  const perShard = Math.ceil(N / shards);
  const limit = hardNofile();
  if (perShard + 200 > limit) throw new Error(`${perShard} connections per shard need more than this process's ${limit} descriptors: use --shards ${Math.ceil(N / (limit - 200))} or more`);
  if (Math.ceil(N / echoes) + 200 > limit) throw new Error(`${Math.ceil(N / echoes)} connections per echo process exceed ${limit} descriptors: use --echoes ${Math.ceil(N / (limit - 200))} or more`);
  if (N / sources.length > 25000) C.log(`warning: ${Math.round(N / sources.length)} connections per source address approach the ~28k ephemeral ports towards one destination: use more --sources`);

  const startLoad = os.loadavg();
  const tcpBefore = tcpCounters();
  const kernelBefore = kernelTcpLines().length;
  C.log(C.machineLine());
  C.log(`c100k: ${n0(N)} connections · ${shards} shards × ${opt.workers} worker(s) · ${sources.length} source addresses · nginx ${nginxWorkers} workers · ${echoes} echo processes · ramp ${opt.ramp}/s · hold ${opt.hold} s · ${opt['message-size']} B every ${opt.interval} ms`);

  const dir = C.tempDir('iocptls-c100k-');
  fs.chmodSync(dir, 0o755); // nginx's workers (nobody) reach the echo sockets through it
  const certDir = path.join(dir, 'cert');
  cp.execFileSync(process.execPath, [C.RUN_JS, 'cert', '--out', certDir, '--key-type', 'ecdsa-p256'], { stdio: 'ignore' });
  const cert = { cert: path.join(certDir, 'server.pem'), key: path.join(certDir, 'server.key') };

  // The echo processes behind nginx.
  const echoSockets = Array.from({ length: echoes }, (_, i) => path.join(dir, `echo${i}.sock`));
  const echoProcs = echoSockets.map((s) => C.spawnPinned(null, process.execPath, [path.join(__dirname, 'lib', 'echo_unix.js'), s]));
  for (const e of echoProcs) {
    const until = Date.now() + 20000;
    while (!e.stdout.includes('listening')) {
      if (!C.alive(e.pid) || Date.now() > until) throw new Error(`an echo process did not start: ${e.stderr.slice(-300)}`);
      await C.sleep(50);
    }
  }

  // nginx (its own config, pid file and logs in the temp dir).
  const [port, statusPort, rendezvousPort] = await C.freePorts(3);
  const conf = nginxConf(dir, port, statusPort, cert, echoSockets);
  const nginx = C.spawnPinned(null, C.which('nginx'), ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')]);
  await C.waitForPort(port, 20000, nginx);
  await C.waitForPort(statusPort, 20000, nginx);
  for (let i = 0; i < 100 && childrenOf(nginx.pid).length < nginxWorkers; i++) await C.sleep(50);
  const workerPids = childrenOf(nginx.pid);
  if (workerPids.length < nginxWorkers) C.log(`warning: nginx started ${workerPids.length} of ${nginxWorkers} workers`);

  // Sampling, every second, from before the shards start: resident memory, and (in a loop of its
  // own, since a worker busy with handshakes may answer it seconds late) nginx's stub_status.
  const samples = [];
  const status = [];
  const shardProcs = [];
  let sampling = true;
  const every = async (f) => {
    while (sampling) {
      const t = Date.now();
      await f();
      await C.sleep(Math.max(0, 1000 - (Date.now() - t)));
    }
  };
  const sampler = every(async () => {
    samples.push({
      t: Date.now(),
      client: shardProcs.reduce((a, p) => a + C.treeRss(p.pid), 0),
      nginx: C.treeRss(nginx.pid),
      echo: echoProcs.reduce((a, p) => a + C.treeRss(p.pid), 0),
      cpu: { client: shardProcs.reduce((a, p) => a + C.treeCpu(p.pid), 0), nginx: C.treeCpu(nginx.pid), echo: echoProcs.reduce((a, p) => a + C.treeCpu(p.pid), 0) },
      load: os.loadavg()[0],
    });
  });
  const statusLoop = every(async () => {
    try {
      status.push({ t: Date.now(), active: (await stubStatus(statusPort)).active - 1 }); // the status request's own connection
    } catch {}
  });
  await C.sleep(1500);

  // The shards: shard 0 listens for the others, merges and prints the whole run's document.
  const common = [
    'bench', 'connections', `127.0.0.1:${port}`,
    '-c', String(N), '-w', String(opt.workers),
    '--ramp', String(opt.ramp), '-d', String(opt.hold),
    '--message-size', String(opt['message-size']), '--interval', String(opt.interval),
    '--timeout', String(opt.timeout), '--tls-min', '1.3',
    '--bind', sources.join(','),
    '--rendezvous', `127.0.0.1:${rendezvousPort}`, '--rendezvous-timeout', '300',
    '--max-error-rate', '100', '--json',
  ];
  if (opt.io) common.push('--io', opt.io);
  const t0 = Date.now();
  for (let i = 0; i < shards; i++) shardProcs.push(C.spawnPinned(null, process.execPath, [C.RUN_JS, ...common, '--shard', `${i}/${shards}`]));

  // At the middle of the hold (the connections all tried, counted by the sampler), count what the kernel and nginx hold.
  let mid;
  const midProbe = (async () => {
    for (;;) {
      await C.sleep(1000);
      if (!shardProcs.every((p) => C.alive(p.pid))) return;
      // Settled: nginx's count unchanged over its last three answers, at least 8 s apart (at 100k a
      // busy worker answers stub_status every 6-14 s, so 8 answers in a row took longer than the hold).
      const s = status.slice(-3);
      if (s.length === 3 && s.every((x) => x.active === s[0].active) && s[0].active > 0 && s[2].t - s[0].t >= 8000) break;
      if (Date.now() - t0 > (N / Math.max(1, opt.ramp)) * 1000 * 4 + 600_000) return;
    }
    await C.sleep(Math.min(10, opt.hold / 4) * 1000);
    if (!shardProcs.every((p) => C.alive(p.pid))) return;
    mid = {
      t: Date.now(),
      established: establishedOn(port),
      nginxFds: childrenOf(nginx.pid).map(fdCount),
      shardFds: shardProcs.map((p) => fdCount(p.pid)),
      echoOpen: echoProcs.map((e) => Number((/open (\d+)\n$/.exec(e.stdout) || [])[1])),
      active: status[status.length - 1]?.active,
    };
    C.log(`mid-hold: nginx active ${n0(mid.active)}, established on :${port} ${n0(mid.established)}, nginx workers' descriptors ${mid.nginxFds.join(' ')}`);
  })();

  const results = await Promise.all(shardProcs.map((p) => p.done));
  const wall = (Date.now() - t0) / 1000;
  await midProbe;
  await C.sleep(1000);
  sampling = false;
  await Promise.all([sampler, statusLoop]);
  const tcpMoved = tcpDelta(tcpBefore, tcpCounters());
  const kernelSaid = kernelTcpLines().slice(kernelBefore);
  const errLog = fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
  await C.stopChild(nginx, 'SIGTERM', 10000);
  for (const e of echoProcs) await C.stopChild(e);

  let doc;
  try {
    doc = JSON.parse(results[0].stdout);
  } catch {
    throw new Error(`shard 0 printed no document (exit ${results[0].code}): ${results[0].stderr.trim().slice(-800)}`);
  }
  for (const [i, r] of results.entries()) if (r.code !== 0) C.log(`shard ${i} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);

  // Memory: just before the shards began (the rendezvous's start instant), held (the median over
  // the hold, every connection tried) and at its most (during the ramp, handshakes in flight).
  const c = doc.connections;
  const reached = c.reached;
  const win0 = doc.intervals[0]?.startMs ?? t0;
  const rampEnd = win0 + (c.rampMs ?? Infinity);
  const before = [...samples].reverse().find((s) => s.t < win0) ?? samples[0];
  const inHold = samples.filter((s) => s.t >= rampEnd + 2000 && s.t <= rampEnd + opt.hold * 1000);
  const heldRss = (k) => (inHold.length ? C.median(inHold.map((s) => s[k])) : NaN);
  const peak = (k) => Math.max(...samples.map((s) => s[k]));
  const peakActive = Math.max(0, ...status.map((s) => s.active));
  // nginx's ramp: its first connection to 99% of its peak, at the resolution of its answers.
  const first = status.find((s) => s.active > 0);
  const at99 = status.find((s) => s.active >= 0.99 * peakActive);
  const nginxRampS = first && at99 ? (at99.t - first.t) / 1000 : NaN;

  // Round trips of the hold: the merged per-second histograms once the ramp was over.
  const held = doc.intervals.filter((iv) => iv.startMs >= rampEnd);
  const holdHist = (k) => {
    const hs = held.map((iv) => iv.histograms?.[k]).filter(Boolean);
    return hs.length ? summarizeHistogram(mergeHistograms(hs)) : undefined;
  };
  const rtt = holdHist('rtt');
  const rttU = holdHist('rttUncorrected');
  const holdRoundTrips = held.reduce((a, iv) => a + (iv.counters?.roundTrips ?? 0), 0);
  const holdSeconds = held.reduce((a, iv) => a + iv.durationMs, 0) / 1000;
  const errors = Object.entries(doc.errors || {}).map(([k, v]) => `${k} ${n0(typeof v === 'number' ? v : v.count ?? 0)}`);
  const errKinds = {};
  for (const l of errLog.split('\n').filter(Boolean)) {
    const m = /\[(\w+)\] \d+#\d+: (?:\*\d+ )?([^,(]{0,60})/.exec(l);
    // Each connection's own two info lines (its upstream connected, the client's close) are expected: the rest is news.
    if (m && !/^(proxy unix: connected to|client disconnected|client \S+ connected to|using the|nginx\/|OS:|getrlimit|start worker)/.test(m[2].trim())) errKinds[`${m[1]}: ${m[2].trim()}`] = (errKinds[`${m[1]}: ${m[2].trim()}`] || 0) + 1;
  }
  // CPU per round trip during the hold (every connection established: the round trips are all the work).
  const h0 = inHold[0];
  const h1 = inHold[inHold.length - 1];
  const holdRt = held.filter((iv) => iv.startMs >= (h0?.t ?? Infinity) && iv.startMs + iv.durationMs <= (h1?.t ?? 0)).reduce((a, iv) => a + (iv.counters?.roundTrips ?? 0), 0);
  const cpuPer = (k) => (h0 && h1 && holdRt ? ((h1.cpu[k] - h0.cpu[k]) * 1e6) / holdRt : NaN);
  const cpuCores = (k) => (h0 && h1 && h1.t > h0.t ? (h1.cpu[k] - h0.cpu[k]) / ((h1.t - h0.t) / 1000) : NaN);
  const pct = (h) => (h ? `${ms(h.p50)} / ${ms(h.p90)} / ${ms(h.p99)} / ${ms(h.p99_9)} / ${ms(h.max)}` : '-');
  const mem = (k) => `${mb(before[k])} -> ${mb(heldRss(k))} (peak ${mb(peak(k))}); ${kb((heldRss(k) - before[k]) / reached)} held, ${kb((peak(k) - before[k]) / reached)} at the peak`;

  const rows = [
    ['connections wanted', n0(N)],
    ['reached (client: most held at once, 1 s ticks)', `${n0(reached)} (${n0(c.heldAtEnd)} open when the hold ended)`],
    ['nginx: active connections (stub_status, peak)', n0(peakActive)],
    ['nginx: established on its port (ss, mid-hold)', mid ? n0(mid.established) : '-'],
    ['nginx: descriptors per worker (mid-hold)', mid ? `${Math.min(...mid.nginxFds)}–${Math.max(...mid.nginxFds)} (${mid.nginxFds.length} workers; 2 per connection)` : '-'],
    ['echo: upstream connections (mid-hold)', mid ? n0(mid.echoOpen.reduce((a, b) => a + b, 0)) : '-'],
    ['ramp (client: first connect to last established)', c.rampMs !== undefined ? `${(c.rampMs / 1000).toFixed(1)} s (${n0(reached / (c.rampMs / 1000))}/s)` : '-'],
    ['ramp (nginx: first TCP accept to 99% of its peak)', Number.isFinite(nginxRampS) ? `${nginxRampS.toFixed(0)} s` : '-'],
    ['failed connections, by reason', errors.length ? errors.join(', ') : '0'],
    [`client RSS (${shards} shards): before -> held, per connection`, mem('client')],
    ['client RSS per connection (bench\'s own, merged)', kb(c.memory.perConnectionBytes)],
    [`nginx RSS (master + ${workerPids.length} workers): before -> held, per connection`, mem('nginx')],
    [`echo RSS (${echoes} processes): before -> held, per connection`, mem('echo')],
    ['round trips (whole run / during the hold)', `${n0(doc.totals.roundTrips)} / ${n0(holdRoundTrips)} in ${holdSeconds.toFixed(0)} s (${n0(holdRoundTrips / Math.max(1, holdSeconds))}/s)`],
    ['round trip during the hold, p50 / p90 / p99 / p99.9 / max', pct(rtt)],
    ['  uncorrected (from the actual send)', pct(rttU)],
    ['CPU per round trip in the hold: client / nginx / echo', `${cpuPer('client').toFixed(0)} / ${cpuPer('nginx').toFixed(0)} / ${cpuPer('echo').toFixed(0)} µs (cores busy: ${cpuCores('client').toFixed(2)} / ${cpuCores('nginx').toFixed(2)} / ${cpuCores('echo').toFixed(2)})`],
    ['handshake p50 / p90 / p99 / p99.9 / max (whole ramp)', pct(doc.latency.handshake)],
    ['nginx error log (info and above, beyond each connection\'s connect and close)', Object.keys(errKinds).length ? Object.entries(errKinds).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k} ×${v}`).join('; ').slice(0, 160) : 'empty'],
    ['kernel TCP counters that moved (whole run, all sockets)', tcpMoved.length ? tcpMoved.join(', ').slice(0, 200) : 'none'],
    ['kernel log about TCP (warnings and worse)', kernelSaid.length ? `${kernelSaid.length} lines, last: ${kernelSaid[kernelSaid.length - 1].trim().slice(0, 120)}` : 'nothing'],
    ['wall time, load average (1 min) before / peak / after', `${wall.toFixed(0)} s; ${startLoad[0].toFixed(1)} / ${Math.max(...samples.map((s) => s.load)).toFixed(1)} / ${os.loadavg()[0].toFixed(1)}`],
  ];
  process.stdout.write(`\n${C.table(['c100k', `${n0(N)} connections`], rows)}`);
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify({ options: opt, shards, nginxWorkers, echoes, sources, samples, status, mid, errKinds, tcpMoved, kernelSaid, doc }, null, 2));
  if (reached < N) process.exitCode = 1;
}

main()
  .catch((e) => {
    C.log(`bench/c100k.js: ${e.message}`);
    process.exitCode = 1;
  })
  .finally(() => C.cleanup());
