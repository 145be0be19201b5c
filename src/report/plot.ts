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

export interface LatencyBand {
  /** µs, inclusive */
  lo: number;
  /** µs, exclusive */
  hi: number;
  count: number;
}

/** The value range (µs) that holds every recorded sample, as used for banding. */
export function recordedRange(h: Histogram): { lo: number; hi: number } | undefined {
  const buckets = recordedBuckets(h);
  if (buckets.length === 0) return undefined;
  const lo = Math.max(1, h.lowestEquivalentValue(buckets[0].value));
  const hi = Math.max(lo + 1, h.highestEquivalentValue(buckets[buckets.length - 1].value) + 1);
  return { lo, hi };
}

/**
 * Sample counts in bands spaced on a log scale over `range` (default: the histogram's own).
 * Two bands per doubling read well in a terminal (a page can afford more); wider ranges are squeezed into maxBands, and a narrow
 * range never gets more bands than it has distinct microseconds. Histograms banded over the
 * same range share band edges, so they can be drawn over each other.
 */
export function latencyBands(h: Histogram, maxBands: number, range = recordedRange(h), perDoubling = 2): LatencyBand[] {
  if (!range || h.totalCount === 0) return [];
  const { lo, hi } = range;
  const rows = Math.max(1, Math.min(maxBands, Math.ceil(Math.log2(hi / lo) * perDoubling), hi - lo));
  const edge = (i: number) => lo * (hi / lo) ** (i / rows);
  const counts = new Array<number>(rows).fill(0);
  for (const b of recordedBuckets(h)) {
    const row = Math.floor((Math.log(Math.max(b.value, lo) / lo) / Math.log(hi / lo)) * rows);
    counts[Math.min(rows - 1, Math.max(0, row))] += b.count;
  }
  return counts.map((count, i) => ({ lo: edge(i), hi: edge(i + 1), count }));
}

export function plotLatency(h: Histogram, opts: PlotOptions = {}): string {
  const width = opts.width ?? 80;
  const maxRows = opts.maxRows ?? 20;
  const total = h.totalCount;
  const lines = [`${opts.title ?? 'Latency distribution'} (${formatCount(total)} samples)`];
  if (total === 0) return lines.concat('  (no samples)').join('\n') + '\n';

  const bands = latencyBands(h, maxRows);
  const counts = bands.map((b) => b.count);
  const countWidth = Math.max(...counts.map((c) => formatCount(c).length));
  const prefixWidth = LABEL_WIDTH * 2 + 3 + 2; // 'lo – hi │'
  const suffixWidth = 1 + countWidth + 2 + 6; // ' count  100.0%'
  const barWidth = Math.max(1, width - prefixWidth - suffixWidth);
  const peak = Math.max(...counts);
  for (const band of bands) {
    const label = `${formatMicros(band.lo).padStart(LABEL_WIDTH)} – ${formatMicros(band.hi).padStart(LABEL_WIDTH)} │`;
    const b = bar((band.count / peak) * barWidth, opts.ascii ?? false).padEnd(barWidth);
    const pct = `${((band.count / total) * 100).toFixed(1)}%`.padStart(6);
    lines.push(`${label}${b} ${formatCount(band.count).padStart(countWidth)}  ${pct}`);
  }
  return lines.join('\n') + '\n';
}
