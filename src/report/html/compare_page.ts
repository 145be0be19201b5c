// Two runs as one page, for the CI artifact next to `iocptls compare`: the verdict first, then
// both spectra on one chart, both rates over time side by side on one scale, the table of
// changes with regressions highlighted, and what differs between the runs.

import { Comparison, MetricRow } from '../compare';
import { formatInterval, formatMetric, inconclusiveLines, regressionLines } from '../compareRender';
import { PRIMARY_RATE, ResultDocument } from '../result';
import { formatChange } from '../units';
import { distributionChart } from './distribution';
import { Html, HtmlValue, h } from './escape';
import { ReportDocument, fields, isRecord, num, primaryTimeline } from './document';
import { KIND_TITLES, pageShell, primaryHistograms, runFacts } from './parts';
import { errorsTable } from './run_page';
import { spectrumChart } from './spectrum';
import { timelineChart, timelineEnd, timelinePeak } from './timeline';

export interface CompareNames {
  base: string;
  next: string;
}

const STATUS_TEXT: Record<string, string> = { regressed: 'REGRESSED', improved: 'improved', unchanged: 'no regression', inconclusive: 'inconclusive', info: '' };

function verdict(cmp: Comparison): Html {
  if (cmp.verdict === 'no regression') return h`<div class="banner good" data-banner="verdict" data-verdict="no regression"><strong>No regression</strong> beyond ${cmp.thresholdPct}%.</div>`;
  if (cmp.verdict === 'inconclusive')
    return h`<div class="banner warn" data-banner="verdict" data-verdict="inconclusive"><strong>Inconclusive</strong>: the samples cannot tell whether New regressed beyond ${cmp.thresholdPct}%.<ul>${inconclusiveLines(cmp).map((l) => h`<li>${l}</li>`)}</ul></div>`;
  const n = cmp.regressions.length;
  return h`<div class="banner bad" data-banner="verdict" data-verdict="regressed"><strong>${n} regression${n === 1 ? '' : 's'}</strong> beyond ${cmp.thresholdPct}%:<ul>${regressionLines(cmp).map((l) => h`<li>${l}</li>`)}</ul></div>`;
}

function factsTable(base: ReportDocument, next: ReportDocument, names: CompareNames): Html {
  const b = runFacts(base);
  const n = new Map(runFacts(next));
  // Two embedded servers differ only by their ephemeral port: that is not a difference.
  const same = (k: string, x: string, y: string) => x === y || k === 'Measured' || (k === 'Target' && base.target?.embedded === true && next.target?.embedded === true);
  const rows = b.map(([k, bv]) => {
    const nv = n.get(k) ?? '–';
    const differs = !same(k, bv, nv);
    return h`<tr${differs ? h` class="differs"` : ''}><td>${k}</td><td class="l">${bv}</td><td class="l">${nv}${differs ? h` <span class="bad">≠</span>` : ''}</td></tr>`;
  });
  return h`<table data-table="facts"><thead><tr><th></th><th class="l">Base: ${names.base}</th><th class="l">New: ${names.next}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function changesTable(cmp: Comparison): Html {
  const row = (r: MetricRow) => {
    const status = String(r.status);
    return h`<tr class="${status}" data-metric="${r.id}"><td>${r.label}</td><td>${formatMetric(r.base, r.unit)}</td><td>${formatMetric(r.next, r.unit)}</td><td>${formatChange(r.changePct)}</td><td>${formatInterval(r)}</td><td class="status l">${STATUS_TEXT[status] ?? status}</td></tr>`;
  };
  return h`<table data-table="changes"><thead><tr><th>Metric</th><th>Base</th><th>New</th><th>Change</th><th>${+((1 - 2 * cmp.method.alpha) * 100).toFixed(2)}% CI</th><th></th></tr></thead><tbody>${cmp.rows.map(row)}</tbody></table>`;
}

function latencyCharts(base: ReportDocument, next: ReportDocument): HtmlValue {
  const b = primaryHistograms(base).main;
  const n = primaryHistograms(next).main;
  const series = [
    ...(b ? [{ label: `Base: ${b.label}`, cls: 'c2', h: b.h }] : []),
    ...(n ? [{ label: `New: ${n.label}`, cls: 'c1', h: n.h }] : []),
  ];
  if (series.length === 0) return h`<p class="muted">Neither document has a latency histogram.</p>`;
  // The distribution draws its first series as bars: the new run, with the base as an outline.
  return [
    spectrumChart(series, { caption: 'Both runs’ latency at each percentile, 1/(1−p) on a log axis: where the lines part, and by how much, is the change.' }),
    distributionChart([...series].reverse(), 'Latency distribution'),
  ];
}

function timelines(base: ReportDocument, next: ReportDocument): Html {
  const key = PRIMARY_RATE[base.kind];
  const mean = (d: ReportDocument) => num(fields(isRecord(d.rates) ? d.rates[key] : undefined).mean);
  const tb = primaryTimeline(base);
  const tn = primaryTimeline(next);
  const yMax = Math.max(timelinePeak(tb, { mean: mean(base) }), timelinePeak(tn, { mean: mean(next) }));
  const xMax = Math.max(timelineEnd(tb), timelineEnd(tn));
  return h`<div class="cols">${timelineChart(tb, { title: `Base: ${tb.title}`, mean: mean(base), yMax, xMax, cls: 'c2', name: 'timeline-base', width: 400, height: 250 })}${timelineChart(tn, { title: `New: ${tn.title}`, mean: mean(next), yMax, xMax, cls: 'c1', name: 'timeline-new', width: 400, height: 250 })}</div>`;
}

export function renderCompareHtml(baseDoc: ResultDocument, nextDoc: ResultDocument, cmp: Comparison, names: CompareNames): string {
  const base = baseDoc as ReportDocument;
  const next = nextDoc as ReportDocument;
  const title = `iocptls compare · ${KIND_TITLES[cmp.kind] ?? cmp.kind}`;
  const differences = cmp.differences.length
    ? h`<div class="banner" data-banner="differences">The runs differ in: ${cmp.differences.join('; ')}.</div>`
    : '';
  const eb = errorsTable(base.errors);
  const en = errorsTable(next.errors);
  const body = h`<header><h1>${title}</h1><p class="sub">Base <code>${names.base}</code> → new <code>${names.next}</code> · threshold ${cmp.thresholdPct}%</p></header>
${verdict(cmp)}${differences}
<section id="latency"><h2>Latency</h2>${latencyCharts(base, next)}</section>
<section id="rates"><h2>Over time</h2>${timelines(base, next)}</section>
<section id="changes"><h2>Changes</h2><p class="muted">The headline rate and the headline latency percentiles gate, each regressed, no regression or inconclusive (docs/compare.md); Change and its interval come from the samples (ratio of geometric means), Base and New are the whole-run figures; the other rows are for information.</p>${changesTable(cmp)}</section>
${eb || en ? h`<section id="errors"><h2>Errors by reason</h2><div class="cols"><div><h3>Base</h3>${eb ?? h`<p>None.</p>`}</div><div><h3>New</h3>${en ?? h`<p>None.</p>`}</div></div></section>` : ''}
<section id="facts"><h2>Runs</h2>${factsTable(base, next, names)}</section>
<footer>Generated by iocptls compare. Self-contained: no scripts, nothing fetched; charts computed from the documents’ encoded HDR histograms.</footer>`;
  return pageShell(title, body);
}
