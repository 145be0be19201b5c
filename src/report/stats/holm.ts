// Holm's step-down correction for testing several metrics at once. A CI job fails when *any*
// gated metric regresses, so what must stay below alpha is the chance that two runs of the
// same build fail the job (the family-wise error rate), not each metric's own: with ten
// metrics each tested at 5%, noise alone would fail ~40% of jobs. Holm keeps the family at
// alpha under any dependence between the metrics and rejects at least what Bonferroni does.

/** Holm-adjusted p-values, in the order given: compare each with alpha. */
export function holmAdjust(p: readonly number[]): number[] {
  const m = p.length;
  const order = p.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(([v, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * v));
    out[i] = running;
  });
  return out;
}
