// A latency distribution for the terminal: one row per latency band, bands spaced on a log
// scale (latency spans orders of magnitude; a linear axis would put everything in one row),
// bar length proportional to the number of samples in the band.

import { Histogram } from '../engine/stats/histograms';
import { formatCount, formatMicros } from './units';

export interface PlotOptions {
  title?: string;
  /** Total line width, columns; default 80. */
  width?: number;
  /** Most rows drawn; default 20. */
  maxRows?: number;
  /** '#' bars instead of Unicode blocks, for terminals without them. */
  ascii?: boolean;
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const LABEL_WIDTH = 8;

/** Counts per recorded bucket, by the bucket's representative value (µs). */
function recordedBuckets(h: Histogram): Array<{ value: number; count: number }> {
  const out: Array<{ value: number; count: number }> = [];
  for (let i = 0; i < h.countsArrayLength; i++) {
    const count = h.getCountAtIndex(i);
    if (count > 0) out.push({ value: h.medianEquivalentValue(h.valueFromIndex(i)), count });
  }
  return out;
}

function bar(length: number, ascii: boolean): string {
  if (ascii) return '#'.repeat(Math.round(length));
  const full = Math.floor(length);
  return '█'.repeat(full) + EIGHTHS[Math.round((length - full) * 8) % 8];
}

export function plotLatency(h: Histogram, opts: PlotOptions = {}): string {
  const width = opts.width ?? 80;
  const maxRows = opts.maxRows ?? 20;
  const total = h.totalCount;
  const lines = [`${opts.title ?? 'Latency distribution'} (${formatCount(total)} samples)`];
  if (total === 0) return lines.concat('  (no samples)').join('\n') + '\n';

  const buckets = recordedBuckets(h);
  const lo = Math.max(1, h.lowestEquivalentValue(buckets[0].value));
  const hi = Math.max(lo + 1, h.highestEquivalentValue(buckets[buckets.length - 1].value) + 1);
  // Two rows per doubling reads well; wider ranges are squeezed into maxRows, and a narrow
  // range never gets more rows than it has distinct microseconds.
  const rows = Math.max(1, Math.min(maxRows, Math.ceil(Math.log2(hi / lo) * 2), hi - lo));
  const edge = (i: number) => lo * (hi / lo) ** (i / rows);
  const counts = new Array<number>(rows).fill(0);
  for (const b of buckets) {
    const row = Math.floor((Math.log(Math.max(b.value, lo) / lo) / Math.log(hi / lo)) * rows);
    counts[Math.min(rows - 1, Math.max(0, row))] += b.count;
  }

  const countWidth = Math.max(...counts.map((c) => formatCount(c).length));
  const prefixWidth = LABEL_WIDTH * 2 + 3 + 2; // 'lo – hi │'
  const suffixWidth = 1 + countWidth + 2 + 6; // ' count  100.0%'
  const barWidth = Math.max(1, width - prefixWidth - suffixWidth);
  const peak = Math.max(...counts);
  for (let i = 0; i < rows; i++) {
    const label = `${formatMicros(edge(i)).padStart(LABEL_WIDTH)} – ${formatMicros(edge(i + 1)).padStart(LABEL_WIDTH)} │`;
    const b = bar((counts[i] / peak) * barWidth, opts.ascii ?? false).padEnd(barWidth);
    const pct = `${((counts[i] / total) * 100).toFixed(1)}%`.padStart(6);
    lines.push(`${label}${b} ${formatCount(counts[i]).padStart(countWidth)}  ${pct}`);
  }
  return lines.join('\n') + '\n';
}
