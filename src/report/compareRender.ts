// Comparison -> text: a terminal table, a GitHub markdown table (for PR comments and
// $GITHUB_STEP_SUMMARY), and one line per regression.

import { paint } from './ansi';
import { makeTable } from './cliTable';
import { Comparison, MetricRow, MetricUnit } from './compare';
import { formatBitRate, formatBytes, formatChange, formatCount, formatMicros, formatRate } from './units';

export function formatMetric(value: number | null, unit: MetricUnit): string {
  if (value === null) return '–';
  switch (unit) {
    case 'perSec':
      return formatRate(value);
    case 'bitsPerSec':
      return formatBitRate(value);
    case 'gbps':
      return formatBitRate(value * 1e9);
    case 'us':
      return formatMicros(value);
    case 'bytes':
      return formatBytes(value);
    case 'seconds':
      return `${value.toFixed(2)} s`;
    case 'pct':
      return `${value.toFixed(1)}%`;
    case 'count':
      return formatCount(value);
  }
}

/** A confidence interval of a change: '[-3.1%, +2.0%]'. */
export function formatInterval(row: MetricRow): string {
  const ci = row.significance?.ci;
  return ci ? `[${formatChange(ci.low)}, ${formatChange(ci.high)}]` : '';
}

/** The p-value that decides the row: Holm-adjusted on gated rows, as tested on the others. */
export function decidingP(row: MetricRow): number | null {
  const s = row.significance;
  if (!s) return null;
  return row.gated ? s.pAdjusted : s.p;
}

export function formatP(p: number | null): string {
  if (p === null) return '';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

/** 'p=0.012' or 'p<0.001', as benchstat writes it. */
function pEquals(p: number | null): string {
  const f = formatP(p);
  return f.startsWith('<') ? f : `=${f}`;
}

function formatN(row: MetricRow): string {
  const s = row.significance;
  return s && s.p !== null ? `${s.n.base}+${s.n.next}` : '';
}

const VERDICT_TEXT: Record<Exclude<MetricRow['verdict'], null>, string> = { regressed: 'regressed', improved: 'improved', '~': '~' };

function verdictText(row: MetricRow): string {
  return row.verdict ? VERDICT_TEXT[row.verdict] : '';
}

/** The line under the table: what the samples were and how they were tested. */
export function methodLine(cmp: Comparison): string {
  const m = cmp.method;
  const what = m.samples === 'rounds' ? 'rounds' : m.samples === 'intervals' ? 'per-second intervals (the documents have no rounds)' : 'per-second rates (older documents: no histograms)';
  const level = `${+(m.confidence * 100).toFixed(2)}%`;
  return (
    `Samples: ${m.n.base} vs ${m.n.next} ${what}. Mann-Whitney U (two-sided) on each sample's figure; ` +
    `p Holm-adjusted over the ${m.gated} gated metric${m.gated === 1 ? '' : 's'}, significant below ${m.alpha}; ` +
    `${level} CI: percentile bootstrap (${m.resamples} resamples, seed ${m.seed}). ` +
    `'~': no significant change beyond ${cmp.thresholdPct}%.`
  );
}

/** The two sides' column headings: compare's files are Base and New, bench ab's sides A and B. */
export type SideHeadings = readonly [base: string, next: string];
const BASE_NEW: SideHeadings = ['Base', 'New'];

export function renderComparisonTable(cmp: Comparison, opts: { color: boolean; headings?: SideHeadings }): string {
  const p = paint(opts.color);
  const level = `${+(cmp.method.confidence * 100).toFixed(2)}% CI`;
  const [hb, hn] = opts.headings ?? BASE_NEW;
  const t = makeTable(['Metric', hb, hn, 'Change', level, 'p', 'n', ''], p);
  for (const r of cmp.rows) {
    const change = formatChange(r.changePct);
    const shade = r.status === 'regressed' ? p.red : r.status === 'improved' ? p.green : r.status === 'info' ? p.dim : (s: string) => s;
    t.push([
      r.label,
      formatMetric(r.base, r.unit),
      formatMetric(r.next, r.unit),
      shade(change),
      shade(formatInterval(r)),
      shade(formatP(decidingP(r))),
      shade(formatN(r)),
      shade(verdictText(r)),
    ]);
  }
  return t.toString() + '\n';
}

/** One line per regressed metric, e.g. 'Handshakes/s mean: 10,000/s -> 8,000/s (-20.0%, 95% CI [-22.0%, -18.1%], p=0.002, threshold 5%)'. */
export function regressionLines(cmp: Comparison): string[] {
  const level = `${+(cmp.method.confidence * 100).toFixed(2)}% CI`;
  return cmp.regressions.map((r) => {
    const ci = formatInterval(r);
    return (
      `${r.label}: ${formatMetric(r.base, r.unit)} -> ${formatMetric(r.next, r.unit)} ` +
      `(${formatChange(r.changePct)}${ci ? `, ${level} ${ci}` : ''}, p${pEquals(decidingP(r))}, threshold ${cmp.thresholdPct}%)`
    );
  });
}

/** The closing verdict line of the terminal output. */
export function summaryLine(cmp: Comparison): string {
  if (cmp.regressions.length === 0) return `No significant regression beyond ${cmp.thresholdPct}%.`;
  return `${cmp.regressions.length} significant regression(s) beyond ${cmp.thresholdPct}%:`;
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function renderComparisonMarkdown(
  cmp: Comparison,
  names?: { base: string; next: string },
  o: { title?: string; headings?: SideHeadings } = {}
): string {
  const [hb, hn] = o.headings ?? BASE_NEW;
  const lines = [`### ${o.title ?? 'iocptls compare'}: ${cmp.kind} (threshold ${cmp.thresholdPct}%, alpha ${cmp.method.alpha})`, ''];
  if (names) lines.push(`${hb}: \`${mdCell(names.base)}\` · ${hn}: \`${mdCell(names.next)}\``, '');
  const level = `${+(cmp.method.confidence * 100).toFixed(2)}% CI`;
  lines.push(`| Metric | ${hb} | ${hn} | Change | ${level} | p | n | |`, '|---|---:|---:|---:|---:|---:|---:|---|');
  for (const r of cmp.rows) {
    const status = r.verdict === 'regressed' ? '❌ regressed' : r.verdict === 'improved' ? '✅ improved' : verdictText(r);
    const cells = [r.label, formatMetric(r.base, r.unit), formatMetric(r.next, r.unit), formatChange(r.changePct), formatInterval(r), formatP(decidingP(r)), formatN(r), status];
    lines.push(`| ${cells.map(mdCell).join(' | ')} |`);
  }
  lines.push('', mdCell(methodLine(cmp)), '');
  for (const n of cmp.notes) lines.push(`> ${mdCell(n)}`, '');
  if (cmp.regressions.length === 0) lines.push(`No significant regression beyond ${cmp.thresholdPct}%.`);
  else lines.push(`**${cmp.regressions.length} significant regression(s):**`, '', ...regressionLines(cmp).map((l) => `- ${mdCell(l)}`));
  return lines.join('\n') + '\n';
}
