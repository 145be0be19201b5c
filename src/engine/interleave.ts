// Runs several variants of the same measurement in interleaved rounds (A B C, A B C, ...) and
// keeps each round's result, so that what drifts over time on a shared machine (other load,
// thermal state, caches) lands on every variant alike instead of on whichever ran last. The
// caller turns the rounds into medians or sums; `bench handshake --compare-groups` and
// `bench ab` both run through here.

export interface InterleaveOptions<V, R> {
  variants: readonly V[];
  /** How many times each variant runs. */
  rounds: number;
  /** Runs one variant once; runs never overlap. */
  run: (variant: V, index: number, round: number) => Promise<R>;
  /** After each run, e.g. for progress. */
  onResult?: (r: RoundResult<V, R>) => void;
  /** Stop early (e.g. on SIGINT): the runs so far are returned. */
  shouldStop?: () => boolean;
}

export interface RoundResult<V, R> {
  variant: V;
  /** Position of the variant in `variants`. */
  index: number;
  /** 0-based round. */
  round: number;
  result: R;
}

export interface VariantResults<V, R> {
  variant: V;
  index: number;
  /** One result per completed round, in round order. */
  results: R[];
}

/** Runs every variant once per round, in the given order within each round, one at a time. */
export async function runInterleaved<V, R>(o: InterleaveOptions<V, R>): Promise<VariantResults<V, R>[]> {
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new RangeError(`rounds must be a whole number >= 1, not ${o.rounds}`);
  const out: VariantResults<V, R>[] = o.variants.map((variant, index) => ({ variant, index, results: [] }));
  for (let round = 0; round < o.rounds; round++) {
    for (let index = 0; index < o.variants.length; index++) {
      if (o.shouldStop?.()) return out;
      const variant = o.variants[index];
      const result = await o.run(variant, index, round);
      out[index].results.push(result);
      o.onResult?.({ variant, index, round, result });
    }
  }
  return out;
}

/** The order runInterleaved runs in, as variant indexes (for reports: "A B C A B C"). */
export function interleavedOrder(variants: number, rounds: number): number[] {
  const order: number[] = [];
  for (let r = 0; r < rounds; r++) for (let i = 0; i < variants; i++) order.push(i);
  return order;
}

/** Median of a list of numbers (NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
