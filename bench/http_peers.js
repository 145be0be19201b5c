#!/usr/bin/env node
'use strict';
// iocptls bench http against wrk (HTTP/1.1 keep-alive) and h2load (HTTP/2, -m streams), side by
// side in interleaved rounds, against one nginx worker pinned to CPU 0; every client runs alone,
// pinned to CPU 1, with one thread, the same connections (and streams for h2).
//
// Client CPU per request = client process CPU (utime+stime of the process tree from /proc, all
// threads) ÷ requests nginx served (its stub_status counter), both sampled every 100 ms over the
// steady middle of each run: start-up (node, oclif, koffi) and the tail are left out the same way
// for every client. Requests/s is nginx's count over that window. Medians and ranges over the
// rounds; ratios are iocptls ÷ peer of the medians (CPU: below 1× means iocptls spends less).
// Targets (issue 24): client CPU per request ≤ 0.8× wrk's (h1) and ≤ 0.8× h2load's (h2).
//
// With --threads, each iocptls run also prints its CPU per request by thread over the same
// window: the worker running the load, the main thread, and the rest (V8's compiler and garbage
// collector helpers, libuv's pool).
//
//   node bench/http_peers.js [--rounds 3] [--seconds 6] [--connections 8] [--streams 16] [--size 1024] [--only h1,h2] [--threads]
const path = require('node:path');
const fs = require('node:fs');
const C = require('./lib/common');

const USAGE = `usage: node bench/http_peers.js [options]
  --rounds N        interleaved rounds (medians and ranges over them) [3]
  --seconds S       length of each client run [6]
  --connections N   connections of every client [8]
  --streams N       HTTP/2 streams per connection (h2load -m) [16]
  --pipeline N      HTTP/1.1 requests in flight per connection (iocptls --pipeline; wrk has none without a script) [1]
  --size BYTES      response body size [1024]
  --only LIST       h1 (iocptls vs wrk), h2 (iocptls vs h2load) [h1,h2]
  --io BACKEND      iocptls --io (io_uring, epoll) [auto]
  --json FILE       also write the raw measurements to FILE
  --threads         print iocptls's CPU per request by thread (worker, main, helpers)
`;
const opt = C.parseArgs(process.argv.slice(2), {
  rounds: { type: 'number', default: 3 },
  seconds: { type: 'number', default: 6 },
  connections: { type: 'number', default: 8 },
  streams: { type: 'number', default: 16 },
  pipeline: { type: 'number', default: 1 },
  size: { type: 'number', default: 1024 },
  only: { type: 'string', default: 'h1,h2' },
  io: { type: 'string', default: '' },
  json: { type: 'string', default: '' },
  threads: { type: 'bool', default: false },
}, USAGE);
const ONLY = new Set(opt.only.split(','));

function nginxVersion() {
  const out = require('node:child_process').execFileSync('sh', ['-c', `'${C.which('nginx')}' -v 2>&1`]).toString();
  const m = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(out);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [1, 22, 0];
}

async function main() {
  for (const tool of ['nginx', 'taskset', ...(ONLY.has('h1') ? ['wrk'] : []), ...(ONLY.has('h2') ? ['h2load'] : [])]) {
    if (!C.which(tool)) {
      C.log(`missing: ${tool} (apt-get install nginx util-linux wrk nghttp2-client)`);
      process.exit(2);
    }
  }
  const dir = C.tempDir('iocptls-http-peers-');
  fs.chmodSync(dir, 0o755);
  const certs = C.makeCerts(dir)['ecdsa-p256'];
  const root = path.join(dir, 'www');
  fs.mkdirSync(root, { mode: 0o755 });
  fs.writeFileSync(path.join(root, 'index.html'), Buffer.alloc(opt.size, 'x'), { mode: 0o644 });
  const [port, statusPort] = await C.freePorts(2);
  const [maj, min, patch] = nginxVersion();
  const http2On = maj > 1 || min > 25 || (min === 25 && patch >= 1);
  const { file } = C.writeNginxConf(dir, {
    statusPort,
    httpServers: [
      `  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:${port} ssl${http2On ? '' : ' http2'}${http2On ? ';\n    http2 on' : ''};
    ssl_certificate ${certs.cert};
    ssl_certificate_key ${certs.key};
    http2_max_concurrent_streams 1024;
    root ${root};
  }`,
    ],
  });
  const nginx = await C.startNginx(dir, file, [port, statusPort]);
  C.log(C.machineLine());
  C.log(`nginx worker ${nginx.worker} on CPU 0; clients on CPU 1, one at a time; ${opt.connections} connections, ${opt.streams} streams (h2), ${opt.size}-byte responses, ${opt.seconds} s runs, ${opt.rounds} rounds`);
  const url = `https://127.0.0.1:${port}/index.html`;
  const S = opt.seconds;
  const io = opt.io ? ['--io', opt.io] : [];
  const clients = [];
  if (ONLY.has('h1')) {
    clients.push({ scenario: 'h1', name: 'iocptls', cmd: process.execPath, args: [C.RUN_JS, 'bench', 'http', url, '--http', '1.1', '-c', String(opt.connections), '--pipeline', String(opt.pipeline), '-w', '1', '-d', String(S), '--warmup', '0', '--json', ...io] });
    clients.push({ scenario: 'h1', name: 'wrk', cmd: C.which('wrk'), args: ['-t1', `-c${opt.connections}`, `-d${S}s`, url] });
  }
  if (ONLY.has('h2')) {
    clients.push({ scenario: 'h2', name: 'iocptls', cmd: process.execPath, args: [C.RUN_JS, 'bench', 'http', url, '--http', '2', '-c', String(opt.connections), '-m', String(opt.streams), '-w', '1', '-d', String(S), '--warmup', '0', '--json', ...io] });
    clients.push({ scenario: 'h2', name: 'h2load', cmd: C.which('h2load'), args: ['-t1', `-c${opt.connections}`, `-m${opt.streams}`, `-D${S}`, url] });
  }
  const results = [];
  for (let round = 0; round < opt.rounds; round++) {
    // Interleaved, and the order turned around every other round (ABBA), so drift falls on both.
    const order = round % 2 ? [...clients].reverse() : clients;
    for (const c of order) {
      const p = C.spawnPinned(1, c.cmd, c.args);
      const sampler = C.startSampler({ client: p.pid, nginx: nginx.worker }, async () => (await C.stubStatus(statusPort)).requests);
      // Per-thread CPU of the client, sampled alongside (same clock), when asked.
      const perThread = [];
      let sampling = opt.threads && c.name === 'iocptls';
      const threadLoop = (async () => {
        while (sampling) {
          perThread.push({ t: performance.now() / 1000, cpu: C.threadCpu(p.pid) });
          await C.sleep(100);
        }
      })();
      const r = await p.done;
      sampling = false;
      await threadLoop;
      const samples = await sampler.stop();
      const w = C.steadyWindow(samples, 'client');
      const row = { round, scenario: c.scenario, client: c.name, code: r.code, rate: w ? w.rate : NaN, cpuUsPerReq: w ? (w.cpu.client / w.ops) * 1e6 : NaN, nginxUsPerReq: w ? (w.cpu.nginx / w.ops) * 1e6 : NaN };
      if (c.name === 'iocptls') {
        try {
          const d = JSON.parse(r.stdout);
          row.own = { cpuUsPerReq: d.client?.cpuUsPerOp, errors: d.totals.errors, p50: d.latency.request?.p50 };
        } catch {}
      }
      if (r.code !== 0) C.log(`  ${c.scenario} ${c.name} exited ${r.code}: ${r.stderr.split('\n').slice(-3).join(' ')}`);
      if (w && perThread.length) row.threads = threadShares(perThread, w, p.pid);
      results.push(row);
      C.log(`  round ${round + 1} ${c.scenario} ${c.name.padEnd(8)} ${C.fmt(row.rate)} req/s, client ${C.fmt(row.cpuUsPerReq, 1)} µs CPU/req, nginx ${C.fmt(row.nginxUsPerReq, 1)} µs/req`);
      if (row.threads) C.log(`      by thread, µs CPU/req: worker ${C.fmt(row.threads.worker, 1)}, main ${C.fmt(row.threads.main, 1)}, ${row.threads.helperCount} others ${C.fmt(row.threads.helpers, 1)}`);
      await C.sleep(500);
    }
  }
  await C.stopChild(nginx, 'SIGQUIT');
  const rows = [];
  const range = (xs) => `${C.fmt(Math.min(...xs), 1)}..${C.fmt(Math.max(...xs), 1)}`;
  for (const scenario of ['h1', 'h2']) {
    const mine = results.filter((r) => r.scenario === scenario && r.client === 'iocptls');
    const peer = results.filter((r) => r.scenario === scenario && r.client !== 'iocptls');
    if (!mine.length) continue;
    const peerName = peer[0].client;
    const med = (xs, k) => C.median(xs.map((x) => x[k]));
    const ratios = mine.map((m, i) => m.cpuUsPerReq / peer[i].cpuUsPerReq);
    rows.push([`${scenario} iocptls`, C.fmt(med(mine, 'rate')), C.fmt(med(mine, 'cpuUsPerReq'), 1), range(mine.map((x) => x.cpuUsPerReq)), C.fmt(C.median(mine.map((m) => m.own?.cpuUsPerReq)), 1), '']);
    rows.push([`${scenario} ${peerName}`, C.fmt(med(peer, 'rate')), C.fmt(med(peer, 'cpuUsPerReq'), 1), range(peer.map((x) => x.cpuUsPerReq)), '', '']);
    rows.push([`${scenario} iocptls/${peerName}`, C.ratio(med(mine, 'rate'), med(peer, 'rate')), C.ratio(med(mine, 'cpuUsPerReq'), med(peer, 'cpuUsPerReq')), `${ratios.map((x) => x.toFixed(2)).join(' ')} per round`, '', scenario === 'h1' ? 'target ≤ 0.80×' : 'target ≤ 0.80×']);
  }
  process.stdout.write('\n' + C.table(['client', 'requests/s', 'client µs CPU/req (median)', 'range', 'iocptls own (window, workers)', ''], rows));
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify({ opt, results }, null, 2));
}

/**
 * CPU per request of the client's threads over the steady window w (samples nearest its ends):
 * the main thread (tid = pid), the worker (the busiest other: -w 1 runs the load on one), the rest.
 */
function threadShares(perThread, w, pid) {
  const near = (t) => perThread.reduce((a, b) => (Math.abs(b.t - t) < Math.abs(a.t - t) ? b : a));
  const a = near(w.from).cpu;
  // Each thread's last reading up to the window's end: a thread that ended just after it (the worker) is missing from later samples.
  const b = {};
  for (const x of perThread) if (x.t <= w.to + 0.05) Object.assign(b, x.cpu);
  const used = Object.entries(b).map(([tid, v]) => [tid, v - (a[tid] ?? 0)]);
  const main = used.find(([tid]) => Number(tid) === pid)?.[1] ?? 0;
  const others = used.filter(([tid]) => Number(tid) !== pid).sort((x, y) => y[1] - x[1]);
  const worker = others.length ? others[0][1] : 0;
  const helpers = others.slice(1).reduce((n, [, v]) => n + v, 0);
  const per = (x) => (x / w.ops) * 1e6;
  return { worker: per(worker), main: per(main), helpers: per(helpers), helperCount: others.length - 1 };
}

main()
  .catch((e) => {
    C.log(String(e.stack || e));
    process.exitCode = 1;
  })
  .finally(() => C.cleanup());
