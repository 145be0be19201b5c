#!/usr/bin/env node
// How many rounds does `compare` need to flag a regression, given how much rounds vary?
// A simulation with the real test (dist/src/report/stats/mann_whitney.js): each round's figure is
// log-normal with the given coefficient of variation (CV) around its run's true value; the new
// run is worse by the given change; a round count "suffices" when Mann-Whitney's p, Holm-adjusted
// as the first of `--gated` metrics (p · gated), is below alpha in at least 80% of the trials.
// Usage: node bench/rounds_power.js [--alpha 0.05] [--gated 3] [--trials 400]
'use strict';
const path = require('node:path');
const { mannWhitneyU } = require(path.join(__dirname, '..', 'dist', 'src', 'report', 'stats', 'mann_whitney.js'));
const { mulberry32 } = require(path.join(__dirname, '..', 'dist', 'src', 'report', 'stats', 'rng.js'));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const alpha = arg('alpha', 0.05);
const gated = arg('gated', 3);
const trials = arg('trials', 400);
const CVS = [0.02, 0.05, 0.1, 0.2, 0.4];
const CHANGES = [0.05, 0.1, 0.2, 0.5];
const MAX_ROUNDS = 40;

function power(n, cv, change, seed) {
  const rand = mulberry32(seed);
  const sigma = Math.sqrt(Math.log(1 + cv * cv));
  const draw = (mean) => mean * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
  let hits = 0;
  for (let t = 0; t < trials; t++) {
    const base = Array.from({ length: n }, () => draw(1));
    const next = Array.from({ length: n }, () => draw(1 - change));
    if (mannWhitneyU(base, next).p * gated < alpha) hits++;
  }
  return hits / trials;
}

function roundsNeeded(cv, change) {
  for (let n = 2; n <= MAX_ROUNDS; n++) if (power(n, cv, change, 1000 * n + Math.round(cv * 100)) >= 0.8) return String(n);
  return `>${MAX_ROUNDS}`;
}

console.log(`Rounds per run to flag a drop with 80% power (alpha ${alpha}, Holm over ${gated} gated metrics, ${trials} trials each)\n`);
console.log(`| round-to-round CV | ${CHANGES.map((c) => `-${c * 100}%`).join(' | ')} |`);
console.log(`|---|${CHANGES.map(() => '---:').join('|')}|`);
for (const cv of CVS) console.log(`| ${cv * 100}% | ${CHANGES.map((c) => roundsNeeded(cv, c)).join(' | ')} |`);
