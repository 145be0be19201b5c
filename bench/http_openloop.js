#!/usr/bin/env node
'use strict';
// bench http: open loop at a low rate vs a closed loop with one connection (issue 24). Against one
// nginx worker (CPU 0), clients one at a time on CPU 1, interleaved rounds, HTTP/1.1 and HTTP/2:
//   iocptls closed:  bench http -c 1                  (requests back to back)
//   iocptls open:    bench http -c 1 --rate R         (latency from each intended send time)
//   h2load closed:   h2load -c1 -m1                   (p50 from its --log-file)
//   h2load paced:    h2load -c1 -m1 --rps R
// h2load is the independent observer: a server (and a machine) that sleeps between requests
// answers later than one kept busy, and that part of the ratio is real, not the tool's. The figure
// of merit is iocptls's open/closed p50 ratio next to h2load's paced/closed one. Medians of rounds.
//
//   node bench/http_openloop.js [--rounds 5] [--seconds 3] [--rate 200]
const fs = require('node:fs');
const path = require('node:path');
const C = require('./lib/common');

const USAGE = `usage: node bench/http_openloop.js [options]
  --rounds N    interleaved rounds [5]
  --seconds S   measured seconds per run [3]
  --rate R      open-loop requests per second [200]
`;
const opt = C.parseArgs(process.argv.slice(2), {
  rounds: { type: 'number', default: 5 },
  seconds: { type: 'number', default: 3 },
  rate: { type: 'number', default: 200 },
}, USAGE);

async function iocptls(url, proto, rate) {
  const args = [C.RUN_JS, 'bench', 'http', url, '--http', proto, '-c', '1', '-w', '1', '-d', String(opt.seconds), '--json'];
  if (rate) args.push('--rate', String(rate));
  const r = await C.spawnPinned(1, process.execPath, args).done;
  const l = JSON.parse(r.stdout).latency;
  return { p50: l.request.p50, uncorrected: l.requestUncorrected ? l.requestUncorrected.p50 : null, lag: l.scheduleLag ? l.scheduleLag.p50 : null };
}

async function h2load(url, proto, rate, log) {
  const args = ['-c1', '-m1', `-D${opt.seconds}`, `--log-file=${log}`, url];
  if (proto === '1.1') args.unshift('--h1');
  if (rate) args.unshift(`--rps=${rate}`);
  fs.rmSync(log, { force: true });
  await C.spawnPinned(1, C.which('h2load'), args).done;
  // One line per request: start (µs since the epoch), status, duration (µs).
  const d = fs.readFileSync(log, 'utf8').trim().split('\n').map((s) => Number(s.split('\t')[2])).sort((a, b) => a - b);
  return { p50: d[Math.floor((d.length - 1) / 2)] };
}

(async () => {
  for (const tool of ['nginx', 'taskset', 'h2load']) {
    if (!C.which(tool)) {
      C.log(`missing: ${tool} (apt-get install nginx util-linux nghttp2-client)`);
      process.exit(2);
    }
  }
  const dir = C.tempDir('iocptls-http-openloop-');
  const certs = C.makeCerts(dir)['ecdsa-p256'];
  const [port, statusPort] = await C.freePorts(2);
  const { file } = C.writeNginxConf(dir, {
    statusPort,
    httpServers: [`  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${certs.cert};
    ssl_certificate_key ${certs.key};
    location / { return 200 "ok"; }
  }`],
  });
  await C.startNginx(dir, file, [port, statusPort]);
  C.log(C.machineLine());
  const url = `https://127.0.0.1:${port}/`;
  const log = path.join(dir, 'h2load.log');
  const rows = [];
  for (const proto of ['1.1', '2']) {
    const m = { ic: [], io: [], unc: [], lag: [], hc: [], hp: [] };
    for (let round = 0; round < opt.rounds; round++) {
      const ic = await iocptls(url, proto, 0);
      const io = await iocptls(url, proto, opt.rate);
      const hc = await h2load(url, proto, 0, log);
      const hp = await h2load(url, proto, opt.rate, log);
      m.ic.push(ic.p50);
      m.io.push(io.p50);
      m.unc.push(io.uncorrected);
      m.lag.push(io.lag);
      m.hc.push(hc.p50);
      m.hp.push(hp.p50);
      C.log(`HTTP/${proto} round ${round + 1}: iocptls closed ${ic.p50} µs, open ${io.p50} µs (uncorrected ${io.uncorrected}, lag ${io.lag}); h2load closed ${hc.p50} µs, paced ${hp.p50} µs`);
    }
    const md = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, C.median(v)]));
    const range = (v) => `${Math.min(...v)}..${Math.max(...v)}`;
    rows.push([`iocptls, HTTP/${proto}`, `${C.fmt(md.ic)} (${range(m.ic)})`, `${C.fmt(md.io)} (${range(m.io)})`, `${C.fmt(md.unc)} / ${C.fmt(md.lag)}`, C.ratio(md.io, md.ic)]);
    rows.push([`h2load, HTTP/${proto}`, `${C.fmt(md.hc)} (${range(m.hc)})`, `${C.fmt(md.hp)} (${range(m.hp)})`, '(not corrected)', C.ratio(md.hp, md.hc)]);
    rows.push([`  iocptls ratio ÷ h2load ratio`, '', '', '', ((md.io / md.ic) / (md.hp / md.hc)).toFixed(2)]);
  }
  process.stdout.write(
    `\nRequest p50 at ${opt.rate}/s vs back to back, -c 1, one nginx worker, medians of ${opt.rounds} rounds (µs, range)\n\n` +
      C.table(['client', 'closed loop', `open loop ${opt.rate}/s`, 'uncorrected / start lag', 'open ÷ closed'], rows) +
      `\n(1.00 in the last rows: the open loop adds nothing the machine and the server do not)\n`
  );
  C.cleanup();
})().catch((e) => {
  C.log(String(e && e.stack ? e.stack : e));
  C.cleanup();
  process.exit(1);
});
