// The latency distribution: the share of samples in log-spaced latency bands (the terminal
// plot's bands, finer). A second histogram (the uncorrected one) is drawn over the first as an
// outline on the same bands.

import { Histogram } from '../../engine/stats/histograms';
import { latencyBands, recordedRange } from '../plot';
import { formatCount, formatMicros } from '../units';
import { Html, h } from './escape';
import { latencyScale } from './scales';
import { Frame, LegendItem, c, figure, linearAxis, logAxis, polyline, shortNumber, svgChart } from './svg';

export interface DistributionSeries {
  label: string;
  cls: string;
  h: Histogram;
}

const MAX_BANDS = 60;
const BANDS_PER_DOUBLING = 4;

export function distributionChart(series: readonly DistributionSeries[], title = 'Latency distribution'): Html {
  const ranges = series.map((s) => recordedRange(s.h)).filter((r): r is { lo: number; hi: number } => r !== undefined);
  const range = { lo: Math.min(...ranges.map((r) => r.lo)), hi: Math.max(...ranges.map((r) => r.hi)) };
  const banded = series.map((s) => ({ ...s, bands: latencyBands(s.h, MAX_BANDS, range, BANDS_PER_DOUBLING) }));
  const peakPct = Math.max(...banded.flatMap((s) => s.bands.map((b) => (b.count / s.h.totalCount) * 100)));
  const scale = latencyScale(range.hi);
  const x = logAxis(range.lo / scale.div, range.hi / scale.div, `latency (${scale.unit}, log scale)`, shortNumber);
  const y = linearAxis(peakPct, 'share of samples (%)', shortNumber, 4);
  const f = new Frame(x, y);
  const body = banded.map((s, i) => {
    const pct = (n: number) => (n / s.h.totalCount) * 100;
    if (i === 0) {
      return h`<g class="series" data-series="${s.label}">${s.bands
        .filter((b) => b.count > 0)
        .map((b) => {
          const x0 = f.px(b.lo / scale.div);
          const x1 = f.px(b.hi / scale.div);
          const y0 = f.py(pct(b.count));
          return h`<rect class="bar ${s.cls}" x="${c(x0 + 0.5)}" y="${c(y0)}" width="${c(Math.max(0.5, x1 - x0 - 1))}" height="${c(f.bottom - y0)}"><title>${formatMicros(b.lo)} – ${formatMicros(b.hi)}: ${formatCount(b.count)} (${pct(b.count).toFixed(1)}%)</title></rect>`;
        })}</g>`;
    }
    // Outline: a step path over the same bands.
    const pts: Array<[number, number]> = [];
    for (const b of s.bands) {
      const yv = f.py(pct(b.count));
      pts.push([f.px(b.lo / scale.div), yv], [f.px(b.hi / scale.div), yv]);
    }
    return h`<g class="series" data-series="${s.label}"><path class="line ${s.cls}" d="${polyline(pts)}"/></g>`;
  });
  const items: LegendItem[] = series.map((s, i) => ({ cls: s.cls, label: `${s.label} (${formatCount(s.h.totalCount)} samples)`, shape: i === 0 ? 'bar' : 'line' }));
  return figure(title, svgChart(f, 'distribution', 'latency distribution', body), {
    legend: items,
    caption: 'Share of samples in each latency band; bands are log-spaced (four per doubling at most), so equal widths are equal ratios.',
  });
}
