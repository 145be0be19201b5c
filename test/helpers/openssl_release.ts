// Which OpenSSL the tests run against (the one inside this node, which the CLI children use
// too), and skipping what it cannot do with the reason in each skipped test's title.
import type { Context } from 'mocha';

const [major, minor] = (process.versions.openssl ?? '0.0').split('.').map(Number);

/** OpenSSL 3.5+ (Node 22 and 24): ML-KEM groups, ML-DSA keys and certificates. */
export const HAS_PQ = major > 3 || (major === 3 && minor >= 5);

export const NO_PQ_REASON = `OpenSSL ${process.versions.openssl} has no ML-KEM or ML-DSA; they need 3.5 (Node 22/24)`;

/**
 * Skips unless `ok`, putting the reason in the title of every test skipped (mocha's skip() takes
 * no message). Works in a test and in a before() hook (which skips its whole suite).
 */
export function skipUnless(ctx: Context, ok: boolean, reason: string): void {
  if (ok) return;
  // In a hook, ctx.test is the hook (ctx.currentTest the next test): then the whole suite is skipped.
  const runnable = ctx.test;
  const tests = (runnable as { type?: string } | undefined)?.type === 'hook' ? (runnable?.parent?.tests ?? []) : runnable ? [runnable] : [];
  for (const t of tests) if (!t.title.includes('[skipped:')) t.title += ` [skipped: ${reason}]`;
  ctx.skip();
}

/** In a test or before() hook: skip unless post-quantum algorithms are there, saying why. */
export function requirePq(ctx: Context): void {
  skipUnless(ctx, HAS_PQ, NO_PQ_REASON);
}
