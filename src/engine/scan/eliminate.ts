// Elimination in parallel chains, and the merge that recovers the server's order.
//
// A scan's time at a distance is its number of sequential round trips. One elimination chain
// (offer all, drop the server's pick, offer the rest...) costs one round trip per accepted item,
// one after another. Here the candidates are split into `chains` disjoint subsets, each
// eliminated by its own chain, all at once: the chain length drops to about accepted/chains.
// Each chain gives the server's order inside its subset; the order across subsets is one more
// round in which every pair of items from different subsets is offered together ([x, y]: the
// server picks its preferred one), all those probes at once. Whether the server has an order at
// all is asked as soon as two items are known: the same pair offered both ways round (a server
// that honours the client's order picks the first both times). Before any pair, the merge guesses:
// the one order that agrees with every fact so far, the rest as servers most often order them
// (OpenSSL 3.0's and 3.5's default groups; for suites Mozilla's profiles and OpenSSL's own lists,
// a guess each: likely_order.ts), and asks only their adjacent pairs, all at once. If every answer agrees, that is the server's order (a server's choice
// among more than two follows one order: OpenSSL and GnuTLS pick by a list), for n - 1 probes
// at most instead of every cross pair (9 for 10 groups, not 36). If one disagrees, one more guess
// with its answer; if that fails too, or more than one disagreed, the remaining pairs follow.
// When the pairs would be too many (a server accepting a hundred suites), the order comes from
// one sequential elimination over the accepted items instead: slower, never wrong.
import type { ServerEvent } from '../wire/reader';
import type { ProbeOutcome } from './exchange';
import type { Order } from './types';

export type Choice = { id: number } | { error: string } | undefined;

export interface EliminationSpec {
  name: string;
  /** The candidates, in the order we offer them. */
  all: number[];
  /** A probe that already offered all of `all` (its pick is the server's first choice). */
  first?: ProbeOutcome;
  helloFor: (offer: number[]) => Buffer;
  stopAtServerHello: boolean;
  /** Reads a probe: the item chosen, an error (an answer that makes no sense), undefined for a refusal. */
  pick: (r: ProbeOutcome) => Choice;
  /** Parallel chains (default 8). */
  chains?: number;
  /** Most cross-chain pair probes before falling back to a sequential merge (default 512). */
  maxPairs?: number;
  /**
   * Asked when the merge starts: whether round trips are dear enough to pay for the pairs (default
   * yes). Near the server (a round trip of a millisecond) the sequential merge costs a few ms more
   * and far fewer connections; far from it, the pairs save a round trip per accepted item.
   */
  pairsWorthIt?: () => boolean;
  /** Orders the server most likely has, as ranks (lower first), one guess each; ties and unknowns keep our offer order. */
  likely?: ((id: number) => number)[];
  /** How an answer that is neither a choice nor a refusal is described. */
  describe: (r: ProbeOutcome) => string;
  /** An answer that still means "none of these" (a server picking the curve pinned outside the candidates). */
  refused?: (r: ProbeOutcome) => boolean;
  /** How an item is named in an error. */
  label: (id: number) => string;
}

export interface Elimination {
  /** The accepted items, in the server's order (or ours when it honours the client's). */
  found: number[];
  /** The events of the probe that found each item (its ServerKeyExchange...). */
  events: ServerEvent[][];
  order: Order;
  error?: string;
}

export type Send = (name: string, bytes: Buffer, stopAtServerHello: boolean) => Promise<ProbeOutcome>;

interface Chain {
  found: number[];
  error?: string;
}

export async function eliminateParallel(send: Send, s: EliminationSpec): Promise<Elimination> {
  const index = new Map(s.all.map((id, i) => [id, i]));
  const events = new Map<number, ServerEvent[]>();
  const errors: string[] = [];
  let top: number | undefined;
  if (s.first) {
    const got = s.pick(s.first);
    if (got && 'id' in got && index.has(got.id)) {
      top = got.id;
      events.set(got.id, s.first.events);
    } else if (got && 'id' in got) errors.push(`the server chose ${s.label(got.id)}, which was not offered`);
    else if (got) errors.push(got.error);
    else return { found: [], events: [], order: 'none', error: refusalError(s.first, s) };
  }
  const rest = s.all.filter((id) => id !== top);
  const k = Math.max(1, Math.min(s.chains ?? 8, rest.length));
  const subsets: number[][] = Array.from({ length: k }, () => []);
  rest.forEach((id, i) => subsets[i % k].push(id));

  // The order question, asked once two items are known anywhere.
  let orderAsk: Promise<{ order: Order; winner?: number; pair?: [number, number]; error?: string }> | undefined;
  const known: number[] = top !== undefined ? [top] : [];
  const onFound = (id: number) => {
    known.push(id);
    if (known.length === 2 && !orderAsk) orderAsk = askOrder(send, s, known[0], known[1]);
  };

  const chains = await Promise.all(subsets.map((subset) => runChain(send, s, subset, events, onFound)));
  for (const c of chains) if (c.error) errors.push(c.error);
  const accepted = [...(top !== undefined ? [top] : []), ...chains.flatMap((c) => c.found)];
  const error = errors.length ? errors.join('; ') : undefined;
  const done = (found: number[], order: Order, err = error): Elimination => ({ found, events: found.map((id) => events.get(id)!), order, error: err });
  if (accepted.length === 0) return done([], 'none');
  if (accepted.length === 1) return done(accepted, 'single');

  const ask = await orderAsk!;
  const err2 = [error, ask.error].filter(Boolean).join('; ') || undefined;
  if (ask.order === 'client') return done([...accepted].sort((a, b) => index.get(a)! - index.get(b)!), 'client', err2);

  // Server order: `beats[a]` holds what a was preferred to.
  const beats = new Map<number, Set<number>>(accepted.map((id) => [id, new Set<number>()]));
  if (top !== undefined) for (const id of accepted) if (id !== top) beats.get(top)!.add(id);
  for (const c of chains) c.found.forEach((id, i) => c.found.slice(i + 1).forEach((later) => beats.get(id)!.add(later)));
  if (ask.pair && ask.winner !== undefined) beats.get(ask.winner)!.add(ask.pair[0] === ask.winner ? ask.pair[1] : ask.pair[0]);
  const chainOf = new Map<number, number>();
  chains.forEach((c, i) => c.found.forEach((id) => chainOf.set(id, i)));
  const pairErrors: string[] = [];
  /** Offers each pair in our order, all at once; records who won; false when any answer was not one of the two. */
  const askPairs = async (pairs: [number, number][]) => {
    const before = pairErrors.length;
    await Promise.all(
      pairs.map(async ([a, b]) => {
        const [x, y] = index.get(a)! < index.get(b)! ? [a, b] : [b, a];
        const r = await send(`${s.name} order`, s.helloFor([x, y]), s.stopAtServerHello);
        const got = s.pick(r);
        if (got && 'id' in got && (got.id === x || got.id === y)) beats.get(got.id)!.add(got.id === x ? y : x);
        else pairErrors.push(got && 'error' in got ? got.error : describeOrRefusal(r, s));
      })
    );
    return pairErrors.length === before;
  };
  const others = accepted.filter((id) => id !== top);
  const crossPairs = () => {
    const pairs: [number, number][] = [];
    for (let i = 0; i < others.length; i++)
      for (let j = i + 1; j < others.length; j++) {
        const [a, b] = [others[i], others[j]];
        if (chainOf.get(a) === chainOf.get(b) || beats.get(a)!.has(b) || beats.get(b)!.has(a)) continue;
        pairs.push([a, b]);
      }
    return pairs;
  };
  const rankWith = (likely?: (id: number) => number) => (id: number) => [likely?.(id) ?? 0, index.get(id)!];
  // One guess per likely order, their steps asked in one round. A guess that one answer proved
  // wrong is guessed again with what that answer said (a server whose list is the guess with two
  // items swapped), when the pairs left are many; more wrong answers than one: the pairs.
  let priors: (((id: number) => number) | undefined)[] = s.likely?.length ? s.likely : [undefined];
  for (let round = 0; round < 2; round++) {
    const reached = closure(beats);
    const guesses = priors.flatMap((likely) => {
      const order = agreeingOrder(accepted, beats, rankWith(likely));
      const unsure = order?.slice(0, -1).map((a, i): [number, number] => [a, order[i + 1]]).filter(([a, b]) => !reached.get(a)!.has(b));
      return order && unsure ? [{ likely, order, unsure }] : [];
    });
    if (!guesses.length) break;
    const asked = new Map<string, [number, number]>();
    for (const g of guesses) for (const [a, b] of g.unsure) asked.set(a < b ? `${a},${b}` : `${b},${a}`, [a, b]);
    if (!(await askPairs([...asked.values()]))) break;
    const scored = guesses.map((g) => ({ ...g, wrong: g.unsure.filter(([a, b]) => !beats.get(a)!.has(b)).length }));
    const right = scored.find((g) => g.wrong === 0);
    if (right) return done(right.order, 'server', err2);
    const closest = scored.reduce((x, y) => (y.wrong < x.wrong ? y : x));
    if (closest.wrong > 1 || crossPairs().length <= 2 * others.length) break;
    priors = [closest.likely];
  }
  const pairs = crossPairs();
  if (pairs.length > (s.maxPairs ?? 512) || (pairs.length > others.length && s.pairsWorthIt && !s.pairsWorthIt())) {
    const seq = await sequentialOrder(send, s, others);
    return done([...(top !== undefined ? [top] : []), ...seq.found], 'server', [err2, seq.error].filter(Boolean).join('; ') || undefined);
  }
  await askPairs(pairs);
  if (pairErrors.length) errors.push(`order probes: ${pairErrors[0]}${pairErrors.length > 1 ? ` (and ${pairErrors.length - 1} more)` : ''}`);
  // With a consistent total order every pair is now known and the count of items each beats is
  // its rank; a server whose choices are not transitive (a ChaCha20 priority that depends on the
  // client's first suite) still gets a stable order, ties broken by our offer order.
  const sorted = [...accepted].sort((a, b) => beats.get(b)!.size - beats.get(a)!.size || index.get(a)! - index.get(b)!);
  return done(sorted, 'server', [errors.join('; ') || undefined, ask.error].filter(Boolean).join('; ') || undefined);
}

/** One chain: offer the subset, drop the pick, repeat until the server refuses. */
async function runChain(send: Send, s: EliminationSpec, subset: number[], events: Map<number, ServerEvent[]>, onFound: (id: number) => void): Promise<Chain> {
  const remaining = new Set(subset);
  const found: number[] = [];
  while (remaining.size) {
    const r = await send(s.name, s.helloFor(subset.filter((id) => remaining.has(id))), s.stopAtServerHello);
    const got = s.pick(r);
    if (!got) return { found, error: refusalError(r, s) };
    if ('error' in got) return { found, error: got.error };
    if (!remaining.has(got.id)) return { found, error: `the server chose ${s.label(got.id)}, which was not offered` };
    remaining.delete(got.id);
    found.push(got.id);
    events.set(got.id, r.events);
    onFound(got.id);
  }
  return { found };
}

/** Who each item beats, directly or through others (the facts are few: tens of items). */
function closure(beats: Map<number, Set<number>>): Map<number, Set<number>> {
  const reached = new Map<number, Set<number>>();
  for (const start of beats.keys()) {
    const seen = new Set<number>();
    const stack = [...beats.get(start)!];
    while (stack.length) {
      const x = stack.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      for (const y of beats.get(x) ?? []) stack.push(y);
    }
    reached.set(start, seen);
  }
  return reached;
}

/**
 * The order that agrees with every fact in `beats`, what no fact decides by `rank` (the first
 * item that nothing left beats, again and again); undefined when the facts go round
 * in a circle (a server whose choices are not transitive).
 */
function agreeingOrder(items: number[], beats: Map<number, Set<number>>, rank: (id: number) => number[]): number[] | undefined {
  const reached = closure(beats);
  const ranks = new Map(items.map((id) => [id, rank(id)]));
  const left = [...items].sort((a, b) => ranks.get(a)![0] - ranks.get(b)![0] || ranks.get(a)![1] - ranks.get(b)![1]);
  const order: number[] = [];
  while (left.length) {
    const i = left.findIndex((x) => !left.some((y) => y !== x && reached.get(y)!.has(x)));
    if (i < 0) return undefined;
    order.push(left.splice(i, 1)[0]);
  }
  return order;
}

/** A refusal is an alert, a close or a reset; anything else (a timeout, garbage) is an error. */
function refusalError(r: ProbeOutcome, s: EliminationSpec): string | undefined {
  return r.kind === 'alert' || r.kind === 'closed' || r.kind === 'reset' || s.refused?.(r) ? undefined : s.describe(r);
}
function describeOrRefusal(r: ProbeOutcome, s: EliminationSpec): string {
  return refusalError(r, s) ?? `refused (${s.describe(r)})`;
}

/** [a, b] and [b, a]: the same pick both times is the server's order, the first both times the client's. */
async function askOrder(send: Send, s: EliminationSpec, a: number, b: number): Promise<{ order: Order; winner?: number; pair?: [number, number]; error?: string }> {
  const [r1, r2] = await Promise.all([send(`${s.name} order`, s.helloFor([a, b]), s.stopAtServerHello), send(`${s.name} order`, s.helloFor([b, a]), s.stopAtServerHello)]);
  const g1 = s.pick(r1);
  const g2 = s.pick(r2);
  if (!g1 || !g2 || 'error' in g1 || 'error' in g2) {
    const bad = !g1 || 'error' in g1 ? [g1, r1] : [g2, r2];
    const g = bad[0] as Choice;
    return { order: 'server', error: `order probe: ${g && 'error' in g ? g.error : describeOrRefusal(bad[1] as ProbeOutcome, s)}` };
  }
  if (g1.id === a && g2.id === b) return { order: 'client' };
  if (g1.id === g2.id) return { order: 'server', winner: g1.id, pair: [a, b] };
  return { order: 'server', error: `order probe: the server chose ${s.label(g1.id)} then ${s.label(g2.id)} from the same two` };
}

/** The fallback merge: one elimination over the accepted items, one probe per round trip. */
async function sequentialOrder(send: Send, s: EliminationSpec, items: number[]): Promise<Chain> {
  const left = new Set(items);
  const found: number[] = [];
  while (left.size > 1) {
    const r = await send(`${s.name} order`, s.helloFor(items.filter((id) => left.has(id))), s.stopAtServerHello);
    const got = s.pick(r);
    if (!got || 'error' in got || !left.has(got.id)) return { found: [...found, ...items.filter((id) => left.has(id))], error: `order probe: ${got && 'error' in got ? got.error : describeOrRefusal(r, s)}` };
    left.delete(got.id);
    found.push(got.id);
  }
  return { found: [...found, ...left] };
}
