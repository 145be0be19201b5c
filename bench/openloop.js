#!/usr/bin/env node
'use strict';
// Open loop vs closed loop at a rate the server handles easily (issue 9): does the open loop add
// latency of its own? Against one `iocptls serve --mode handshake -w 1` (pinned to CPU 0), in
// interleaved rounds, each client pinned to CPU 1:
//   iocptls closed:  bench -c 1                     (handshakes back to back)
//   iocptls open:    bench --rate R -c 8            (latency from each intended start)
//   python closed:   python3 ssl, handshakes back to back
//   python paced:    python3 ssl, one handshake every 1/R s
// The python pair is the independent observer: a server (and a machine) that sat idle between
// handshakes answers more slowly than one kept busy — wake-ups, cold caches — and that part of
// the ratio is real, not the tool's. The figure of merit is iocptls's open/closed p50 ratio next to
// python's paced/closed ratio, measured in the same run. Medians over rounds.
//
//   node bench/openloop.js [--rounds 3] [--seconds 5] [--rate 100]
const path = require('node:path');
const fs = require('node:fs');
const C = require('./lib/common');

const USAGE = `usage: node bench/openloop.js [options]
  --rounds N    interleaved rounds [3]
  --seconds S   measured seconds per iocptls run [5]
  --rate R      open-loop handshakes per second [100]
`;
const opt = C.parseArgs(process.argv.slice(2), {
  rounds: { type: 'number', default: 3 },
  seconds: { type: 'number', default: 5 },
  rate: { type: 'number', default: 100 },
}, USAGE);

const RUN = path.join(C.ROOT, 'bin', 'run.js');
const PY = `
import ssl, socket, time, sys
port, gap, n = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ts = []
nxt = time.perf_counter()
for i in range(n):
    if gap:
        nxt += gap
        d = nxt - time.perf_counter()
        if d > 0: time.sleep(d)
    t0 = time.perf_counter()
    s = socket.create_connection(('127.0.0.1', port)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ss = ctx.wrap_socket(s); ts.append(time.perf_counter() - t0); ss.close()
ts.sort(); print(int(ts[len(ts) // 2] * 1e6))
`;

async function iocptls(port, args) {
  const p = C.spawnPinned(1, process.execPath, [RUN, 'bench', `127.0.0.1:${port}`, '-d', String(opt.seconds), '--warmup', '1', '-w', '1', '--json', ...args]);
  const r = await p.done;
  const d = JSON.parse(r.stdout);
  return { p50: d.latency.handshake.p50, lagP50: d.latency.scheduleLag ? d.latency.scheduleLag.p50 : null, uncorrected: d.latency.handshakeUncorrected ? d.latency.handshakeUncorrected.p50 : null };
}

async function python(port, gap) {
  const n = Math.round(opt.seconds * opt.rate);
  const p = C.spawnPinned(1, 'python3', ['-c', PY, String(port), String(gap), String(n)]);
  const r = await p.done;
  return { p50: Number(r.stdout.trim()) };
}

(async () => {
  C.log(C.machineLine());
  let port = 0;
  // serve announces its address on stderr.
  const server = C.spawnPinned(0, process.execPath, [RUN, 'serve', '--mode', 'handshake', '-w', '1', '--port', '0'], {
    onStderr: (s) => {
      const m = /127\.0\.0\.1:(\d+)/.exec(s);
      if (m) port = Number(m[1]);
    },
  });
  for (let i = 0; i < 100 && !port; i++) await C.sleep(100);
  if (!port) throw new Error(`serve did not start: ${server.stderr}`);
  const rows = { ic: [], io: [], pc: [], pp: [], lag: [], unc: [] };
  for (let round = 0; round < opt.rounds; round++) {
    const ic = await iocptls(port, ['-c', '1']);
    const io = await iocptls(port, ['--rate', String(opt.rate), '-c', '8']);
    const pc = await python(port, 0);
    const pp = await python(port, 1 / opt.rate);
    rows.ic.push(ic.p50);
    rows.io.push(io.p50);
    rows.lag.push(io.lagP50);
    rows.unc.push(io.uncorrected);
    rows.pc.push(pc.p50);
    rows.pp.push(pp.p50);
    C.log(`round ${round + 1}: iocptls closed ${ic.p50} µs, open ${io.p50} µs (lag ${io.lagP50} µs, uncorrected ${io.uncorrected} µs); python closed ${pc.p50} µs, paced ${pp.p50} µs`);
  }
  await C.stopChild(server, 'SIGINT');
  const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, C.median(v)]));
  process.stdout.write(
    `\nHandshake p50 at ${opt.rate}/s vs back to back, serve --mode handshake -w 1, medians of ${opt.rounds} rounds (µs)\n\n` +
      C.table(
        ['client', 'closed (back to back)', `paced / open loop ${opt.rate}/s`, 'ratio'],
        [
          ['iocptls bench (-c 1 / --rate -c 8)', C.fmt(m.ic), C.fmt(m.io), C.ratio(m.io, m.ic)],
          ['  of which start lag / uncorrected', '', `${C.fmt(m.lag)} / ${C.fmt(m.unc)}`, C.ratio(m.unc, m.ic)],
          ['python3 ssl (independent)', C.fmt(m.pc), C.fmt(m.pp), C.ratio(m.pp, m.pc)],
        ]
      ) +
      `\niocptls open/closed ÷ python paced/closed: ${(m.io / m.ic / (m.pp / m.pc)).toFixed(2)} (1.00: the open loop adds nothing the machine does not)\n`
  );
  C.cleanup();
})().catch((e) => {
  C.log(String(e && e.stack ? e.stack : e));
  C.cleanup();
  process.exit(1);
});
