#!/usr/bin/env node
// `npm test`: builds, runs the whole mocha suite on the default I/O backend and, with
// IOCPTLS_IO=epoll, the files where that variable changes what runs (the data path, serve and
// bench under load, connect: BACKEND below, and of connect only the tests that move data:
// SECOND_PASS_TESTS; the port, loop, timer and memory-wave suites run
// every backend in one pass already), and ends with one plain summary line: "N passed, M failed".
//
// Each test file runs in its own mocha process, several at once (--jobs): most of a file's time
// is waiting (CLI children starting, `bench -d N` windows, servers draining), not CPU. Tests that
// depend on how busy the machine is (TIMED below: whole files, or the matching tests of a file)
// run one at a time in a timed lane after the untimed files, which fill the --jobs workers
// longest first; beside the timed lane only an idle lane runs (IDLE_BESIDE below: files without
// sockets or time bounds, at an idle priority that never takes a core from the timed tests).
// Each file's output is buffered and printed in one
// piece when it ends, under a `--- file: N passed, M failed in S s` line, so a failure reads as
// it would alone; the slowest files and the failed ones are listed again before the summary.
//
// Everything runs on the node that runs this script (mocha, and through process.execPath the
// CLI children), so another Node.js is tested with `/path/to/node scripts/run-tests.js`.
//   --no-build        use dist/ as it is (CI builds once, then tests several Node versions)
//   --full            the epoll pass runs the whole suite too (the full double pass in one go)
//   --epoll-subset    the epoll pass runs the backend files only (the default; kept for callers)
//   --epoll-rest      only the epoll pass over the files the default leaves out: after `npm test`,
//                     it completes the full double pass without repeating anything
//   --backend epoll   swap the passes: the whole suite with IOCPTLS_IO=epoll, then the backend
//                     files on the default (auto: io_uring where the kernel has it). .ci/run runs
//                     one Node.js line so, which gives every file an epoll run in CI without a
//                     third suite (--backend io_uring / auto: the main pass on that choice)
//   --default-only    only the default backend (no epoll pass)
//   --jobs N          parallel workers for the untimed files (default: IOCPTLS_TEST_JOBS, else
//                     CPUs + 2, at least 2 and at most 4: most untimed files wait on CLI children and
//                     drains, and with CPUs + 1 a 2-core machine sat ~10% idle); --jobs 1 runs everything in order
//   --serial          the same as --jobs 1
//   --timed-beside N  let up to N untimed files run beside the timed lane at normal priority
//                     (default 0; 1 suits a quiet machine)
//   --no-idle-beside  no idle lane: its files run with the workers, the timed lane alone
//   --dry-run         print which files would run where (and which tests are timed), run nothing
//   other arguments   mocha specs (paths or globs) instead of dist/test/*.test.js; the rest
//                     (--bail, --grep PATTERN...) go to every mocha process as they are
// One file alone, as mocha sees it: `npx mocha dist/test/x.test.js`.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(name);
  if (i < 0) return false;
  argv.splice(i, 1);
  return true;
};
const option = (name) => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const noBuild = flag('--no-build');
const defaultOnly = flag('--default-only');
const full = flag('--full');
const epollRest = flag('--epoll-rest');
const backend = option('--backend') ?? 'auto';
if (!['auto', 'io_uring', 'epoll'].includes(backend) || (backend === 'epoll' && epollRest)) {
  console.error(`run-tests: --backend ${backend}: expected auto, io_uring or epoll (and not epoll with --epoll-rest)`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
flag('--epoll-subset'); // the default now
const serialOnly = flag('--serial');
const dryRun = flag('--dry-run');
const timedBeside = Math.max(0, Number(option('--timed-beside') ?? 0) || 0);
const noIdleBeside = flag('--no-idle-beside');
const jobsArg = option('--jobs');
const node = process.execPath;
const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
const jobs = serialOnly ? 1 : Math.max(1, Number(jobsArg ?? process.env.IOCPTLS_TEST_JOBS ?? Math.min(4, Math.max(2, cpus + 2))) || 1);

if (!noBuild) {
  const tsc = spawnSync(node, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  const manifest = tsc.status === 0 ? spawnSync(node, [path.join(__dirname, 'manifest.js')], { cwd: root, stdio: 'inherit' }) : tsc;
  if (tsc.status !== 0 || manifest.status !== 0) {
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

// What the backend can change: the files that run the CLI or the engine on the backend IOCPTLS_IO
// picks (the data path, serve and bench under load, connect). The rest (statistics, reports, HTML,
// compare, shards, A/B) runs the same on either, and is most of the suite's time.
const BACKEND = new Set([
  'large_flight', 'serve_memory', 'resources', 'serve_clients', 'serve_load', 'serve_http', 'serve_http2', 'bench_counts', 'bench_connections', 'bench_errors', 'connect',
  'bench_http_nginx', 'bench_http_peers', 'bench_http_errors',
]);
// In the second pass, only these tests of a BACKEND file (a mocha --grep), where most of the file
// checks what the handshake carries (a cipher, a group, ALPN, the report's wording), which the I/O
// backend cannot change: connect keeps its handshakes on both TLS versions against both peers, its
// reconnects (resumption) and the data it sends and echoes. Its --io io_uring / --io epoll tests
// name their backend and run in the main pass. --full and --epoll-rest run whole files. CI's
// `--backend epoll` line runs every test of the file on epoll.
const SECOND_PASS_TESTS = {
  connect: 'TLS 1\\.[23]: (protocol|--reconnect)|--send prints|stdin',
};
// Files that choose their backends themselves and ignore IOCPTLS_IO: the port conformance suite, the
// port specifics, the loop timers and the memory wave run every available backend (io_uring, its
// fallback receive path, epoll) in one pass, as does recv_direct; the sans-I/O session has no port; io_fallback sets
// IOCPTLS_IO per child. An epoll pass of them would run the very same tests again, so none does
// (not even --full or --epoll-rest).
const OWN_BACKENDS = new Set(['port_conformance', 'port_linux', 'loop_timers', 'memory_wave', 'recv_direct', 'session', 'session_resume', 'io_fallback']);
// Files that never start the engine (documents, statistics, help text, the import rules, the scan's
// codec against other TLS stacks): IOCPTLS_IO cannot change a thing in them, so no epoll pass runs
// them either (in the first CI run they were ~200 s of --epoll-rest's work).
const NO_ENGINE = new Set(['compare', 'compare_stats', 'compare_verdicts', 'result_validation', 'merge', 'help_text', 'docs_links', 'layers', 'stats', 'report', 'html_parts', 'scan_wire', 'rendezvous_protocol', 'image', 'http2_codec', 'http_h1_parser', 'scan_eliminate', 'duration_flag']);

// Files run in the idle lane, beside the timed lane, at idle priority (Linux's SCHED_IDLE, via
// util-linux's chrt; --no-idle-beside runs them with the workers instead). The timed lane alone
// left ~40% of the two cores unused for its ~130 s while the workers' phase before it was
// CPU-bound, so these files' CPU moved there shortens the run. A task at idle priority takes a core
// only when no other task wants it and is preempted as soon as one does, so the timed tests see a
// machine as quiet as before. These are the NO_ENGINE files but the two with sockets or long waits
// of their own (the rendezvous protocol's, the container image's): documents, statistics, help
// text, codecs and the CLI runs that read and write them, so the waits they may get while the timed
// lane takes both cores cannot fail them (mocha's 30 s per test and more is the only bound; their
// tests take at most a few seconds).
const IDLE_BESIDE = new Set([...NO_ENGINE].filter((f) => f !== 'rendezvous_protocol' && f !== 'image'));
// Two at a time: most of their time is waiting on the CLI children they start.
const IDLE_JOBS = 2;

// Tests whose result depends on how busy the machine is run in the timed lane: the whole file
// (true), or only the tests whose full title matches (a mocha --grep; the rest of the file then
// runs in the workers with --grep ... --invert). Wall-clock bounds: timer precision and spinning
// (loop_timers, port_conformance's timeouts, EINTR and EMFILE back-off, port_linux); achieved
// rates and schedule lag (bench_openloop, bench_truth's open loop and exit-at-once); run lengths
// (the default bench "in about 10 s", connect's and serve's start next to a bare node's, two
// --start-at shards within 250 ms of each other, a past --start-at named to the second after a
// CLI start); a stop under load within 3 s, and good clients' handshakes within serve's
// --handshake-timeout 500 (serve_load). A/B verdicts from rounds taken one
// after another (bench ab on real runs, but for its 2-round case: fewer than 6 samples are
// inconclusive whatever the load), where a neighbour's burst would fall on one side, and
// from runs side by side (compare_runs: beside two other files at load 19 its latency rows no
// longer gated). Enough handshakes in a 2 s run for a p99.9 mark on the HTML spectrum (at load
// 19 beside two others there were fewer than 1,000), and enough in 2 s under ulimit -n 120 that
// its few EMFILE failures stay under the 1% error budget (resources' bench test). At most one
// message per --interval in a 3 s window (bench_connections: 1,776 for 1,700 at load 19). Hundreds
// of worst-case histograms validated within 1 s (result_validation: ~0.55 s alone, over 1 s at load 18).
// Three --rendezvous shard processes starting within 100 ms of the instant shard 0 announced (rendezvous).
// Not here, although they measure: memory_wave and serve_memory (the loop's own accounting of
// native memory, exact whatever the load; serve_memory polls RSS until it is back), resources'
// serve test (CPU seconds of the server itself, not wall time), pki's leak check (RSS growth
// after an explicit gc() per batch of 800 leaves, the smallest of five batches: what one process
// allocates, not how fast; alone in the lane its 4,500 leaves kept the second core idle).
const TIMED = {
  loop_timers: true,
  port_conformance: 'completes a timeout with -ETIME|submitAndWait blocks|a signal every 20 ms|backs off when out of descriptors',
  port_linux: true,
  bench_openloop: true,
  bench_truth: 'a second signal exits at once|open loop at a low rate|ping-pong --rate',
  bench_report: 'the default `bench`',
  connect: 'is quick',
  serve_cli: 'starts quickly',
  shards: 'two shards against nginx|bad --shard / --start-at',
  serve_load: 'during load: totals printed|bad clients among good ones',
  bench_ab: 'bench ab on real runs (two targets|A against itself|no target|SIGINT)',
  compare_runs: true,
  html_report: 'a handshake run as a page whose charts drew',
  resources: 'bench under ulimit -n 120',
  bench_connections: 'with --message-size',
  rendezvous: 'start within 100 ms',
  result_validation: 'checked in well under a second',
};

// Seconds each file took (its parts added up), for longest-first scheduling: a file not listed
// counts as 10 s and starts among the last, so list new files. Measured in the Node 20 `npm test`
// of a fresh-clone `.ci/run` on the quiet 2-core machine (2026-12-08: 470 s in all); refresh from
// the `---` lines a run prints.
const SECONDS = {
  bench_ab: 68, html_report: 65, result_validation: 62, pki: 59, user_errors: 53, memory_wave: 44, bench_truth: 44,
  connect_errors: 36, shards: 34, connect: 34, bench_rounds: 34, compare_verdicts: 33, cli_errors: 28,
  serve_memory: 26, serve_http: 26, rendezvous: 26, scan: 24, compare_groups: 24, bench_report: 24,
  bench_resume: 23, compare: 22, serve_hardening: 20, serve_clients: 20, scan_panel: 19, bench_http_errors: 19,
  bench_errors: 19, bench_http_peers: 18, bench_connections: 18, port_conformance: 17, compare_runs: 17,
  resources: 16, bind: 16, large_flight: 15, k8s_job: 15, help_text: 15, groups: 15, bench_counts: 15,
  serve_cli: 14, scan_quick: 14, serve_load: 12, recv_direct: 12, scan_full: 11, bench_http_nginx: 11,
  serve_http2: 10, handshake_bytes: 10, bench_openloop: 9, scan_outputs: 8, http2_codec: 7, scan_vulns: 6,
  rendezvous_protocol: 6, merge: 4, serve_resume: 3, session: 2, scan_wire: 2, scan_chains: 2, report: 2,
  loop_timers: 2, io_fallback: 2, stats: 1, session_resume: 1, serve_parts: 1, scan_eliminate: 1, port_linux: 1,
  port_iocp: 1, mldsa: 1, layers: 1, image: 1, http_h1_parser: 1, html_parts: 1, duration_flag: 1,
  docs_links: 1, compare_stats: 1,
};

const name = (file) => path.basename(file).replace(/\.test\.js$/, '');

/** The spec files: dist/test/*.test.js, or what the arguments name (files or globs). */
function specFiles(specs) {
  if (specs.length === 0) return fs.readdirSync(path.join(root, 'dist', 'test')).filter((f) => f.endsWith('.test.js')).sort().map((f) => `dist/test/${f}`);
  const out = [];
  for (const s of specs) {
    if (/[*?[{]/.test(s)) out.push(...require('glob').globSync(s, { cwd: root }).sort());
    else out.push(s);
  }
  return [...new Set(out)];
}

// A spec is a path or a glob (`dist/test/x.test.js`, `dist/test/serve_*.test.js`); anything else
// (`--bail`, `--grep`, its pattern) goes to every mocha as it is.
const isSpec = (a) => !a.startsWith('-') && (a.endsWith('.js') || a.includes('/') || /[*?]/.test(a));
const mochaOpts = argv.filter((a) => !isSpec(a));
const named = argv.some(isSpec);
const files = specFiles(argv.filter(isSpec));
const where = `Node.js ${process.version}, OpenSSL ${process.versions.openssl}`;
// The main pass runs every file on --backend (default auto); the second pass runs the files the
// backend can change on the other one: epoll, or with --backend epoll the default (auto).
const mainEnv = backend === 'auto' ? {} : { IOCPTLS_IO: backend };
const second = backend === 'epoll' ? { label: 'auto', env: {} } : { label: 'epoll', env: { IOCPTLS_IO: 'epoll' } };
const passes = epollRest ? [] : [{ label: '', title: backend === 'auto' ? 'the default backend' : backend, env: mainEnv, files }];
if (process.platform === 'linux' && (epollRest || !defaultOnly)) {
  const secondFiles = (epollRest ? files.filter((f) => !BACKEND.has(name(f))) : full || named ? files : files.filter((f) => BACKEND.has(name(f)))).filter(
    (f) => !OWN_BACKENDS.has(name(f)) && !NO_ENGINE.has(name(f))
  );
  passes.push({ ...second, title: second.label, files: secondFiles, subsets: !(epollRest || full || named) });
}

const all = passes.flatMap((p) =>
  p.files.flatMap((file) => {
    const label = p.label ? `${name(file)} (${p.label})` : name(file);
    const timed = TIMED[name(file)];
    // The second pass's chosen tests (they never match a timed test's title: see SECOND_PASS_TESTS).
    const only = p.subsets ? SECOND_PASS_TESTS[name(file)] : undefined;
    const job = { file, env: p.env, label, args: only ? ['--grep', only] : [], timed: false };
    if (!timed) return [job];
    if (timed === true) return [{ ...job, timed: true }];
    return [
      { ...job, label: `${label}, untimed tests`, args: only ? ['--grep', only] : ['--grep', timed, '--invert'] },
      { ...job, label: `${label}, timed tests`, args: ['--grep', timed], timed: true },
    ];
  })
);
const weight = (j) => SECONDS[name(j.file)] ?? 10;
const serialQueue = all.filter((j) => j.timed || jobs === 1).sort((a, b) => weight(b) - weight(a));
// The idle lane needs Linux's SCHED_IDLE (util-linux's chrt) and a timed lane to sit beside.
const idleBeside = !noIdleBeside && jobs > 1 && serialQueue.length > 0 && process.platform === 'linux' && spawnSync('chrt', ['--idle', '0', 'true']).status === 0;
const idle = (j) => idleBeside && IDLE_BESIDE.has(name(j.file));
const idleQueue = all.filter((j) => !j.timed && jobs > 1 && idle(j)).sort((a, b) => weight(b) - weight(a));
const parallelQueue = all.filter((j) => !j.timed && jobs > 1 && !idle(j)).sort((a, b) => weight(b) - weight(a));

console.log(
  `=== mocha: ${passes.map((p) => `${p.files.length} files on ${p.title}`).join(', ')} in ${all.length} runs (${where})\n` +
    `    ${parallelQueue.length} in ${jobs} workers, then ${serialQueue.length} in the timed lane (one at a time${timedBeside ? `, beside up to ${timedBeside} others` : ''}` +
      `${idleQueue.length ? `, with ${idleQueue.length} untimed at idle priority beside it, ${IDLE_JOBS} at a time` : timedBeside ? '' : ', alone'})`
);

if (dryRun) {
  for (const j of [...serialQueue, ...idleQueue, ...parallelQueue])
    console.log(`  ${j.timed ? 'timed lane' : idle(j) ? 'idle lane ' : 'workers   '}  ${j.label}${j.args.length ? `  [${j.args.join(' ')}]` : ''}`);
  process.exit(0);
}

// CPU seconds per file (its own and its children's), written by the hook when mocha exits.
const cpuHook = path.join(__dirname, 'test_cpu_hook.js');
const cpuDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-test-cpu-'));
process.on('exit', () => fs.rmSync(cpuDir, { recursive: true, force: true }));
let cpuFiles = 0;
const cpuText = (r) => (r.cpu === undefined ? '' : `, CPU ${r.cpu.toFixed(1)} s`);

/** Runs one file in its own mocha; resolves with its counts and its whole output. */
function runFile(job, idle = false) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const cpuFile = path.join(cpuDir, `${++cpuFiles}`);
    const mocha = [node, path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--require', cpuHook, ...mochaOpts, ...job.args, job.file];
    // At idle priority (SCHED_IDLE, inherited by the CLI children it starts) beside the timed lane.
    const [cmd, ...args] = idle ? ['chrt', '--idle', '0', ...mocha] : mocha;
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, ...job.env, IOCPTLS_TEST_CPU_FILE: cpuFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks = [];
    let stdout = '';
    child.stdout.on('data', (d) => {
      chunks.push(d);
      stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d) => chunks.push(d));
    child.on('close', (code, signal) => {
      const num = (re) => Number((re.exec(stdout) || [])[1] || 0);
      const failed = num(/^\s*(\d+) failing/m);
      let cpu;
      try {
        cpu = Number(fs.readFileSync(cpuFile, 'utf8'));
      } catch {
        cpu = undefined; // not Linux, or the process died before its exit handler
      }
      resolve({
        ...job,
        label: idle ? `${job.label} (idle lane)` : job.label,
        seconds: (Date.now() - t0) / 1000,
        cpu,
        output: Buffer.concat(chunks).toString('utf8'),
        passed: num(/^\s*(\d+) passing/m),
        pending: num(/^\s*(\d+) pending/m),
        // A file that died without mocha's summary counts as a failure.
        failed: failed || (code !== 0 ? 1 : 0),
        exit: signal ?? code,
      });
    });
  });
}

// mocha's numbered failures (title, then the error's first lines), or the last lines of a file
// that died before its summary.
function failureDigest(output) {
  const lines = output.replace(/\s+$/, '').split('\n');
  const at = lines.findIndex((l) => /^\s*\d+ failing\s*$/.test(l));
  if (at < 0) return lines.slice(-8).map((l) => l.trim());
  const out = [];
  let taken = 0;
  for (const line of lines.slice(at + 1)) {
    if (/^\s*\d+\) /.test(line)) taken = 0;
    if (line.trim() === '' || /^\s+at /.test(line) || taken >= 5 || out.length >= 40) continue;
    out.push(line.trim());
    taken++;
  }
  return out;
}

const results = [];
function report(r) {
  results.push(r);
  const head = `--- ${r.label}: ${r.passed} passed, ${r.failed} failed${r.pending ? `, ${r.pending} skipped` : ''} in ${r.seconds.toFixed(1)} s${cpuText(r)}` + (r.failed ? ` (exit ${r.exit})` : '');
  process.stdout.write(`\n${head}\n${r.output.replace(/^\s*\n/, '').replace(/\s+$/, '')}\n`);
}

async function main() {
  const t0 = Date.now();
  // The timed lane runs its files one after another once the workers are done, with nothing of
  // ours beside it (--timed-beside N: up to N untimed files beside it, for a quiet machine). In
  // the first parallel runs, at load 16-19 from the other worktrees on the 2-core machine, timed
  // tests beside two or even one other file missed their bounds (connect's 'is quick' at 5.6 s
  // against a bare node's 1.8 s, --rate 50 starting 104 of 150, the default bench in 24.5 s).
  const BESIDE_TIMED = Math.min(timedBeside, jobs - 1);
  let timedBusy = false;
  let untimedBusy = 0;
  let idleBusy = 0;
  let timedDoneAt = t0;
  await new Promise((done) => {
    const pump = () => {
      if (!timedBusy && serialQueue.length > 0 && (BESIDE_TIMED > 0 || (untimedBusy === 0 && parallelQueue.length === 0))) {
        timedBusy = true;
        void runFile(serialQueue.shift()).then((r) => {
          timedBusy = false;
          timedDoneAt = Date.now();
          report(r);
          pump();
        });
      }
      while (parallelQueue.length > 0 && untimedBusy < (timedBusy ? BESIDE_TIMED : jobs)) {
        untimedBusy++;
        void runFile(parallelQueue.shift()).then((r) => {
          untimedBusy--;
          report(r);
          pump();
        });
      }
      // The idle lane: beside the timed lane at idle priority, IDLE_JOBS at a time; once the timed
      // lane is done, what is left of it runs as the workers do.
      const timedDone = !timedBusy && serialQueue.length === 0;
      while (idleQueue.length > 0 && (timedBusy || timedDone) && idleBusy < (timedDone ? jobs : IDLE_JOBS)) {
        idleBusy++;
        void runFile(idleQueue.shift(), !timedDone).then((r) => {
          idleBusy--;
          report(r);
          pump();
        });
      }
      if (!timedBusy && untimedBusy === 0 && idleBusy === 0 && serialQueue.length === 0 && parallelQueue.length === 0 && idleQueue.length === 0) done();
    };
    pump();
  });
  const totalSeconds = (Date.now() - t0) / 1000;
  const timedSeconds = results.filter((r) => r.timed).reduce((n, r) => n + r.seconds, 0);

  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const pending = results.reduce((n, r) => n + r.pending, 0);
  const slowest = [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 12);
  const cpuTotal = results.reduce((n, r) => n + (r.cpu ?? 0), 0);
  console.log(
    `\n=== ${totalSeconds.toFixed(0)} s with ${jobs} workers (the timed lane: ${timedSeconds.toFixed(0)} s, done at ${((timedDoneAt - t0) / 1000).toFixed(0)} s` +
      `${cpuTotal ? `; CPU ${cpuTotal.toFixed(0)} s in all` : ''}); slowest files:`
  );
  for (const r of slowest) console.log(`  ${r.seconds.toFixed(1).padStart(6)} s  ${r.label}${r.timed ? ' (timed)' : ''}${cpuText(r)}`);
  if (cpuTotal) {
    console.log('most CPU:');
    for (const r of [...results].sort((a, b) => (b.cpu ?? 0) - (a.cpu ?? 0)).slice(0, 12)) console.log(`  ${r.cpu.toFixed(1).padStart(6)} s  ${r.label}`);
  }
  const bad = results.filter((r) => r.failed);
  if (bad.length) {
    console.log(`failed: ${bad.map((r) => r.label).join(', ')} (their output is above, each under its --- line)`);
    // Again in short, so the tail of a long log (all a CI page may show) names what failed and why.
    for (const r of bad) console.log(`  ${r.label}:\n${failureDigest(r.output).map((l) => `    ${l}`).join('\n')}`);
  }
  console.log(`\n${passed} passed, ${failed} failed${pending ? `, ${pending} skipped` : ''} (${where})`);
  process.exit(failed ? 1 : 0);
}
main();
