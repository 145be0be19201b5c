// Pieces both pages use: the page shell, the facts that identify a run, and the latency
// series a document holds.

import { Histogram } from '../../engine/stats/histograms';
import { ResultDocument } from '../result';
import { Html, HtmlValue, h, raw } from './escape';
import { ReportDocument, decodeSafely, display, fields, isRecord, latencyEntry, num, primaryLatencyKey, str } from './document';
import { STYLE } from './style';

/**
 * A whole page. The Content-Security-Policy forbids every script and every fetch: the page
 * needs none, and if a value from a hostile document ever slipped past escaping it could
 * still neither run nor phone home.
 */
export function pageShell(title: string, body: HtmlValue): string {
  const csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";
  return h`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><meta name="generator" content="iocptls"><title>${title}</title><style>${raw(STYLE)}</style></head>
<body>${body}</body></html>
`.text;
}

export const KIND_TITLES: Record<ResultDocument['kind'], string> = {
  handshake: 'handshake benchmark',
  throughput: 'throughput benchmark',
  pingpong: 'ping-pong benchmark',
  connections: 'connection-capacity benchmark',
  http: 'HTTP request benchmark',
};

function param(doc: ResultDocument, name: string): string | undefined {
  const v = isRecord(doc.params) ? doc.params[name] : undefined;
  return v === undefined || v === null ? undefined : display(v);
}

export function targetText(doc: ResultDocument): string {
  const t = fields(doc.target);
  return `${display(t.host)}:${display(t.port)}${t.embedded === true ? ' (embedded server)' : ''}`;
}

/** Label → value pairs identifying a run: what makes two runs comparable. */
export function runFacts(doc: ReportDocument): Array<[string, string]> {
  const o = fields(doc.openssl);
  const m = fields(doc.machine);
  const n = fields(doc.negotiated);
  const version = (str(o.version) ?? 'unknown').replace(/^OpenSSL\s+/, '');
  const source = o.source === 'path' ? `loaded from ${str(o.path) ?? 'a path'}` : 'built into Node.js';
  const workers = param(doc, 'workers');
  const run = [
    workers && `${workers} worker${workers === '1' ? '' : 's'}`,
    param(doc, 'connections') && `${param(doc, 'connections')} connections`,
    num(doc.duration) !== null && `${doc.duration.toFixed(1)} s measured`,
    param(doc, 'warmup') && `${param(doc, 'warmup')} s warmup`,
    param(doc, 'count') && `${param(doc, 'count')} handshakes asked`,
  ].filter(Boolean);
  const resume = param(doc, 'resume');
  const load = [
    doc.kind === 'handshake' ? (param(doc, 'rate') ? `open loop at ${param(doc, 'rate')}/s` : 'closed loop') : undefined,
    doc.kind === 'pingpong' && param(doc, 'rate') ? `open loop at ${param(doc, 'rate')}/s` : undefined,
    resume && resume !== 'none' ? `resume ${resume} (ratio ${param(doc, 'resumeRatio') ?? '?'})` : undefined,
    param(doc, 'close') && `close ${param(doc, 'close')}`,
    param(doc, 'direction') && `direction ${param(doc, 'direction')}`,
    param(doc, 'size') && `${param(doc, 'size')} bytes per ${doc.kind === 'pingpong' ? 'message' : 'write'}`,
    `verify ${isRecord(doc.params) && doc.params.verify === true ? 'on' : 'off'}`,
  ].filter(Boolean);
  const tls = [n.protocol, n.cipher, n.group, n.alpn ? `ALPN ${display(n.alpn)}` : null].filter((v) => typeof v === 'string' && v !== '');
  const tool = isRecord(doc.tool) ? `${display(doc.tool.name)} ${display(doc.tool.version)}` : 'iocptls';
  return [
    ['Target', targetText(doc)],
    ['Backend', display(doc.backend)],
    ['OpenSSL', `${version} (${source})${str(o.builtOn) ? `, built ${str(o.builtOn)}` : ''}`],
    ['Node.js', display(m.node)],
    ['CPU', `${display(m.cpuModel)} × ${display(m.cores)} (${display(m.platform)} ${display(m.arch)})`],
    ['Run', run.join(' · ')],
    ['Load', load.join(' · ')],
    ['TLS', tls.length ? tls.map(display).join(' · ') : 'not negotiated'],
    ['Measured', `${display(doc.start)} → ${display(doc.finish)}`],
    ['Tool', tool],
  ];
}

export function factsList(facts: ReadonlyArray<[string, string]>): Html {
  return h`<dl class="facts">${facts.map(([k, v]) => h`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

export interface NamedHistogram {
  key: string;
  label: string;
  h: Histogram;
}

export const LATENCY_TITLES: Record<string, string> = {
  handshake: 'Handshake',
  handshakeUncorrected: 'Handshake, uncorrected',
  connect: 'TCP connect',
  rtt: 'Round trip',
  rttUncorrected: 'Round trip, uncorrected',
  scheduleLag: 'Schedule lag',
  request: 'Request',
  requestUncorrected: 'Request, uncorrected',
  ttfb: 'Time to first byte',
};

/** The primary latency histogram (corrected, when the run was open loop) and its uncorrected twin, decoded. */
export function primaryHistograms(doc: ReportDocument): { main?: NamedHistogram; uncorrected?: NamedHistogram } {
  const key = primaryLatencyKey(doc);
  const main = decodeSafely(latencyEntry(doc, key));
  const unKey = `${key}Uncorrected`;
  const un = decodeSafely(latencyEntry(doc, unKey));
  const corrected = un !== null;
  return {
    main: main ? { key, label: `${LATENCY_TITLES[key]}${corrected ? ', corrected' : ''}`, h: main } : undefined,
    uncorrected: un ? { key: unKey, label: LATENCY_TITLES[unKey], h: un } : undefined,
  };
}

/** Every entry of `latency` that looks like a latency summary, known names first. */
export function latencyRows(doc: ResultDocument): Array<{ key: string; label: string; s: Record<string, unknown> }> {
  const lat = isRecord(doc.latency) ? (doc.latency as Record<string, unknown>) : {};
  const keys = [...Object.keys(LATENCY_TITLES).filter((k) => k in lat), ...Object.keys(lat).filter((k) => !(k in LATENCY_TITLES))];
  return keys.flatMap((key) => {
    const s = lat[key];
    return isRecord(s) && (num(s.count) ?? 0) > 0 ? [{ key, label: LATENCY_TITLES[key] ?? key, s }] : [];
  });
}

export function card(label: string, value: string, detail?: string, cls?: string): Html {
  return h`<div class="card${cls ? ` ${cls}` : ''}"><div class="k">${label}</div><div class="v">${value}</div>${detail ? h`<div class="d">${detail}</div>` : ''}</div>`;
}
