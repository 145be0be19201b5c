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

const STATUS_TEXT: Record<MetricRow['status'], string> = {
  regressed: 'REGRESSED',
  improved: 'improved',
  unchanged: '',
  info: '',
};

export function renderComparisonTable(cmp: Comparison, opts: { color: boolean }): string {
  const p = paint(opts.color);
  const t = makeTable(['Metric', 'Base', 'New', 'Change', ''], p);
  for (const r of cmp.rows) {
    const change = formatChange(r.changePct);
    const shade = r.status === 'regressed' ? p.red : r.status === 'improved' ? p.green : r.status === 'info' ? p.dim : (s: string) => s;
    t.push([r.label, formatMetric(r.base, r.unit), formatMetric(r.next, r.unit), shade(change), shade(STATUS_TEXT[r.status])]);
  }
  return t.toString() + '\n';
}

/** One line per regressed metric, e.g. 'Handshakes/s mean: 10,000/s -> 8,000/s (-20.0%, threshold 5%)'. */
export function regressionLines(cmp: Comparison): string[] {
  return cmp.regressions.map(
    (r) =>
      `${r.label}: ${formatMetric(r.base, r.unit)} -> ${formatMetric(r.next, r.unit)} ` +
      `(${formatChange(r.changePct)}, threshold ${cmp.thresholdPct}%)`
  );
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function renderComparisonMarkdown(cmp: Comparison, names?: { base: string; next: string }): string {
  const lines = [`### iocptls compare: ${cmp.kind} (threshold ${cmp.thresholdPct}%)`, ''];
  if (names) lines.push(`Base: \`${names.base}\` · New: \`${names.next}\``, '');
  lines.push('| Metric | Base | New | Change | |', '|---|---:|---:|---:|---|');
  for (const r of cmp.rows) {
    const status = r.status === 'regressed' ? '❌ regressed' : r.status === 'improved' ? '✅ improved' : '';
    const cells = [r.label, formatMetric(r.base, r.unit), formatMetric(r.next, r.unit), formatChange(r.changePct), status];
    lines.push(`| ${cells.map(mdCell).join(' | ')} |`);
  }
  lines.push('');
  if (cmp.regressions.length === 0) lines.push('No regressions.');
  else lines.push(`**${cmp.regressions.length} regression(s):**`, '', ...regressionLines(cmp).map((l) => `- ${mdCell(l)}`));
  return lines.join('\n') + '\n';
}
