// --threshold and --alpha: how `compare` and `bench ab` decide that a change is a regression.
import { Flags } from '@oclif/core';

export const significanceFlags = {
  threshold: Flags.custom<number>({
    description: 'largest tolerated change in the bad direction, in percent',
    default: 5,
    helpValue: 'PCT',
    parse: async (input) => {
      const n = Number(input);
      if (input.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`--threshold must be a percentage >= 0, got "${input}"`);
      return n;
    },
  })(),
  alpha: Flags.custom<number>({
    description: 'significance level: the chance that two runs of the same build fail the comparison (family-wise, Holm); confidence intervals are at 1 - alpha',
    default: 0.05,
    helpValue: 'P',
    parse: async (input) => {
      const n = Number(input);
      if (input.trim() === '' || !Number.isFinite(n) || n <= 0 || n >= 0.5) throw new Error(`--alpha must be a probability between 0 and 0.5, got "${input}"`);
      return n;
    },
  })(),
};
