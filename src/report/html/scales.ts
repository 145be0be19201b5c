// One unit per axis, chosen from the largest value, so tick labels are short plain numbers
// ("2.5") and the unit is said once in the axis title ("latency (ms)").

import { RateUnit } from './document';

export interface Scale {
  /** Divide a value by this to get it in `unit`. */
  div: number;
  unit: string;
}

/** µs, ms or s for latencies given in µs. */
export function latencyScale(maxUs: number): Scale {
  if (maxUs >= 2_000_000) return { div: 1_000_000, unit: 's' };
  if (maxUs >= 2_000) return { div: 1000, unit: 'ms' };
  return { div: 1, unit: 'µs' };
}

/** Per-second rates: handshakes/s (k/s, M/s) or bit/s (kbit/s ... Gbit/s). */
export function rateScale(max: number, unit: RateUnit): Scale {
  const prefixes: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [div, p] of prefixes) {
    if (max >= 2 * div) return { div, unit: unit === 'bitsPerSec' ? `${p}bit/s` : `${p}/s` };
  }
  return { div: 1, unit: unit === 'bitsPerSec' ? 'bit/s' : '/s' };
}
