#!/usr/bin/env node
// `npm test`: builds, runs the whole mocha suite on the default I/O backend, then once more
// with IOCPTLS_IO=epoll (so command-level behaviour cannot drift between backends), and ends
// with one plain summary line: "N passed, M failed".
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const tsc = spawnSync(bin('tsc'), ['-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
const manifest = tsc.status === 0 ? spawnSync(process.execPath, [path.join(__dirname, 'manifest.js')], { cwd: root, stdio: 'inherit' }) : tsc;
if (tsc.status !== 0 || manifest.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const runs = [{ name: 'default backend', env: {} }];
if (process.platform === 'linux') runs.push({ name: 'IOCPTLS_IO=epoll', env: { IOCPTLS_IO: 'epoll' } });

let passed = 0;
let failed = 0;
let pending = 0;
for (const run of runs) {
  console.log(`\n=== mocha (${run.name}) ===`);
  // Spec here, not in .mocharc.json, so that `npx mocha dist/test/x.test.js` runs just that file.
  const args = process.argv.length > 2 ? process.argv.slice(2) : ['dist/test/**/*.test.js'];
  const r = spawnSync(bin('mocha'), args, {
    cwd: root,
    env: { ...process.env, ...run.env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 256 * 1024 * 1024,
  });
  process.stdout.write(r.stdout);
  const num = (re) => Number((re.exec(r.stdout) || [])[1] || 0);
  const p = num(/^\s*(\d+) passing/m);
  const f = num(/^\s*(\d+) failing/m);
  pending += num(/^\s*(\d+) pending/m);
  passed += p;
  // A run that died without mocha's summary counts as a failure.
  failed += f || (r.status !== 0 ? 1 : 0);
}
console.log(`\n${passed} passed, ${failed} failed${pending ? `, ${pending} skipped` : ''}`);
process.exit(failed ? 1 : 0);
