#!/usr/bin/env node
'use strict';
// How long a CLI start takes, with and without Node's on-disk compile cache
// (module.enableCompileCache(), Node >= 22.1; bin/run.js turns it on where it exists), on each
// Node found: this one and the ones in ~/.cache/iocptls-node/. The two settings alternate within
// each round (NODE_DISABLE_COMPILE_CACHE=1 turns it off), so a noisy machine loads both alike;
// medians and ranges of wall time of the whole process.
//
//   node bench/startup.js [--rounds 15] [--cmd "--version"] [--root DIR]
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const arg = (name, def) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const ROUNDS = Number(arg('rounds', 15));
const CMD = arg('cmd', '--version').split(' ').filter(Boolean);
const ROOT = path.resolve(arg('root', path.join(__dirname, '..')));

const nodes = [process.execPath];
const cache = path.join(os.homedir(), '.cache', 'iocptls-node');
if (fs.existsSync(cache)) for (const d of fs.readdirSync(cache).sort()) if (fs.existsSync(path.join(cache, d, 'bin', 'node'))) nodes.push(path.join(cache, d, 'bin', 'node'));

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const once = (node, env) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(node, [path.join(ROOT, 'bin', 'run.js'), ...CMD], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0 && CMD[0] === '--version') throw new Error(`${node} bin/run.js ${CMD.join(' ')} exited ${r.status}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
};

console.log(`bin/run.js ${CMD.join(' ')}: ${ROUNDS} rounds, cache on and off alternating; median (range) ms of the whole process`);
for (const node of [...new Set(nodes)]) {
  const version = spawnSync(node, ['--version']).stdout.toString().trim();
  const has = spawnSync(node, ['-p', "typeof require('node:module').enableCompileCache"]).stdout.toString().trim() === 'function';
  once(node, {}); // fills the cache
  const on = [];
  const off = [];
  for (let r = 0; r < ROUNDS; r++) {
    on.push(once(node, {}));
    off.push(once(node, { NODE_DISABLE_COMPILE_CACHE: '1' }));
  }
  const f = (a) => `${median(a).toFixed(0)} (${Math.min(...a).toFixed(0)}-${Math.max(...a).toFixed(0)})`;
  console.log(`  ${version.padEnd(9)} ${has ? `cache on ${f(on)}  off ${f(off)}  on/off ${(median(on) / median(off)).toFixed(2)}` : `no compile cache in this Node: ${f(off)}`}`);
}
