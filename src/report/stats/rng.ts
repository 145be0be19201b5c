// Seeded randomness for the bootstrap: the same two documents must always give the same
// confidence intervals, so a CI log can be re-run and read the same way.

/** mulberry32: a small, fast 32-bit generator with a full 2^32 period; uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seed for one named quantity (FNV-1a of the name, mixed with the base seed): each metric
 * gets its own stream, so a row's interval does not change when other rows come or go.
 */
export function seedFor(base: number, name: string): number {
  let h = 0x811c9dc5 ^ (base >>> 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
