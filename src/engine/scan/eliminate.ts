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
// that honours the client's order picks the first both times). When the pairs would be too many
// (a server accepting a hundred suites), the order comes from one sequential elimination over
// the accepted items instead: slower, never wrong.
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
  const pairs: [number, number][] = [];
  const others = accepted.filter((id) => id !== top);
  for (let i = 0; i < others.length; i++)
    for (let j = i + 1; j < others.length; j++) {
      const [a, b] = [others[i], others[j]];
      if (chainOf.get(a) === chainOf.get(b) || beats.get(a)!.has(b) || beats.get(b)!.has(a)) continue;
      pairs.push(index.get(a)! < index.get(b)! ? [a, b] : [b, a]);
    }
  if (pairs.length > (s.maxPairs ?? 512) || (pairs.length > others.length && s.pairsWorthIt && !s.pairsWorthIt())) {
    const seq = await sequentialOrder(send, s, others);
    return done([...(top !== undefined ? [top] : []), ...seq.found], 'server', [err2, seq.error].filter(Boolean).join('; ') || undefined);
  }
  const pairErrors: string[] = [];
  await Promise.all(
    pairs.map(async ([a, b]) => {
      const r = await send(`${s.name} order`, s.helloFor([a, b]), s.stopAtServerHello);
      const got = s.pick(r);
      if (got && 'id' in got && (got.id === a || got.id === b)) beats.get(got.id)!.add(got.id === a ? b : a);
      else pairErrors.push(got && 'error' in got ? got.error : describeOrRefusal(r, s));
    })
  );
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
