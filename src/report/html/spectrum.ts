// The percentile spectrum, drawn as HdrHistogram's plotter draws it: latency against
// 1/(1−p) on a log axis, so 90%, 99%, 99.9%... get equal room and the tail, where the
// interesting trouble is, is not squashed into the right edge. Computed at build time from
// the encoded histograms in the document.

import { Histogram } from '../../engine/stats/histograms';
import { formatMicros } from '../units';
import { Html, h } from './escape';
import { latencyScale } from './scales';
import { Frame, LegendItem, c, figure, linearAxis, polyline, shortNumber, svgChart } from './svg';

export interface SpectrumSeries {
  /** Legend text, e.g. 'Handshake (corrected)'. */
  label: string;
  /** CSS colour class (c1, c2, ...) */
  cls: string;
  dashed?: boolean;
  h: Histogram;
}

export interface SpectrumPoint {
  /** 1/(1−p) */
  x: number;
  /** percentile, 0..100 */
  p: number;
  /** µs */
  value: number;
}

const STEPS_PER_DECADE = 24;
const MARKED = [50, 90, 99, 99.9, 99.99];

/** The x range: whole decades up to the first at least as large as the sample count (beyond it every percentile is the max). */
export function spectrumXMax(counts: readonly number[]): number {
  const n = Math.max(10, ...counts);
  return Math.min(1e7, 10 ** Math.ceil(Math.log10(n)));
}

export function spectrumPoints(hist: Histogram, xMax: number): SpectrumPoint[] {
  const steps = Math.round(Math.log10(xMax) * STEPS_PER_DECADE);
  const out: SpectrumPoint[] = [];
  for (let i = 0; i <= steps; i++) {
    const x = 10 ** (i / STEPS_PER_DECADE);
    const p = (1 - 1 / x) * 100;
    out.push({ x, p, value: hist.getValueAtPercentile(p) });
  }
  return out;
}

function percentileLabel(x: number): string {
  const p = (1 - 1 / x) * 100;
  return `${Number(p.toFixed(5))}%`;
}

export function spectrumChart(series: readonly SpectrumSeries[], opts: { title?: string; caption?: string } = {}): Html {
  const xMax = spectrumXMax(series.map((s) => s.h.totalCount));
  const maxUs = Math.max(...series.map((s) => s.h.maxValue));
  const scale = latencyScale(maxUs);
  const ticks = [1, 2, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7].filter((v) => v <= xMax).map((v) => ({ value: v, label: percentileLabel(v) }));
  const x = { log: true, min: 1, max: xMax, ticks, title: 'percentile' };
  const y = linearAxis(maxUs / scale.div, `latency (${scale.unit})`, shortNumber);
  // Frame works in the axis' own units: latency divided by the scale.
  const f = new Frame(x, y);
  const body = series.map((s) => {
    const pts = spectrumPoints(s.h, xMax);
    const path = polyline(pts.map((p) => [f.px(p.x), f.py(p.value / scale.div)]));
    const marks = MARKED.filter((p) => 1 / (1 - p / 100) <= xMax * 1.0001).map((p) => {
      const v = s.h.getValueAtPercentile(p);
      const cx = f.px(1 / (1 - p / 100));
      const cy = f.py(v / scale.div);
      return h`<circle class="mark ${s.cls}" cx="${c(cx)}" cy="${c(cy)}" r="3" data-percentile="${p}" data-value-us="${v}"><title>${s.label} p${p}: ${formatMicros(v)}</title></circle>`;
    });
    return h`<g class="series" data-series="${s.label}" data-count="${s.h.totalCount}"><path class="line ${s.cls}${s.dashed ? ' dashed' : ''}" d="${path}"/>${marks}</g>`;
  });
  const legendItems: LegendItem[] = series.map((s) => ({ cls: s.cls, label: `${s.label} (${s.h.totalCount.toLocaleString('en-US')} samples, max ${formatMicros(s.h.maxValue)})`, shape: s.dashed ? 'dash' : 'line' }));
  return figure(opts.title ?? 'Latency by percentile', svgChart(f, 'spectrum', 'latency percentile spectrum', body), {
    legend: legendItems,
    caption:
      opts.caption ??
      'Latency at each percentile; the horizontal axis is 1/(1−p) on a log scale (as HdrHistogram’s plotter draws it), so each step right is ten times rarer. Dots mark p50, p90, p99, p99.9 and p99.99.',
  });
}
