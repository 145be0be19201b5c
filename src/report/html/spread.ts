// Per-connection throughput spread (throughput runs): the slowest, the median and the fastest
// connection as bars on one zero-based axis, so a starved connection shows as a short bar.
// (The document keeps these three numbers, not every connection's.)

import { formatBitRate } from '../units';
import { Html, h } from './escape';
import { rateScale } from './scales';
import { Frame, c, figure, linearAxis, shortNumber, svgChart } from './svg';

export interface Spread {
  min: number;
  median: number;
  max: number;
}

const ROWS = [
  ['min', 'slowest', 'c2'],
  ['median', 'median', 'c1'],
  ['max', 'fastest', 'c3'],
] as const;

/** Values in Gbit/s, as the document's perConnection.gbps. */
export function spreadChart(gbps: Spread, connections: number | null): Html {
  const bits = { min: gbps.min * 1e9, median: gbps.median * 1e9, max: gbps.max * 1e9 };
  const scale = rateScale(bits.max, 'bitsPerSec');
  const x = linearAxis((bits.max / scale.div) * 1.2, `per-connection throughput (${scale.unit})`, shortNumber, 6);
  const y = { log: false, min: 0, max: ROWS.length, ticks: [], title: '' };
  const f = new Frame(x, y, 720, 40 + ROWS.length * 28, { top: 6, bottom: 40, left: 70, right: 18 });
  const body = ROWS.map(([k, label, cls], i) => {
    const y0 = f.py(ROWS.length - i) + 4;
    const y1 = f.py(ROWS.length - i - 1) - 4;
    const x1 = f.px(bits[k] / scale.div);
    return h`<g data-stat="${k}"><text class="tick" x="${c(f.left - 6)}" y="${c((y0 + y1) / 2 + 4)}" text-anchor="end">${label}</text><rect class="bar ${cls}" x="${c(f.left)}" y="${c(y0)}" width="${c(Math.max(1, x1 - f.left))}" height="${c(y1 - y0)}"><title>${label}: ${formatBitRate(bits[k])}</title></rect><text class="value" x="${c(x1 + 6)}" y="${c((y0 + y1) / 2 + 4)}">${formatBitRate(bits[k])}</text></g>`;
  });
  const ratio = bits.min > 0 ? bits.max / bits.min : null;
  return figure('Per-connection throughput', svgChart(f, 'spread', 'per-connection throughput spread', body), {
    caption: `Each connection’s own throughput over the run${connections ? ` (${connections} connections)` : ''}: slowest, median and fastest${ratio ? `; the fastest moved ${ratio.toFixed(2)}× as much as the slowest` : ''}.`,
  });
}
