// One run as a page: what ran (facts), how it went (headline numbers, warnings), and the
// pictures — percentile spectrum, latency distribution, the rate second by second, the
// per-connection spread, errors by reason — then the tables behind them.

import { PRIMARY_RATE, Rates, ResultDocument } from '../result';
import { RATE_LABELS, brief } from '../table';
import { formatBytes, formatCount, formatMicros, formatRate } from '../units';
import { distributionChart } from './distribution';
import { Html, HtmlValue, h } from './escape';
import { ReportDocument, decodeSafely, display, fields, isRecord, latencyEntry, num, primaryTimeline, str } from './document';
import { KIND_TITLES, card, factsList, latencyRows, pageShell, primaryHistograms, runFacts, targetText } from './parts';
import { spectrumChart } from './spectrum';
import { spreadChart } from './spread';
import { latencyTimelineChart, timelineChart } from './timeline';

export interface RunPageOptions {
  /** Where the document came from (a file name), shown in the footer. */
  source?: string;
}

const fmtUs = (v: unknown) => (num(v) === null ? '–' : formatMicros(v as number));
const fmtCount = (v: unknown) => (num(v) === null ? '–' : formatCount(v as number));

function rateFormat(key: keyof Rates): (n: number) => string {
  return RATE_LABELS[key]?.format ?? formatRate;
}

function banners(doc: ReportDocument): Html[] {
  const out: Html[] = [];
  const intr = fields(doc.interrupted);
  if (isRecord(doc.interrupted)) {
    out.push(h`<div class="banner bad" data-banner="interrupted"><strong>Interrupted</strong> by ${display(intr.signal ?? 'a signal')}: this report covers the ${num(doc.duration)?.toFixed(1) ?? '?'} s measured before it.</div>`);
  }
  if (doc.endedEarly === true) {
    out.push(h`<div class="banner" data-banner="ended">Ended early: every connection had closed after ${num(doc.duration)?.toFixed(1) ?? '?'} s.</div>`);
  }
  const er = fields(doc.errorRate);
  if (num(er.ratio) !== null && num(er.max) !== null && (er.ratio as number) > (er.max as number)) {
    out.push(h`<div class="banner bad" data-banner="error-rate"><strong>Failed:</strong> ${((er.ratio as number) * 100).toFixed(2)}% of attempts failed, more than --max-error-rate ${((er.max as number) * 100).toFixed(2)}% (exit 1).</div>`);
  }
  const client = fields(doc.client);
  if (str(client.warning)) {
    out.push(h`<div class="banner" data-banner="client"><strong>${client.saturated === true ? 'The client was the bottleneck' : 'Client warning'}:</strong> ${str(client.warning)}.</div>`);
  } else if (client.saturated === true) {
    out.push(h`<div class="banner" data-banner="client"><strong>The client was the bottleneck:</strong> its loop was busy ${display(client.busyPct)}% of the time; the server may be faster than these numbers say.</div>`);
  }
  const rt = fields(doc.rateTarget);
  if ((num(rt.shortfallPct) ?? 0) > 0) {
    const f = rateFormat(PRIMARY_RATE[doc.kind]);
    out.push(h`<div class="banner" data-banner="rate">Rate target missed: ${f(num(rt.requested) ?? 0)} requested, ${f(num(rt.achieved) ?? 0)} achieved (${(rt.shortfallPct as number).toFixed(1)}% short).</div>`);
  }
  const t = fields(doc.totals);
  const measured = doc.kind === 'handshake' ? num(t.handshakes) : (num(t.bytesIn) ?? 0) + (num(t.bytesOut) ?? 0);
  if (measured === 0) out.push(h`<div class="banner bad" data-banner="nothing">${doc.kind === 'handshake' ? 'No handshake succeeded' : 'No data moved'}: this run measured nothing.</div>`);
  return out;
}

function headline(doc: ReportDocument): Html {
  const cards: Html[] = [];
  const key = PRIMARY_RATE[doc.kind];
  const rate = fields(isRecord(doc.rates) ? doc.rates[key] : undefined);
  const f = rateFormat(key);
  if (num(rate.mean) !== null) cards.push(card(RATE_LABELS[key].label + (key === 'bitsPerSec' ? '' : '/s'), f(rate.mean as number), num(rate.stdev) !== null ? `± ${f(rate.stdev as number)} (stdev per second)` : undefined));
  const { main } = primaryHistograms(doc);
  const lat = fields(latencyEntry(doc, main?.key ?? (doc.kind === 'pingpong' ? 'rtt' : doc.kind === 'http' ? 'request' : 'handshake')));
  if (num(lat.count)) {
    const name = doc.kind === 'pingpong' ? 'Round trip' : doc.kind === 'http' ? 'Request' : 'Handshake';
    cards.push(card(`${name} p50`, fmtUs(lat.p50)), card(`${name} p99`, fmtUs(lat.p99)), card(`${name} p99.9`, fmtUs(lat.p99_9), `max ${fmtUs(lat.max)}`));
  }
  const t = fields(doc.totals);
  if (doc.kind === 'handshake') cards.push(card('Handshakes', fmtCount(t.handshakes), `${fmtCount(t.full)} full, ${fmtCount(t.resumed)} resumed`));
  else if (doc.kind === 'pingpong') cards.push(card('Round trips', fmtCount(t.roundTrips)));
  else if (doc.kind === 'http') cards.push(card('Responses', fmtCount(t.roundTrips), isRecord(t.statuses) ? Object.entries(t.statuses).map(([k, n]) => `${k}: ${fmtCount(n)}`).join(', ') : undefined));
  else cards.push(card('Data moved', formatBytes((num(t.bytesIn) ?? 0) + (num(t.bytesOut) ?? 0)), `in ${formatBytes(num(t.bytesIn) ?? 0)}, out ${formatBytes(num(t.bytesOut) ?? 0)}`));
  const errors = num(t.errors) ?? 0;
  // The document's own error ratio when it has one (long-lived runs count failed connections); else handshakes.
  const ratio = num(fields(doc.errorRate).ratio) ?? (doc.kind === 'handshake' && errors > 0 ? errors / ((num(t.handshakes) ?? 0) + errors) : null);
  cards.push(card('Errors', fmtCount(errors), errors > 0 && ratio !== null ? `${(ratio * 100).toFixed(2)}% of attempts` : undefined, errors > 0 ? 'bad' : undefined));
  return h`<div class="cards">${cards}</div>`;
}

function latencySection(doc: ReportDocument): Html {
  const { main, uncorrected } = primaryHistograms(doc);
  const parts: HtmlValue[] = [];
  if (main) {
    const series = [{ label: main.label, cls: 'c1', h: main.h }];
    if (uncorrected) series.push({ label: uncorrected.label, cls: 'c2', h: uncorrected.h });
    const connect = doc.kind === 'handshake' ? decodeSafely(latencyEntry(doc, 'connect')) : null;
    const spectrum = [...series.map((s) => ({ ...s, dashed: false })), ...(connect ? [{ label: 'TCP connect', cls: 'c3', h: connect, dashed: true }] : [])];
    const title = doc.kind === 'throughput' ? 'Connection setup: handshake latency by percentile' : 'Latency by percentile';
    parts.push(spectrumChart(spectrum, { title }));
    parts.push(distributionChart(series, doc.kind === 'throughput' ? 'Connection setup: handshake latency distribution' : 'Latency distribution'));
    if (uncorrected) {
      parts.push(h`<p class="muted">Open loop: <em>corrected</em> latency counts from when each ${doc.kind === 'pingpong' || doc.kind === 'http' ? 'request' : 'handshake'} was due to start (what a user arriving on schedule waits, as wrk2 reports it); <em>uncorrected</em> counts from when it actually started (wrk2 -U). A gap between them is time spent queued behind a slow server.</p>`);
    }
  } else {
    const why = doc.kind === 'throughput' ? ' (a throughput run’s connections usually handshake during the warmup, which is not measured)' : '';
    parts.push(h`<p class="muted">No latency samples in this document${why}.</p>`);
  }
  const rows = latencyRows(doc);
  if (rows.length > 0) {
    parts.push(
      h`<table data-table="latency"><thead><tr><th>Latency</th><th>Samples</th><th>50%</th><th>90%</th><th>99%</th><th>99.9%</th><th>99.99%</th><th>Max</th><th>Mean</th><th>Stdev</th></tr></thead><tbody>${rows.map(
        (r) => h`<tr><td>${r.label}</td><td>${fmtCount(r.s.count)}</td>${['p50', 'p90', 'p99', 'p99_9', 'p99_99', 'max', 'mean', 'stdev'].map((k) => h`<td>${fmtUs(r.s[k])}</td>`)}</tr>`
      )}</tbody></table>`
    );
  }
  return h`<section id="latency"><h2>Latency</h2>${parts}</section>`;
}

function ratesSection(doc: ReportDocument): Html {
  const t = primaryTimeline(doc);
  const key = PRIMARY_RATE[doc.kind];
  const rate = fields(isRecord(doc.rates) ? doc.rates[key] : undefined);
  const parts: HtmlValue[] = [];
  if (t.points.length > 0) {
    parts.push(timelineChart(t, { mean: num(rate.mean), requested: num(fields(doc.rateTarget).requested) }));
    const lat = latencyTimelineChart(doc, t);
    if (lat) parts.push(lat);
  } else {
    parts.push(h`<p class="muted">No per-second rates in this document.</p>`);
  }
  const keys = (Object.keys(RATE_LABELS) as Array<keyof Rates>).filter((k) => isRecord(doc.rates) && isRecord(doc.rates[k]));
  if (keys.length > 0) {
    parts.push(
      h`<table data-table="rates"><thead><tr><th>Per second</th><th>Mean</th><th>Stdev</th><th>Min</th><th>Max</th><th>Intervals</th></tr></thead><tbody>${keys.map((k) => {
        const s = fields(doc.rates[k]);
        const f = (v: unknown) => (num(v) === null ? '–' : RATE_LABELS[k].format(v as number));
        return h`<tr><td>${RATE_LABELS[k].label}</td><td>${f(s.mean)}</td><td>${f(s.stdev)}</td><td>${f(s.min)}</td><td>${f(s.max)}</td><td>${Array.isArray(s.intervals) ? s.intervals.length : '–'}</td></tr>`;
      })}</tbody></table>`
    );
  }
  return h`<section id="rates"><h2>Over time</h2>${parts}</section>`;
}

function spreadSection(doc: ReportDocument): Html | undefined {
  const g = fields(fields(doc.perConnection).gbps);
  const min = num(g.min);
  const median = num(g.median);
  const max = num(g.max);
  if (min === null || median === null || max === null || max <= 0) return undefined;
  return h`<section id="spread"><h2>Connections</h2>${spreadChart({ min, median, max }, num(fields(doc.params).connections))}</section>`;
}

export function errorsTable(errors: unknown): Html | undefined {
  const entries = Object.entries(fields(errors))
    .map(([k, v]) => [k, num(v) ?? 0] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (entries.length === 0) return undefined;
  const total = entries.reduce((s, [, n]) => s + n, 0);
  const peak = entries[0][1];
  return h`<table data-table="errors"><thead><tr><th>Reason</th><th>Count</th><th>Share</th><th class="barcell"></th></tr></thead><tbody>${entries.map(
    ([reason, n]) => h`<tr><td class="l mono">${reason}</td><td>${formatCount(n)}</td><td>${((n / total) * 100).toFixed(1)}%</td><td class="barcell"><span class="hbar" style="width:${((n / peak) * 100).toFixed(1)}%"></span></td></tr>`
  )}</tbody></table>`;
}

function errorsSection(doc: ReportDocument): Html {
  const table = errorsTable(doc.errors);
  return h`<section id="errors"><h2>Errors by reason</h2>${table ?? h`<p>None.</p>`}</section>`;
}

function kvTable(name: string, rows: ReadonlyArray<[string, HtmlValue]>): Html {
  return h`<table data-table="${name}"><tbody>${rows.map(([k, v]) => h`<tr><td>${k}</td><td class="l">${v}</td></tr>`)}</tbody></table>`;
}


function accountingSection(doc: ReportDocument): Html | undefined {
  const parts: HtmlValue[] = [];
  if (isRecord(doc.accounting)) {
    const a = fields(doc.accounting);
    const started = num(a.started);
    const sum = (num(a.succeeded) ?? 0) + (num(a.failed) ?? 0) + (num(a.cutOff) ?? 0);
    const check =
      started === null
        ? ''
        : started === sum
          ? h`<span class="good">✓ started = succeeded + failed + cut off</span>`
          : h`<span class="bad">✗ started ≠ succeeded + failed + cut off (${formatCount(sum)})</span>`;
    parts.push(
      h`<h3>${a.unit === 'connection' ? 'Connections' : 'Attempts'} over the whole run (warmup and drain included)</h3>`,
      kvTable('accounting', [
        ['Started', fmtCount(a.started)],
        ['Succeeded', fmtCount(a.succeeded)],
        ['Failed', fmtCount(a.failed)],
        ['Cut off at the end', fmtCount(a.cutOff)],
        ['In flight when the window closed', fmtCount(a.inFlightAtEnd)],
        ['Due but never started (open loop)', fmtCount(a.backlogAtEnd)],
      ]),
      h`<p>${check}</p>`
    );
  }
  const rows: Array<[string, HtmlValue]> = [];
  const w = fields(doc.warmup);
  if (isRecord(doc.warmup)) rows.push(['Warmup', `${num(w.duration)?.toFixed(1) ?? '?'} s: ${brief(fields(w.totals), doc.kind)} (not in the figures above)`]);
  rows.push(['Measured window', `${num(doc.duration)?.toFixed(1) ?? '?'} s: ${brief(fields(doc.totals), doc.kind)}`]);
  if (isRecord(doc.afterWindow)) rows.push(['After the window', `${brief(doc.afterWindow as unknown as Record<string, unknown>, doc.kind)} finished in the drain (not in the figures above)`]);
  if (isRecord(doc.server)) {
    const sv = fields(doc.server);
    const ours = (num(fields(doc.totals).handshakes) ?? 0) + (num(fields(w.totals).handshakes) ?? 0) + (num(fields(doc.afterWindow).handshakes) ?? 0);
    const resetCut = ours > (num(sv.handshakes) ?? 0) && fields(doc.params).close === 'rst' ? ' (a reset can arrive before the server read our Finished)' : '';
    const agree = ours === num(sv.handshakes) ? h`<span class="good">agrees with ours</span>` : h`<span class="bad">ours: ${formatCount(ours)}${resetCut}</span>`;
    rows.push(['The embedded server saw', h`${fmtCount(sv.handshakes)} handshakes (${fmtCount(sv.resumed)} resumed), warmup and drain included: ${agree}`]);
  }
  if (rows.length > 1) parts.push(h`<h3>Phases</h3>`, kvTable('phases', rows));
  if (isRecord(doc.client)) {
    const cl = fields(doc.client);
    const cpu = fields(cl.cpuUs);
    const per = str(cl.opUnit) ?? 'operation';
    parts.push(
      h`<h3>What the client cost</h3>`,
      kvTable('client', [
        ['Client workers', fmtCount(cl.workers)],
        ['Loop busy', num(cl.busyPct) === null ? '–' : `${(cl.busyPct as number).toFixed(1)}% of the window`],
        ['CPU', isRecord(cl.cpuUs) ? `user ${fmtUs(cpu.user)}, system ${fmtUs(cpu.system)}` : '–'],
        [`CPU per ${per}`, fmtUs(cl.cpuUsPerOp)],
        ['Queued per completion (mean)', fmtUs(cl.queueDelayMeanUs)],
        ['Start lag p99 (open loop)', fmtUs(cl.lagP99Us)],
        ['Bottleneck', cl.saturated === true ? h`<span class="bad">the client</span>` : 'not the client'],
      ])
    );
  }
  if (parts.length === 0) return undefined;
  return h`<section id="accounting"><h2>Accounting</h2>${parts}</section>`;
}

/** Leaf paths of a shard row (a.b.c) with plain values, skipping encoded histograms and series. */
function leaves(row: Record<string, unknown>, prefix = '', depth = 0): Array<[string, unknown]> {
  return Object.entries(row).flatMap(([k, v]): Array<[string, unknown]> => {
    const path = prefix ? `${prefix}.${k}` : k;
    if (k === 'encoded' || k === 'intervals' || Array.isArray(v)) return [];
    if (isRecord(v)) return depth < 2 ? leaves(v, path, depth + 1) : [];
    return [[path, v]];
  });
}

function shardsSection(doc: ReportDocument): Html | undefined {
  if (!Array.isArray(doc.shards) || doc.shards.length === 0) return undefined;
  const rows = (doc.shards as unknown[]).filter(isRecord).map((r) => new Map(leaves(r)));
  const columns: string[] = [];
  for (const r of rows) for (const k of r.keys()) if (!columns.includes(k) && columns.length < 14) columns.push(k);
  return h`<section id="shards"><h2>Shards (${rows.length})</h2><p class="muted">This document was merged from several shards; one row per shard as recorded.</p><div style="overflow-x:auto"><table data-table="shards"><thead><tr>${columns.map((c) => h`<th class="l">${c}</th>`)}</tr></thead><tbody>${rows.map(
    (r) => h`<tr>${columns.map((c) => h`<td class="l">${display(r.get(c))}</td>`)}</tr>`
  )}</tbody></table></div></section>`;
}

function paramsSection(doc: ReportDocument): Html | undefined {
  const entries = Object.entries(fields(doc.params)).filter(([, v]) => v !== undefined && v !== null);
  if (entries.length === 0) return undefined;
  return h`<section id="params"><h2>Parameters</h2>${kvTable('params', entries.map(([k, v]) => [k, display(v)]))}</section>`;
}

export function renderRunHtml(input: ResultDocument, opts: RunPageOptions = {}): string {
  const doc = input as ReportDocument;
  const kindTitle = KIND_TITLES[doc.kind] ?? 'benchmark';
  const title = `iocptls ${kindTitle} · ${targetText(doc)}`;
  const body = h`<header><h1>${title}</h1><p class="sub">${display(doc.start)} · ${num(doc.duration)?.toFixed(1) ?? '?'} s measured · ${display(doc.backend)} · ${str(fields(doc.openssl).version) ?? 'OpenSSL ?'}</p></header>
${banners(doc)}${headline(doc)}
<section id="facts"><h2>Run</h2>${factsList(runFacts(doc))}</section>
${latencySection(doc)}
${ratesSection(doc)}
${spreadSection(doc)}
${errorsSection(doc)}
${accountingSection(doc)}
${shardsSection(doc)}
${paramsSection(doc)}
<footer>Generated by iocptls${opts.source ? h` from ${opts.source}` : ''}. Self-contained: no scripts, nothing fetched; charts computed from the document’s encoded HDR histograms.</footer>`;
  return pageShell(title, body);
}
