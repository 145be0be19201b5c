#!/usr/bin/env node
// compare's verdicts on real runs (not a test: prints counts). Starts two `iocptls serve --mode
// handshake -w 1` servers, one with an ECDSA P-256 certificate and one with RSA-3072, then:
//   A/A:        --pairs pairs of `bench handshake --rounds 3 -d 2` against the ECDSA server (both
//               runs of a pair measured at the same time), compared: verdict counts;
//   regression: ECDSA then RSA-3072 with 3 rounds each (the case): the verdict;
//   history:    --history runs of one round against ECDSA as the baseline, then one new run
//               against ECDSA (same build) and one against RSA-3072 (regressed): the verdicts.
//   --mild:     instead of the above, a milder regression: one ECDSA server pinned to CPU 0 (the
//               bench on CPU 1), then the same with a process that keeps CPU 0 busy 30% of the time
//               (3 ms of every 10): 3 rounds each, and a history of --history single runs.
// Usage: node bench/verdicts_real.js [--pairs 10] [--history 10] [--mild]
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const RUN = path.join(__dirname, '..', 'bin', 'run.js');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const pairs = arg('pairs', 10);
const historyRuns = arg('history', 10);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-verdicts-real-'));

const mild = process.argv.includes('--mild');
/** taskset's prefix for a CPU, when there is taskset and more than one CPU. */
const pin = (cpu) => (os.cpus().length > 1 && spawnSync('taskset', ['-c', '0', 'true']).status === 0 ? ['taskset', '-c', String(cpu)] : []);

function serve(keyType, cpu) {
  return new Promise((resolve, reject) => {
    const cmd = [...(cpu === undefined ? [] : pin(cpu)), process.execPath];
    const proc = spawn(cmd[0], [...cmd.slice(1), RUN, 'serve', '--port', '0', '--mode', 'handshake', '-w', '1', '--key-type', keyType], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /listening on [^\s]*?:(\d+)/.exec(err);
      if (m) resolve({ proc, port: Number(m[1]) });
    });
    proc.on('exit', () => reject(new Error(`serve exited: ${err}`)));
  });
}

function bench(port, rounds, file) {
  return new Promise((resolve) => {
    const cmd = [...(mild ? pin(1) : []), process.execPath];
    const args = [...cmd.slice(1), RUN, 'bench', 'handshake', `127.0.0.1:${port}`, '-w', '1', '-c', '4', '-d', '2', '--warmup', '1', '--rounds', String(rounds), '--round-pause', '0', '--json'];
    const p = spawn(cmd[0], args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => {
      fs.writeFileSync(file, out);
      resolve(code);
    });
  });
}

function compare(args) {
  const r = spawnSync(process.execPath, [RUN, 'compare', ...args, '--json'], { encoding: 'utf8' });
  const cmp = JSON.parse(r.stdout);
  const rate = cmp.rows.find((x) => x.id.startsWith('rates.') && x.gated);
  return { code: r.status, verdict: cmp.verdict, rate: rate ? `${rate.changePct?.toFixed(1)}% [${rate.significance.ci?.low.toFixed(1)}, ${rate.significance.ci?.high.toFixed(1)}]` : '-' };
}

/** A process on `cpu` that is busy 3 ms of every 10: the server's core shared with a neighbour. */
function hog(cpu) {
  const code = 'for (;;) { const t = Date.now(); while (Date.now() - t < 3); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 7); }';
  const cmd = [...pin(cpu), process.execPath, '-e', code];
  return spawn(cmd[0], cmd.slice(1), { stdio: 'ignore' });
}

async function mildRegression() {
  const server = await serve('ecdsa-p256', 0);
  const f = (n) => path.join(dir, n);
  try {
    await bench(server.port, 3, f('alone3.json'));
    fs.mkdirSync(f('history'));
    for (let i = 0; i < historyRuns; i++) await bench(server.port, 1, f(`history/run${String(i).padStart(2, '0')}.json`));
    await bench(server.port, 1, f('new-alone.json'));
    const neighbour = hog(0);
    try {
      await bench(server.port, 3, f('shared3.json'));
      await bench(server.port, 1, f('new-shared.json'));
    } finally {
      neighbour.kill('SIGKILL');
    }
    const r3 = compare([f('alone3.json'), f('shared3.json')]);
    console.log(`\nServer's CPU alone -> shared with a 30% neighbour, 3 rounds each: ${r3.verdict} (exit ${r3.code}), handshakes/s ${r3.rate}`);
    const same = compare([f('new-alone.json'), '--history', f('history')]);
    const slow = compare([f('new-shared.json'), '--history', f('history')]);
    console.log(`History of ${historyRuns} single runs (CPU alone): a new run alone: ${same.verdict} (exit ${same.code}), handshakes/s ${same.rate}`);
    console.log(`History of ${historyRuns} single runs (CPU alone): a new run with the neighbour: ${slow.verdict} (exit ${slow.code}), handshakes/s ${slow.rate}`);
  } finally {
    server.proc.kill('SIGINT');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(async () => {
  if (mild) return mildRegression();
  const ecdsa = await serve('ecdsa-p256');
  const rsa = await serve('rsa3072');
  const f = (n) => path.join(dir, n);
  try {
    const counts = { regressed: 0, 'no regression': 0, inconclusive: 0 };
    console.log(`\nReal A/A: ${pairs} pairs of bench handshake --rounds 3 -d 2 against one serve (ECDSA P-256), both runs of a pair at once`);
    for (let i = 0; i < pairs; i++) {
      await Promise.all([bench(ecdsa.port, 3, f(`aa${i}a.json`)), bench(ecdsa.port, 3, f(`aa${i}b.json`))]);
      const c = compare([f(`aa${i}a.json`), f(`aa${i}b.json`)]);
      counts[c.verdict]++;
      console.log(`  pair ${i + 1}: ${c.verdict} (exit ${c.code}), handshakes/s ${c.rate}`);
    }
    console.log(`  A/A verdicts: ${JSON.stringify(counts)}`);

    await Promise.all([bench(ecdsa.port, 3, f('ecdsa3.json')), bench(rsa.port, 3, f('rsa3.json'))]);
    const reg = compare([f('ecdsa3.json'), f('rsa3.json')]);
    console.log(`\nECDSA P-256 -> RSA-3072, 3 rounds each: ${reg.verdict} (exit ${reg.code}), handshakes/s ${reg.rate}`);

    fs.mkdirSync(f('history'));
    for (let i = 0; i < historyRuns; i++) await bench(ecdsa.port, 1, f(`history/run${String(i).padStart(2, '0')}.json`));
    await bench(ecdsa.port, 1, f('new-same.json'));
    await bench(rsa.port, 1, f('new-rsa.json'));
    const same = compare([f('new-same.json'), '--history', f('history')]);
    const slow = compare([f('new-rsa.json'), '--history', f('history')]);
    console.log(`\nHistory of ${historyRuns} single runs (ECDSA): a new ECDSA run: ${same.verdict} (exit ${same.code}), handshakes/s ${same.rate}`);
    console.log(`History of ${historyRuns} single runs (ECDSA): a new RSA-3072 run: ${slow.verdict} (exit ${slow.code}), handshakes/s ${slow.rate}`);
  } finally {
    ecdsa.proc.kill('SIGINT');
    rsa.proc.kill('SIGINT');
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();
