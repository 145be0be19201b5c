#!/usr/bin/env node
'use strict';
// Timer lateness of the loop: plain timers (the kernel's wake-up) against precise ones (wake a
// little early, then poll the port), on each available backend, in interleaved rounds. Each round
// arms N timers GAP ms apart, one after the other, and records how late each fired and how much
// CPU the loop used meanwhile. Prints medians over rounds of the per-round p50/p90/p99 lateness
// and CPU share, and the precise ÷ plain ratios. Not a test: figures depend on the machine and on
// what else runs (the loop wakes up late when the CPU is busy elsewhere).
//
//   npm run build && node bench/timers.js [--rounds 5] [--timers 200] [--gap 5]
const path = require('node:path');
const C = require('./lib/common');

const USAGE = `usage: node bench/timers.js [options]
  --rounds N    interleaved rounds (medians are taken over them) [5]
  --timers N    timers per round [200]
  --gap MS      time between two timers [5]
`;
const opt = C.parseArgs(process.argv.slice(2), {
  rounds: { type: 'number', default: 5 },
  timers: { type: 'number', default: 200 },
  gap: { type: 'number', default: 5 },
}, USAGE);

const dist = path.join(__dirname, '..', 'dist', 'src', 'engine');
const { Loop } = require(path.join(dist, 'loop'));
const { availableBackends, createPort } = require(path.join(dist, 'port'));

function round(backend, precise) {
  const loop = new Loop(createPort(backend));
  const late = [];
  let k = 0;
  const start = performance.now() + 20;
  const arm = () => {
    const at = start + k * opt.gap;
    loop.setTimer(at, () => {
      late.push((performance.now() - at) * 1000);
      if (++k < opt.timers) arm();
    }, { precise });
  };
  arm();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  loop.run(() => k >= opt.timers, 100);
  const cpu = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  loop.destroy();
  late.sort((a, b) => a - b);
  const q = (p) => late[Math.min(late.length - 1, Math.floor(late.length * p))];
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (let r = 0; r < opt.rounds; r++) {
  for (const backend of availableBackends()) {
    for (const precise of [false, true]) {
      const key = `${backend} ${precise ? 'precise' : 'plain'}`;
      (results[key] ??= []).push(round(backend, precise));
    }
  }
}
console.log(`lateness (µs, medians over ${opt.rounds} rounds of ${opt.timers} timers ${opt.gap} ms apart); loop CPU %`);
console.log('backend   timers     p50     p90     p99   cpu%');
for (const [key, rs] of Object.entries(results)) {
  const m = (f) => median(rs.map((x) => x[f]));
  const [b, kind] = key.split(' ');
  console.log(`${b.padEnd(9)} ${kind.padEnd(7)} ${m('p50').toFixed(0).padStart(7)} ${m('p90').toFixed(0).padStart(7)} ${m('p99').toFixed(0).padStart(7)} ${m('cpuPct').toFixed(1).padStart(6)}`);
}
for (const backend of availableBackends()) {
  const p = results[`${backend} precise`];
  const q = results[`${backend} plain`];
  const ratio = (f) => (median(p.map((x) => x[f])) / median(q.map((x) => x[f]))).toFixed(2);
  console.log(`${backend}: precise ÷ plain p50 lateness ${ratio('p50')}×, CPU ${ratio('cpuPct')}×`);
}
