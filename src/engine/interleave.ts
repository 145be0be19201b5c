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
  /**
   * Reverse the order every other round (A B, B A, A B, ... = ABBA ABBA): a drift that is linear
   * in time then lands on every variant equally, where a fixed order always gives the later slot
   * the later machine. `bench ab` runs this way.
   */
  alternate?: boolean;
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
    for (const index of roundOrder(o.variants.length, round, o.alternate === true)) {
      if (o.shouldStop?.()) return out;
      const variant = o.variants[index];
      const result = await o.run(variant, index, round);
      out[index].results.push(result);
      o.onResult?.({ variant, index, round, result });
    }
  }
  return out;
}

/** The variants' order within one round: as given, or reversed in odd rounds when alternating. */
function roundOrder(variants: number, round: number, alternate: boolean): number[] {
  const order = Array.from({ length: variants }, (_, i) => i);
  return alternate && round % 2 === 1 ? order.reverse() : order;
}

/** The order runInterleaved runs in, as variant indexes (for reports: "A B C A B C", or "A B B A" alternating). */
export function interleavedOrder(variants: number, rounds: number, alternate = false): number[] {
  const order: number[] = [];
  for (let r = 0; r < rounds; r++) order.push(...roundOrder(variants, r, alternate));
  return order;
}
