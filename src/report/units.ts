// Number formatting for humans: every value carries its unit, and precision follows the
// magnitude (3 significant digits), so columns mixing µs and ms stay unambiguous.

function sig3(n: number): string {
  if (n === 0) return '0';
  const a = Math.abs(n);
  const decimals = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return n.toFixed(decimals);
}

/** A latency given in µs: '850 µs', '1.23 ms', '2.50 s'. */
export function formatMicros(us: number): string {
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${sig3(us / 1000)} ms`;
  return `${sig3(us / 1_000_000)} s`;
}

/** Scales by powers of 1000 with SI prefixes: 9.41 G, 512 k. */
function si(n: number, unit: string): string {
  const prefixes = ['', 'k', 'M', 'G', 'T', 'P'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1000 && i < prefixes.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 && Number.isInteger(v) ? String(v) : sig3(v)} ${prefixes[i]}${unit}`;
}

/** Decimal units, to match bit rates: '1.23 GB'. */
export function formatBytes(n: number): string {
  return si(n, 'B');
}

export function formatBitRate(bitsPerSec: number): string {
  return si(bitsPerSec, 'bit/s');
}

/** An event rate: '12,345/s' for large values, '12.3/s' for small ones. */
export function formatRate(perSec: number): string {
  return `${perSec >= 100 ? formatCount(Math.round(perSec)) : sig3(perSec)}/s`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A signed percentage change: '+20.0%', '-3.1%'. */
export function formatChange(pct: number | null): string {
  if (pct === null) return 'n/a';
  if (pct === 0) return '0.0%';
  return `${pct > 0 ? '+' : ''}${pct.toFixed(1)}%`;
}
