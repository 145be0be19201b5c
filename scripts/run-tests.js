#!/usr/bin/env node
// `npm test`: builds, runs the whole mocha suite on the default I/O backend, then once more
// with IOCPTLS_IO=epoll (so command-level behaviour cannot drift between backends), and ends
// with one plain summary line: "N passed, M failed".
//
// Everything runs on the node that runs this script (mocha, and through process.execPath the
// CLI children), so another Node.js is tested with `/path/to/node scripts/run-tests.js`.
//   --no-build        use dist/ as it is (CI builds once, then tests several Node versions)
//   --default-only    only the default backend (skip the epoll pass)
//   --epoll-subset    the epoll pass runs only the files whose subject is the I/O backend (the
//                     loop, ports, data path, serve and bench under load, connect); .ci/run uses
//                     it on its second and third Node.js so that three versions fit in its time
//   other arguments   mocha specs instead of dist/test/**/*.test.js
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(name);
  if (i < 0) return false;
  argv.splice(i, 1);
  return true;
};
const noBuild = flag('--no-build');
const defaultOnly = flag('--default-only');
const epollSubset = flag('--epoll-subset');
const node = process.execPath;

if (!noBuild) {
  const tsc = spawnSync(node, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  const manifest = tsc.status === 0 ? spawnSync(node, [path.join(__dirname, 'manifest.js')], { cwd: root, stdio: 'inherit' }) : tsc;
  if (tsc.status !== 0 || manifest.status !== 0) {
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

// What the backend can change: the rest (statistics, reports, HTML, compare, shards, A/B) runs the
// same on either, and is most of the suite's time.
const BACKEND_SPECS = [
  'port_conformance', 'port_linux', 'loop_timers', 'large_flight', 'memory_wave', 'serve_memory', 'resources', 'io_fallback',
  'session', 'session_resume', 'serve_clients', 'serve_load', 'serve_http', 'bench_counts', 'bench_connections', 'bench_errors', 'connect',
].map((name) => `dist/test/${name}.test.js`);

const runs = [{ name: 'default backend', env: {} }];
if (process.platform === 'linux' && !defaultOnly)
  runs.push({ name: epollSubset ? 'IOCPTLS_IO=epoll, backend files' : 'IOCPTLS_IO=epoll', env: { IOCPTLS_IO: 'epoll' }, specs: epollSubset && argv.length === 0 ? BACKEND_SPECS : undefined });
const where = `Node.js ${process.version}, OpenSSL ${process.versions.openssl}`;

let passed = 0;
let failed = 0;
let pending = 0;
for (const run of runs) {
  console.log(`\n=== mocha (${run.name}; ${where}) ===`);
  // Spec here, not in .mocharc.json, so that `npx mocha dist/test/x.test.js` runs just that file.
  const args = run.specs ?? (argv.length > 0 ? argv : ['dist/test/**/*.test.js']);
  const r = spawnSync(node, [path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), ...args], {
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
console.log(`\n${passed} passed, ${failed} failed${pending ? `, ${pending} skipped` : ''} (${where})`);
process.exit(failed ? 1 : 0);
