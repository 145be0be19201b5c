// Comparison -> text: a terminal table, a GitHub markdown table (for PR comments and
// $GITHUB_STEP_SUMMARY), the verdict line, and one line per regressed or inconclusive metric.

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

/** A confidence interval of a change: '[-3.1%, +2.0%]' (each end a one-sided bound at 1 - alpha). */
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

function verdictText(row: MetricRow): string {
  if (!row.verdict) return '';
  return row.status === 'improved' ? 'improved' : row.verdict;
}

const SOURCE_TEXT: Record<Comparison['method']['samples'], string> = {
  rounds: 'rounds',
  runs: 'runs (a history of baseline runs against the new run)',
  intervals: 'per-second intervals (the documents have no rounds)',
  rates: 'per-second rates (older documents: no histograms)',
};

/** The line under the table: what the samples were and how they were tested. */
export function methodLine(cmp: Comparison): string {
  const m = cmp.method;
  const level = `${+(m.confidence * 100).toFixed(2)}%`;
  const two = `${+((1 - 2 * m.alpha) * 100).toFixed(2)}%`;
  return (
    `Samples: ${m.n.base} vs ${m.n.next} ${SOURCE_TEXT[m.samples]}. Welch t on the log of each sample's figure ` +
    `(pooled-variance t when a side has one sample): Change is the ratio of the samples' geometric means, ` +
    `the ${two} CI's ends are one-sided ${level} bounds, p is one-sided (worse), Holm-adjusted over the ${m.gated} gated metric${m.gated === 1 ? '' : 's'}. ` +
    `Base and New are the pooled whole-run figures. regressed: p < ${m.alpha} and the change beyond ${cmp.thresholdPct}%; ` +
    `no regression: the interval's bad end within ${cmp.thresholdPct}%; otherwise inconclusive.`
  );
}

/** The smallest change for the worse each gated metric's samples detect (80% power): what a "no regression" can vouch for. */
export function detectableLine(cmp: Comparison): string | null {
  const rows = cmp.rows.filter((r) => r.gated && typeof r.significance?.detectablePct === 'number');
  if (rows.length === 0) return null;
  return `Smallest change detectable (80% power): ${rows.map((r) => `${r.label} ${r.significance!.detectablePct!.toFixed(1)}%`).join(', ')}.`;
}

/** The two sides' column headings: compare's files are Base and New, bench ab's sides A and B. */
export type SideHeadings = readonly [base: string, next: string];
const BASE_NEW: SideHeadings = ['Base', 'New'];

export function renderComparisonTable(cmp: Comparison, opts: { color: boolean; headings?: SideHeadings }): string {
  const p = paint(opts.color);
  const level = ciHeading(cmp);
  const [hb, hn] = opts.headings ?? BASE_NEW;
  const t = makeTable(['Metric', hb, hn, 'Change', level, 'p', 'n', ''], p);
  for (const r of cmp.rows) {
    const change = formatChange(r.changePct);
    const shade = r.status === 'regressed' ? p.red : r.status === 'improved' ? p.green : r.status === 'inconclusive' ? p.yellow : r.status === 'info' ? p.dim : (s: string) => s;
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

function ciHeading(cmp: Comparison): string {
  return `${+((1 - 2 * cmp.method.alpha) * 100).toFixed(2)}% CI`;
}

/** One line per regressed metric, e.g. 'Handshakes/s mean: 10,000/s -> 8,000/s (-20.0%, 90% CI [-22.0%, -18.1%], p=0.002, threshold 5%)'. */
export function regressionLines(cmp: Comparison): string[] {
  const level = ciHeading(cmp);
  return cmp.regressions.map((r) => {
    const ci = formatInterval(r);
    return (
      `${r.label}: ${formatMetric(r.base, r.unit)} -> ${formatMetric(r.next, r.unit)} ` +
      `(${formatChange(r.changePct)}${ci ? `, ${level} ${ci}` : ''}, p${pEquals(decidingP(r))}, threshold ${cmp.thresholdPct}%)`
    );
  });
}

/** One line per inconclusive metric: why, and what would settle it. */
export function inconclusiveLines(cmp: Comparison): string[] {
  return cmp.inconclusive.map((r) => `${r.metric}: ${r.why}. To settle: ${r.settle}.`);
}

/** The closing verdict line; `subject` names what was judged ('NEW', 'B against A'). */
export function summaryLine(cmp: Comparison, subject = 'NEW'): string {
  const conf = `${+(cmp.method.confidence * 100).toFixed(2)}%`;
  if (cmp.verdict === 'regressed') return `REGRESSED: ${cmp.regressions.length} gated metric(s) of ${subject} worse beyond ${cmp.thresholdPct}%:`;
  if (cmp.verdict === 'inconclusive') return `INCONCLUSIVE: the samples cannot tell whether ${subject} regressed beyond ${cmp.thresholdPct}%:`;
  return `No regression of ${subject} beyond ${cmp.thresholdPct}% (each gated metric at ${conf} confidence).`;
}

/** The verdict and its lines, as the terminal prints them under the table. */
export function verdictLines(cmp: Comparison, subject?: string): string[] {
  return [summaryLine(cmp, subject), ...regressionLines(cmp).map((l) => `  ${l}`), ...(cmp.verdict === 'regressed' ? [] : inconclusiveLines(cmp).map((l) => `  ${l}`))];
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
  const level = ciHeading(cmp);
  lines.push(`| Metric | ${hb} | ${hn} | Change | ${level} | p | n | |`, '|---|---:|---:|---:|---:|---:|---:|---|');
  for (const r of cmp.rows) {
    const status = r.verdict === 'regressed' ? '❌ regressed' : r.verdict === 'inconclusive' ? '❔ inconclusive' : r.status === 'improved' ? '✅ improved' : verdictText(r);
    const cells = [r.label, formatMetric(r.base, r.unit), formatMetric(r.next, r.unit), formatChange(r.changePct), formatInterval(r), formatP(decidingP(r)), formatN(r), status];
    lines.push(`| ${cells.map(mdCell).join(' | ')} |`);
  }
  lines.push('', mdCell(methodLine(cmp)), '');
  const detect = detectableLine(cmp);
  if (detect) lines.push(mdCell(detect), '');
  for (const n of cmp.notes) lines.push(`> ${mdCell(n)}`, '');
  const subject = o.headings ? `${o.headings[1]} against ${o.headings[0]}` : 'NEW';
  lines.push(`**${mdCell(summaryLine(cmp, subject))}**`);
  const detail = cmp.verdict === 'regressed' ? regressionLines(cmp) : inconclusiveLines(cmp);
  if (detail.length) lines.push('', ...detail.map((l) => `- ${mdCell(l)}`));
  return lines.join('\n') + '\n';
}
