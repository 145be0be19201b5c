// --threshold, --alpha and --inconclusive: how `compare` and `bench ab` decide, and what an undecided comparison exits with.
import { Flags } from '@oclif/core';
import type { InconclusiveMode } from '../report/compare';

export const significanceFlags = {
  threshold: Flags.custom<number>({
    description: 'Largest tolerated change in the bad direction, in percent. A gated metric regresses only when it is significantly worse and its estimated change is beyond this; it has no regression only when the interval shows it is not worse by more than this.',
    default: 5,
    helpValue: 'PCT',
    parse: async (input) => {
      const n = Number(input);
      if (input.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`--threshold must be a percentage >= 0, got "${input}"`);
      return n;
    },
  })(),
  alpha: Flags.custom<number>({
    description:
      'Significance level. It is the chance that two runs of the same build are called regressed (family-wise over the gated metrics, Holm), and the chance that a regression beyond --threshold is called no regression (each metric at confidence 1 - alpha). The intervals shown are at 1 - 2·alpha, so each end is a one-sided 1 - alpha bound.',
    default: 0.05,
    helpValue: 'P',
    parse: async (input) => {
      const n = Number(input);
      if (input.trim() === '' || !Number.isFinite(n) || n <= 0 || n >= 0.5) throw new Error(`--alpha must be a probability between 0 and 0.5, got "${input}"`);
      return n;
    },
  })(),
  inconclusive: Flags.custom<InconclusiveMode>({
    description:
      'What an inconclusive comparison exits with: exit (its own code, 3), pass (0) or fail (1). Inconclusive means the samples cannot tell whether NEW regressed beyond --threshold: too few rounds or runs, an interval that straddles the threshold, or only per-second samples of one run. The default keeps it apart from both a pass and a regression, so that a CI job can decide what to do with it.',
    default: 'exit',
    helpValue: 'exit|pass|fail',
    parse: async (input) => {
      if (input !== 'exit' && input !== 'pass' && input !== 'fail') throw new Error(`--inconclusive must be exit, pass or fail, got "${input}"`);
      return input;
    },
  })(),
};
