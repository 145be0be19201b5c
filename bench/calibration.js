#!/usr/bin/env node
// Calibration of compare's verdicts (regressed / no regression / inconclusive) by simulation: many
// comparisons whose truth is known, through the real engine (dist/src/report/significance.js).
//
// Each sample (a round, or a whole run in history mode) has a load factor exp(sigma·z), sigma the
// run-to-run noise: its rate is rate/load and its latency histogram (1,000 events at one value,
// so p50, p90 and p99 gate beside the rate: Holm over four, as a real handshake run) is 2 ms·load. A regression of r divides
// NEW's rate by 1/(1 - r) and multiplies its latency alike. Prints, as markdown tables:
//   1. A/A under the default recipe (8 rounds a side): how often each verdict comes out;
//   2. a 10% regression under the recipe: how often it is "regressed";
//   3. rounds a side needed to call a 10% regression "regressed" 90% of the time, per noise level;
//   4. history mode (10 baseline runs, one new run): A/A and a 10% regression;
// and checks that no "no regression" had an interval whose bad end crossed the threshold.
// Usage: node bench/calibration.js [--trials 1000] [--threshold 5] [--alpha 0.05] [--real]
// --real also runs real A/A pairs and the RSA-3072-vs-ECDSA regression (bench/verdicts_real.js).
'use strict';
const path = require('node:path');
const dist = (...p) => require(path.join(__dirname, '..', 'dist', 'src', ...p));
const { compareSamples, RECIPE_ROUNDS } = dist('report', 'significance.js');
const { createHistogram } = dist('engine', 'stats', 'histograms.js');
const { mulberry32 } = dist('report', 'stats', 'rng.js');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const trials = arg('trials', 1000);
const thresholdPct = arg('threshold', 5);
const alpha = arg('alpha', 0.05);
const EVENTS = 1000;

// Histograms of one value, shared (HDR resolution is ~0.1%: values are rounded to 3 digits first).
const histograms = new Map();
function histogramAt(us) {
  const v = Number(us.toPrecision(3));
  let h = histograms.get(v);
  if (!h) {
    h = createHistogram();
    h.recordValueWithCount(Math.max(1, Math.round(v)), EVENTS);
    histograms.set(v, h);
  }
  return h;
}

function sampler(seed) {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  /** One sample at noise (fraction) and true slowdown factor `slow` (1: none). */
  return (noise, slow) => {
    const load = Math.exp(Math.log(1 + noise) * gauss()) * slow;
    return { durationMs: 1000 * load, counters: { handshakes: EVENTS, connects: EVENTS, roundTrips: 0, bytesIn: 0, bytesOut: 0 }, histograms: { handshake: histogramAt(2000 * load) } };
  };
}

/** One comparison: nb base samples, nn new samples, `change` the true regression (0.1 = 10% slower). */
function once(draw, source, nb, nn, noise, change) {
  const slow = 1 / (1 - change);
  const set = (n, s) => ({ source, histograms: true, samples: Array.from({ length: n }, () => draw(noise, s)) });
  const rows = compareSamples('handshake', set(nb, 1), set(nn, slow), { thresholdPct, alpha });
  const gated = rows.filter((r) => r.gated);
  const verdict = gated.some((r) => r.verdict === 'regressed') ? 'regressed' : gated.some((r) => r.verdict === 'inconclusive') || gated.length === 0 ? 'inconclusive' : 'no regression';
  // "no regression" must mean every gated interval's bad end is within the threshold (rates: above -T%; latencies: below +T%).
  const straddled = gated.some((r) => r.verdict === 'no regression' && (r.better === 'higher' ? r.significance.ci.low <= -thresholdPct : r.significance.ci.high >= thresholdPct));
  return { verdict, straddled, gated: gated.length };
}

let violations = 0;
function rates(seed, source, nb, nn, noise, change, n = trials) {
  const draw = sampler(seed);
  const c = { regressed: 0, 'no regression': 0, inconclusive: 0 };
  for (let t = 0; t < n; t++) {
    const r = once(draw, source, nb, nn, noise, change);
    c[r.verdict]++;
    if (r.straddled) violations++;
  }
  return { regressed: c.regressed / n, pass: c['no regression'] / n, inconclusive: c.inconclusive / n };
}
const p = (x) => `${(100 * x).toFixed(1)}%`;
const NOISES = [0.03, 0.05, 0.1];

console.log(`Calibration of compare's verdicts: threshold ${thresholdPct}%, alpha ${alpha}, ${trials} comparisons per row, 4 gated metrics (rate, p50, p90, p99)\n`);

console.log(`1. A/A (no true change), default recipe: ${RECIPE_ROUNDS} rounds a side\n`);
console.log('| run-to-run noise | regressed | no regression | inconclusive |');
console.log('|---:|---:|---:|---:|');
for (const noise of NOISES) {
  const r = rates(11 + noise * 1000, 'rounds', RECIPE_ROUNDS, RECIPE_ROUNDS, noise, 0);
  console.log(`| ${noise * 100}% | ${p(r.regressed)} | ${p(r.pass)} | ${p(r.inconclusive)} |`);
}

console.log(`\n2. A 10% regression, default recipe (${RECIPE_ROUNDS} rounds a side)\n`);
console.log('| run-to-run noise | regressed | no regression | inconclusive |');
console.log('|---:|---:|---:|---:|');
for (const noise of NOISES) {
  const r = rates(23 + noise * 1000, 'rounds', RECIPE_ROUNDS, RECIPE_ROUNDS, noise, 0.1);
  console.log(`| ${noise * 100}% | ${p(r.regressed)} | ${p(r.pass)} | ${p(r.inconclusive)} |`);
}

const search = Math.max(200, Math.round(trials / 4));
console.log(`\n3. Rounds a side to call a regression "regressed" in 90% of comparisons (${search} comparisons per try), and what an A/A comparison then says\n`);
console.log("| run-to-run noise | 10% regression: rounds | 20% regression: rounds | A/A at the 10% row's rounds: no regression / inconclusive |");
console.log('|---:|---:|---:|---:|');
const MAX_ROUNDS = 40;
for (const noise of [0.02, 0.03, 0.05, 0.1, 0.15]) {
  const need = (change) => {
    // Start below the normal approximation's answer and step up.
    const guess = 2 * ((2.4 + 1.28) * Math.log(1 + noise) / -Math.log(1 - change)) ** 2;
    for (let n = Math.max(2, Math.floor(guess) - 2); n <= MAX_ROUNDS; n++) if (rates(31 + n + noise * 1000, 'rounds', n, n, noise, change, search).regressed >= 0.9) return n;
    return null;
  };
  const n10 = need(0.1);
  const n20 = need(0.2);
  const aa = n10 ? rates(41 + noise * 1000, 'rounds', n10, n10, noise, 0, search) : null;
  console.log(`| ${noise * 100}% | ${n10 ?? `>${MAX_ROUNDS}`} | ${n20 ?? `>${MAX_ROUNDS}`} | ${aa ? `${p(aa.pass)} / ${p(aa.inconclusive)}` : '–'} |`);
}

const hTrials = Math.max(200, Math.round(trials / 2));
console.log(`\n4. History mode: one new run against 10 (and 20) baseline runs, each run one sample (${hTrials} comparisons per row)\n`);
console.log('| run-to-run noise | history | A/A regressed | A/A no regression | A/A inconclusive | 10% regression: regressed | 20% regression: regressed |');
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const noise of [0.01, 0.02, 0.03, 0.05]) {
  for (const h of [10, 20]) {
    const aa = rates(51 + h + noise * 1000, 'runs', h, 1, noise, 0, hTrials);
    const r10 = rates(61 + h + noise * 1000, 'runs', h, 1, noise, 0.1, hTrials);
    const r20 = rates(71 + h + noise * 1000, 'runs', h, 1, noise, 0.2, hTrials);
    console.log(`| ${noise * 100}% | ${h} | ${p(aa.regressed)} | ${p(aa.pass)} | ${p(aa.inconclusive)} | ${p(r10.regressed)} | ${p(r20.regressed)} |`);
  }
}

console.log(`\n"no regression" with an interval whose bad end crossed the threshold: ${violations} (must be 0)`);
if (violations > 0) process.exitCode = 1;

if (process.argv.includes('--real')) require('./verdicts_real.js');
