// Which OpenSSL the tests run against (the one inside this node, which the CLI children use
// too), and skipping what it cannot do with the reason in the test's title.
import type { Context } from 'mocha';

const [major, minor] = (process.versions.openssl ?? '0.0').split('.').map(Number);

/** OpenSSL 3.5+ (Node 22 and 24): ML-KEM groups, ML-DSA keys and certificates. */
export const HAS_PQ = major > 3 || (major === 3 && minor >= 5);

export const NO_PQ_REASON = `OpenSSL ${process.versions.openssl} has no ML-KEM or ML-DSA; they need 3.5 (Node 22/24)`;

/** In a test or hook: skip unless post-quantum algorithms are there, saying why in the title. */
export function requirePq(ctx: Context): void {
  if (HAS_PQ) return;
  const t = ctx.test ?? ctx.currentTest;
  if (t) t.title += ` [skipped: ${NO_PQ_REASON}]`;
  ctx.skip();
}
