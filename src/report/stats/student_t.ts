// Student's t distribution (CDF and quantile) and the two-sample t statistics compare's verdicts
// rest on: Welch's t when both sides have two samples or more, the pooled-variance t when one
// side has a single sample (a new run judged against a history of baseline runs).
//
// The CDF is the regularized incomplete beta function by Lentz's continued fraction (Numerical
// Recipes betacf); the quantile inverts it by bisection. Accurate to ~1e-10, far finer than any
// figure we print; unit tests check R's pt/qt values.

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), as in most numerical libraries.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T <= t) for Student's t with df degrees of freedom (df may be fractional, as Welch's is). */
export function tCdf(t: number, df: number): number {
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

/** The t such that P(T <= t) = p. */
export function tQuantile(p: number, df: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  if (p === 0.5) return 0;
  if (p < 0.5) return -tQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (tCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function meanVar(x: readonly number[]): { mean: number; ss: number } {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  return { mean, ss: x.reduce((a, v) => a + (v - mean) * (v - mean), 0) };
}

export interface TwoSampleT {
  /** mean(next) - mean(base). */
  diff: number;
  /** Its standard error. */
  se: number;
  df: number;
  method: 'welch' | 'pooled';
  /** Standard deviation of one sample, pooled over both sides (what the noise of one run or round is). */
  sd: number;
}

/**
 * The difference of means of two groups and its standard error: Welch's when both have 2+
 * values, the pooled-variance one when one side has a single value (its variance is then the
 * other side's). null when neither side has two values (no estimate of the noise at all).
 */
export function twoSampleT(base: readonly number[], next: readonly number[]): TwoSampleT | null {
  const nb = base.length;
  const nn = next.length;
  if (nb === 0 || nn === 0 || nb + nn < 3) return null;
  const b = meanVar(base);
  const n = meanVar(next);
  const diff = n.mean - b.mean;
  const sd = Math.sqrt((b.ss + n.ss) / (nb + nn - 2));
  if (nb >= 2 && nn >= 2) {
    const vb = b.ss / (nb - 1) / nb;
    const vn = n.ss / (nn - 1) / nn;
    const se = Math.sqrt(vb + vn);
    const den = (vb * vb) / (nb - 1) + (vn * vn) / (nn - 1);
    const df = den > 0 ? (se ** 4) / den : nb + nn - 2;
    return { diff, se, df, method: 'welch', sd };
  }
  return { diff, se: sd * Math.sqrt(1 / nb + 1 / nn), df: nb + nn - 2, method: 'pooled', sd };
}
