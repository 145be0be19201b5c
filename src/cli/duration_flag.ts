// Lengths of time on the command line, as wrk, h2load and k6 take them: `10` or `10s` seconds,
// `1.5`, `500ms`, `2m`, `1h`. Sub-second windows matter for short CI checks and for rounds of an
// A/B run, where the number of rounds, not their length, buys the statistics.
import { Flags } from '@oclif/core';
import { ConfigError } from '../engine/errors';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Seconds in `text` (a number with an optional unit: ms, s, m, h), or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) return undefined;
  // Rounded to the microsecond: 700ms is 0.7 s, not 0.7000000000000001.
  const seconds = Math.round(Number(m[1]) * UNIT_SECONDS[m[2] ?? 's'] * 1e6) / 1e6;
  return Number.isFinite(seconds) ? seconds : undefined;
}

/** How a duration reads back: `0.5 s`, `2 s`, `90 s` (whole seconds without decimals). */
export function formatDuration(seconds: number): string {
  return `${Number(seconds.toFixed(3))} s`;
}

interface DurationFlagOptions {
  char?: 'd';
  description: string;
  /** The least accepted, in seconds (inclusive). */
  min: number;
  max?: number;
  default?: number;
}

/** A flag whose value is a length of time, in seconds (fractions allowed). */
export function durationFlag(o: DurationFlagOptions) {
  const max = o.max ?? 7 * 24 * 3600;
  return Flags.custom<number>({
    char: o.char,
    description: o.description,
    helpValue: 'DURATION',
    default: o.default,
    parse: async (input, _ctx, opt) => {
      const seconds = parseDuration(input);
      const name = `--${opt.name}`;
      if (seconds === undefined) throw new ConfigError(`${name}: '${input}' is not a length of time (seconds, or a number with ms, s, m or h: 500ms, 2s, 1m)`);
      if (seconds < o.min || seconds > max) {
        throw new ConfigError(`${name}: ${input} is out of range (${o.min === 0 ? '0' : formatDuration(o.min)} to ${formatDuration(max)})`);
      }
      return seconds;
    },
  })();
}
