// A small chart kit: axes with readable ticks (linear or log), a plot frame that maps data to
// the SVG's own coordinates, and path helpers. Charts are drawn here, in Node, as static inline
// SVG: the page needs no script to show them, prints as it looks, and stays readable with
// scripts blocked. Colours come from CSS classes (see style.ts), so one SVG serves light mode,
// dark mode and print.

import { Html, HtmlValue, h, raw } from './escape';

export interface Tick {
  value: number;
  label: string;
}

export interface Axis {
  log: boolean;
  min: number;
  max: number;
  ticks: Tick[];
  title: string;
}

export interface Margin {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

const DEFAULT_MARGIN: Margin = { top: 14, right: 18, bottom: 42, left: 62 };

/** A coordinate with one decimal: enough for a 720-unit viewBox, and short. */
export function c(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

/** Maps data coordinates into the plot area of a width × height viewBox. */
export class Frame {
  readonly margin: Margin;
  constructor(
    readonly x: Axis,
    readonly y: Axis,
    readonly width = 720,
    readonly height = 280,
    margin: Partial<Margin> = {}
  ) {
    this.margin = { ...DEFAULT_MARGIN, ...margin };
  }
  get left(): number {
    return this.margin.left;
  }
  get right(): number {
    return this.width - this.margin.right;
  }
  get top(): number {
    return this.margin.top;
  }
  get bottom(): number {
    return this.height - this.margin.bottom;
  }
  px(v: number): number {
    return this.left + fraction(this.x, v) * (this.right - this.left);
  }
  py(v: number): number {
    return this.bottom - fraction(this.y, v) * (this.bottom - this.top);
  }
}

function fraction(a: Axis, v: number): number {
  let f: number;
  if (a.log) f = (Math.log(Math.max(v, a.min)) - Math.log(a.min)) / (Math.log(a.max) - Math.log(a.min));
  else f = (v - a.min) / (a.max - a.min);
  if (!Number.isFinite(f)) return 0;
  return Math.min(1, Math.max(0, f));
}

/** 1, 2 or 5 times a power of ten, the smallest at least `rough`. */
function niceStep(rough: number): number {
  if (!(rough > 0) || !Number.isFinite(rough)) return 1;
  const p = 10 ** Math.floor(Math.log10(rough));
  for (const m of [1, 2, 5, 10]) if (m * p >= rough) return m * p;
  return 10 * p;
}

/** A linear axis from 0 to a round number at or above `max`, with about `count` ticks. */
export function linearAxis(max: number, title: string, label: (v: number) => string, count = 5, min = 0): Axis {
  const top = max > min ? max : min + 1;
  const step = niceStep((top - min) / count);
  const ticks: Tick[] = [];
  const end = Math.ceil(top / step - 1e-9) * step;
  for (let v = Math.floor(min / step) * step, i = 0; v <= end + step / 2 && i < 50; v += step, i++) {
    const value = Math.round(v / step) * step;
    ticks.push({ value, label: label(value) });
  }
  return { log: false, min: ticks[0].value, max: ticks[ticks.length - 1].value, ticks, title };
}

/** A log axis from the 1-2-5 value at or below `min` to the one at or above `max`, ticked at 1-2-5 values (decades only when it spans more than three). */
export function logAxis(min: number, max: number, title: string, label: (v: number) => string): Axis {
  const lo125 = (v: number) => {
    const p = 10 ** Math.floor(Math.log10(v));
    return [5, 2, 1].map((m) => m * p).find((x) => x <= v * 1.0001) ?? p;
  };
  const hi125 = (v: number) => {
    const p = 10 ** Math.floor(Math.log10(v));
    return [1, 2, 5, 10].map((m) => m * p).find((x) => x >= v * 0.9999) ?? 10 * p;
  };
  const lo = lo125(Math.max(min, 1e-9));
  const hi = Math.max(hi125(Math.max(max, lo)), lo * 2);
  const multiples = Math.log10(hi / lo) <= 3 ? [1, 2, 5] : [1];
  const ticks: Tick[] = [];
  for (let d = 10 ** Math.floor(Math.log10(lo)); d <= hi * 1.0001; d *= 10) {
    for (const m of multiples) {
      const v = Number((d * m).toPrecision(6));
      if (v >= lo * 0.9999 && v <= hi * 1.0001) ticks.push({ value: v, label: label(v) });
    }
  }
  return { log: true, min: lo, max: hi, ticks, title };
}

/** Up to 3 significant digits, no trailing zeros: 0.5, 12, 1.25, 250. */
export function shortNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  const s = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toPrecision(2);
  return s.includes('.') && !s.includes('e') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** M/L path through points already in SVG coordinates. */
export function polyline(points: ReadonlyArray<readonly [number, number]>): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${c(x)} ${c(y)}`).join('');
}

function gridAndAxes(f: Frame): Html {
  const xTicks = f.x.ticks.map((t) => {
    const x = f.px(t.value);
    return h`<line class="grid" x1="${c(x)}" y1="${c(f.top)}" x2="${c(x)}" y2="${c(f.bottom)}"/><text class="tick" x="${c(x)}" y="${c(f.bottom + 15)}" text-anchor="middle">${t.label}</text>`;
  });
  const yTicks = f.y.ticks.map((t) => {
    const y = f.py(t.value);
    return h`<line class="grid" x1="${c(f.left)}" y1="${c(y)}" x2="${c(f.right)}" y2="${c(y)}"/><text class="tick" x="${c(f.left - 6)}" y="${c(y + 4)}" text-anchor="end">${t.label}</text>`;
  });
  const midX = (f.left + f.right) / 2;
  const midY = (f.top + f.bottom) / 2;
  return h`<g class="axes">${xTicks}${yTicks}<path class="axis" d="M${c(f.left)} ${c(f.top)}V${c(f.bottom)}H${c(f.right)}"/><text class="axis-title" x="${c(midX)}" y="${c(f.height - 6)}" text-anchor="middle">${f.x.title}</text><text class="axis-title" transform="translate(14 ${c(midY)}) rotate(-90)" text-anchor="middle">${f.y.title}</text></g>`;
}

/** An SVG chart: grid, axes and titles from the frame, then `body` (drawn with the frame's px/py). */
export function svgChart(f: Frame, name: string, label: string, body: HtmlValue): Html {
  return h`<svg class="chart" data-chart="${name}" viewBox="0 0 ${f.width} ${f.height}" role="img" aria-label="${label}" preserveAspectRatio="xMidYMid meet">${gridAndAxes(f)}<g class="plot">${body}</g></svg>`;
}

export interface LegendItem {
  cls: string;
  label: string;
  /** 'line' (default), 'dash', 'bar' or 'dot': how the swatch looks. */
  shape?: 'line' | 'dash' | 'bar' | 'dot';
}

export function legend(items: readonly LegendItem[]): Html {
  if (items.length === 0) return raw('');
  return h`<ul class="legend">${items.map((i) => h`<li><span class="swatch ${i.shape ?? 'line'} ${i.cls}"></span>${i.label}</li>`)}</ul>`;
}

/** A figure: title, the chart, its legend and a caption that says what is drawn. */
export function figure(title: string, chart: HtmlValue, opts: { legend?: readonly LegendItem[]; caption?: HtmlValue } = {}): Html {
  return h`<figure><figcaption class="title">${title}</figcaption>${opts.legend ? legend(opts.legend) : ''}${chart}${opts.caption ? h`<figcaption class="note">${opts.caption}</figcaption>` : ''}</figure>`;
}
