// Rates over time: one bar per measured interval (nominally a second), the run's mean as a
// dashed line, the requested rate (open loop) as another, and every interval that had
// errors shaded and labelled with its count. When intervals carry their own histograms, a
// second chart follows the latency percentiles second by second.

import { formatCount, formatMicros } from '../units';
import { Html, h } from './escape';
import { Timeline, decodeSafely, primaryLatencyKey } from './document';
import { latencyScale, rateScale } from './scales';
import { Frame, LegendItem, c, figure, linearAxis, polyline, shortNumber, svgChart } from './svg';
import { ResultDocument } from '../result';

export interface TimelineOptions {
  title?: string;
  /** The run's mean rate, drawn as a dashed line. */
  mean?: number | null;
  /** --rate, drawn as a dotted line. */
  requested?: number | null;
  /** Shared upper bounds (side-by-side charts use one scale). */
  yMax?: number;
  xMax?: number;
  /** Colour class of the bars. */
  cls?: string;
  caption?: string;
  name?: string;
  /** viewBox size: a chart shown at half width gets a smaller box, so its text is not half size. */
  width?: number;
  height?: number;
}

export function timelineEnd(t: Timeline): number {
  return Math.max(1, ...t.points.map((p) => p.t + p.dt));
}

/** Workers cut intervals a few ms apart: a 5.003 s run gets a 0–5 s axis (the last ms are clipped), not 0–6 s. */
function timeAxisEnd(end: number): number {
  return Math.max(1, end - Math.min(0.05, end * 0.01));
}

export function timelinePeak(t: Timeline, opts: Pick<TimelineOptions, 'mean' | 'requested'> = {}): number {
  return Math.max(0, ...t.points.map((p) => p.rate), opts.mean ?? 0, opts.requested ?? 0);
}

function errorSummary(errors: Record<string, number>): string {
  return Object.entries(errors)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${formatCount(n)}`)
    .join(', ');
}

export function timelineChart(t: Timeline, opts: TimelineOptions = {}): Html {
  const peak = opts.yMax ?? timelinePeak(t, opts);
  const scale = rateScale(peak, t.unit);
  const end = timeAxisEnd(opts.xMax ?? timelineEnd(t));
  const x = linearAxis(end, 'seconds since measurement started', shortNumber, Math.min((opts.width ?? 720) / 72, Math.ceil(end)));
  const y = linearAxis(peak / scale.div, `${t.unit === 'bitsPerSec' ? 'throughput' : 'rate'} (${scale.unit})`, shortNumber, 4);
  const f = new Frame(x, y, opts.width, opts.height, opts.width && opts.width < 500 ? { left: 52 } : {});
  const cls = opts.cls ?? 'c1';
  const fmt = (v: number) => `${shortNumber(v / scale.div)}${scale.unit.startsWith('/') ? '' : ' '}${scale.unit}`;
  let errorCount = 0;
  const shades: Html[] = [];
  // Bars while each gets a few pixels; past that (long runs) one filled step area, without gaps.
  const asArea = (f.right - f.left) / Math.max(1, t.points.length) < 4;
  const steps: Array<[number, number]> = [];
  const bars = t.points.map((p) => {
    const x0 = f.px(p.t);
    const x1 = f.px(p.t + p.dt);
    const y0 = f.py(p.rate / scale.div);
    const nErr = p.errors ? Object.values(p.errors).reduce((a, b) => a + b, 0) : 0;
    errorCount += nErr;
    const when = `${shortNumber(p.t)}–${shortNumber(p.t + p.dt)} s`;
    if (nErr > 0) {
      const mid = (x0 + x1) / 2;
      // A count where there is room for it, a marker where there is not.
      const mark =
        x1 - x0 >= 26
          ? h`<text class="err-label" x="${c(mid)}" y="${c(f.top + 11)}" text-anchor="middle">✕ ${formatCount(nErr)}</text>`
          : h`<path class="err-mark" d="M${c(mid - 4)} ${c(f.top)}h8l-4 7z"/>`;
      shades.push(
        h`<g class="errors" data-errors="${nErr}"><rect class="err-shade" x="${c(x0)}" y="${c(f.top)}" width="${c(Math.max(1.5, x1 - x0))}" height="${c(f.bottom - f.top)}"/>${mark}<title>${when}: ${formatCount(nErr)} errors (${errorSummary(p.errors!)})</title></g>`
      );
    }
    if (asArea) {
      steps.push([x0, y0], [x1, y0]);
      return '';
    }
    return h`<rect class="bar ${cls}" x="${c(x0 + 1)}" y="${c(y0)}" width="${c(Math.max(0.5, x1 - x0 - 2))}" height="${c(f.bottom - y0)}"><title>${when}: ${fmt(p.rate)}</title></rect>`;
  });
  if (asArea && steps.length > 0) {
    const d = `${polyline([[steps[0][0], f.bottom], ...steps, [steps[steps.length - 1][0], f.bottom]])}Z`;
    bars.push(h`<path class="area ${cls}" d="${d}"><title>${t.points.length} intervals</title></path>`);
  }
  const lines: Html[] = [];
  const items: LegendItem[] = [{ cls, label: asArea ? 'each interval (area)' : 'each interval', shape: 'bar' }];
  if (opts.mean !== undefined && opts.mean !== null) {
    lines.push(h`<path class="line ref dashed" d="M${c(f.left)} ${c(f.py(opts.mean / scale.div))}H${c(f.right)}"><title>mean ${fmt(opts.mean)}</title></path>`);
    items.push({ cls: 'ref', label: `mean ${fmt(opts.mean)}`, shape: 'dash' });
  }
  if (opts.requested) {
    lines.push(h`<path class="line target dotted" d="M${c(f.left)} ${c(f.py(opts.requested / scale.div))}H${c(f.right)}"><title>requested ${fmt(opts.requested)}</title></path>`);
    items.push({ cls: 'target', label: `requested ${fmt(opts.requested)}`, shape: 'dash' });
  }
  if (errorCount > 0) items.push({ cls: 'bad', label: `errors (${formatCount(errorCount)})`, shape: 'bar' });
  const caption =
    opts.caption ??
    (t.source === 'intervals'
      ? 'One bar per measured interval; intervals with errors are shaded and marked with their count (hover for the reasons).'
      : 'One bar per measured interval (this document has per-second rates only, not per-second error counts).');
  return figure(opts.title ?? t.title, svgChart(f, opts.name ?? 'timeline', `${t.title} over time`, h`${shades}${bars}${lines}`), { legend: items, caption });
}

/** p50 / p99 / max of the primary latency in each interval that carries its own histogram; undefined when none do. */
export function latencyTimelineChart(doc: ResultDocument, t: Timeline): Html | undefined {
  const key = primaryLatencyKey(doc);
  const rows = t.points
    .map((p) => ({ p, hist: decodeSafely(p.histograms?.[key]) }))
    .filter((r) => r.hist !== null)
    .map(({ p, hist }) => ({ mid: p.t + p.dt / 2, p50: hist!.getValueAtPercentile(50), p99: hist!.getValueAtPercentile(99), max: hist!.maxValue }));
  if (rows.length === 0) return undefined;
  const scale = latencyScale(Math.max(...rows.map((r) => r.max)));
  const end = timeAxisEnd(timelineEnd(t));
  const x = linearAxis(end, 'seconds since measurement started', shortNumber, Math.min(10, Math.ceil(end)));
  const y = linearAxis(Math.max(...rows.map((r) => r.max)) / scale.div, `latency (${scale.unit})`, shortNumber, 4);
  const f = new Frame(x, y);
  const series: Array<['p50' | 'p99' | 'max', string]> = [
    ['p50', 'c1'],
    ['p99', 'c2'],
    ['max', 'c3'],
  ];
  const body = series.map(([k, cls]) => {
    const pts = rows.map((r) => [f.px(r.mid), f.py(r[k] / scale.div)] as [number, number]);
    // Dots while they can be told apart; a long run is a line.
    const dots = rows.length > 120 ? [] : rows.map((r, i) => h`<circle class="mark ${cls}" cx="${c(pts[i][0])}" cy="${c(pts[i][1])}" r="2.5"><title>${shortNumber(r.mid)} s ${k}: ${formatMicros(r[k])}</title></circle>`);
    return h`<g class="series" data-series="${k}"><path class="line ${cls}" d="${polyline(pts)}"/>${dots}</g>`;
  });
  return figure('Latency over time', svgChart(f, 'latency-timeline', 'latency percentiles per interval', body), {
    legend: series.map(([k, cls]) => ({ cls, label: k })),
    caption: 'Each interval’s own histogram: a stall shows here as a spike even when the whole run’s percentiles hide it.',
  });
}
