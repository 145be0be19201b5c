// result document -> the human summary (autocannon's printResult.js): a facts block, then a
// latency table, a rate table, totals, and an error table only when there were errors.
// Rows are built from named keys, so a document without a section simply has no rows.

import { Paint, paint } from './ansi';
import { makeTable } from './cliTable';
import { LATENCY_NAMES, LatencyStats, PRIMARY_RATE, Rates, ResultDocument, Totals } from './result';
import { formatBitRate, formatBytes, formatCount, formatMicros, formatRate } from './units';

export interface RenderOptions {
  color: boolean;
}

export const LATENCY_LABELS: Record<(typeof LATENCY_NAMES)[number], string> = {
  handshake: 'Handshake',
  handshakeUncorrected: 'Handshake (uncorr.)',
  connect: 'TCP connect',
  rtt: 'Round trip',
  rttUncorrected: 'Round trip (uncorr.)',
  scheduleLag: 'Start lag',
  request: 'Request',
  requestUncorrected: 'Request (uncorr.)',
  ttfb: 'First byte',
};

export const RATE_LABELS: Record<keyof Rates, { label: string; format: (n: number) => string }> = {
  handshakesPerSec: { label: 'Handshakes', format: formatRate },
  connectsPerSec: { label: 'Connects', format: formatRate },
  roundTripsPerSec: { label: 'Round trips', format: formatRate },
  requestsPerSec: { label: 'Requests', format: formatRate },
  bitsPerSec: { label: 'Throughput', format: formatBitRate },
  bitsInPerSec: { label: 'Throughput in', format: formatBitRate },
  bitsOutPerSec: { label: 'Throughput out', format: formatBitRate },
};

const KIND_TITLES: Record<ResultDocument['kind'], string> = {
  handshake: 'handshake benchmark',
  throughput: 'throughput benchmark',
  pingpong: 'ping-pong benchmark',
  connections: 'connection-capacity benchmark',
  http: 'HTTP request benchmark',
};

function param(r: ResultDocument, name: string): string | undefined {
  const v = r.params[name];
  return v === undefined || v === null ? undefined : String(v);
}

function renderFacts(r: ResultDocument, p: Paint): string {
  const target = `${r.target.host}:${r.target.port}${r.target.embedded ? ' (embedded server)' : ''}`;
  // OpenSSL_version() already starts with 'OpenSSL '; the label says it once.
  const version = r.openssl.version.replace(/^OpenSSL\s+/, '');
  const openssl = `${version} (${r.openssl.source === 'path' ? (r.openssl.path ?? 'path') : 'node'})`;
  const run = [
    `backend ${r.backend}`,
    param(r, 'workers') && `${param(r, 'workers')} worker${param(r, 'workers') === '1' ? '' : 's'}`,
    param(r, 'connections') && `${param(r, 'connections')} connections`,
    `${r.duration.toFixed(1)} s`,
  ].filter(Boolean);
  const n = r.negotiated;
  const tls = [n.protocol, n.cipher, n.group, n.alpn && `ALPN ${n.alpn}`].filter(Boolean);
  const m = r.machine;
  // How the load was shaped: what makes two runs comparable beyond the TLS parameters.
  const load = [
    r.kind === 'handshake' || r.kind === 'http' ? (param(r, 'rate') ? `open loop at ${param(r, 'rate')}/s` : 'closed loop') : undefined,
    r.kind === 'http' ? `--http ${param(r, 'http')} · ${param(r, 'method')} ${param(r, 'paths')}` : undefined,
    r.kind === 'http' && param(r, 'pipeline') !== '1' ? `pipeline ${param(r, 'pipeline')}` : undefined,
    r.kind === 'http' ? `${param(r, 'streams')} stream${param(r, 'streams') === '1' ? '' : 's'} per h2 connection` : undefined,
    r.kind === 'http' && param(r, 'requestsPerConnection') ? `new connection every ${param(r, 'requestsPerConnection')} requests` : undefined,
    r.kind === 'connections' ? (param(r, 'ramp') && param(r, 'ramp') !== '0' ? `ramp ${param(r, 'ramp')}/s` : 'all at once') : undefined,
    r.kind === 'connections' ? (param(r, 'messageSize') && param(r, 'messageSize') !== '0' ? `${param(r, 'messageSize')} bytes every ${param(r, 'interval')} ms` : 'silent') : undefined,
    param(r, 'resume') && param(r, 'resume') !== 'none' ? `resume ${param(r, 'resume')} (ratio ${param(r, 'resumeRatio')})` : undefined,
    param(r, 'close') && `close ${param(r, 'close')}`,
    param(r, 'direction') && `direction ${param(r, 'direction')}`,
    `verify ${r.params.verify ? 'on' : 'off'}`,
  ].filter(Boolean);
  const c = r.client;
  const client = c && [
    `${c.workers} worker${c.workers === 1 ? '' : 's'}`,
    `loop busy ${c.busyPct.toFixed(0)}%`,
    c.cpuUsPerOp !== undefined && `${formatMicros(c.cpuUsPerOp)} CPU per ${c.opUnit}`,
    c.queueDelayMeanUs > 0 && `queued ${formatMicros(c.queueDelayMeanUs)} per completion`,
  ].filter(Boolean);
  const lines = [
    `${p.bold(`${r.tool.name} ${r.tool.version}`)} · ${KIND_TITLES[r.kind]} · ${target}`,
    `${p.dim('OpenSSL')} ${openssl}${r.openssl.builtOn ? `, ${r.openssl.builtOn}` : ''}`,
    `${p.dim('Run    ')} ${run.join(' · ')}`,
    `${p.dim('Load   ')} ${load.join(' · ')}`,
    `${p.dim('TLS    ')} ${tls.length ? tls.join(' · ') : 'not negotiated'}`,
    `${p.dim('CPU    ')} ${m.cpuModel} × ${m.cores} (${m.platform} ${m.arch}, node ${m.node})`,
  ];
  if (client) lines.push(`${p.dim('Client ')} ${client.join(' · ')}`);
  lines.push(...distributedLines(r, p));
  if (r.interrupted) lines.push(p.yellow(`Interrupted by ${r.interrupted.signal} after ${r.duration.toFixed(1)} s of measurement: the figures cover that much`));
  if (r.endedEarly) lines.push(p.yellow(`Ended early: every connection had closed after ${r.duration.toFixed(1)} s`));
  if (r.connectionLimit) {
    const l = r.connectionLimit;
    lines.push(p.yellow(`Fewer connections than asked: ${l.held} of ${l.wanted} (socket(): ${l.reason.toUpperCase()}, out of descriptors — raise ulimit -n); the load was that much smaller`));
  }
  if (c?.warning) lines.push(p.yellow(`Warning: ${c.warning}`));
  return lines.join('\n');
}

/** --shard, --start-at and merged documents: which part of a run this is, and when it began. */
function distributedLines(r: ResultDocument, p: Paint): string[] {
  const lines: string[] = [];
  if (r.shard) {
    const w = r.shard.whole;
    const whole = [`${formatCount(w.connections)} connections`, w.rate && `${formatCount(w.rate)}/s`, w.count && `${formatCount(w.count)} handshakes`].filter(Boolean);
    lines.push(`${p.dim('Shard  ')} ${r.shard.index}/${r.shard.count} on ${r.shard.host} · the whole run: ${whole.join(', ')}`);
  }
  if (r.merged) {
    const m = r.merged;
    const of = m.of !== undefined ? `${m.inputs} of ${m.of} shards` : `${m.inputs} runs`;
    const missing = m.missing?.length ? p.yellow(` · missing ${m.missing.join(', ')}`) : '';
    lines.push(`${p.dim('Merged ')} ${of}${missing} · windows opened up to ${m.startSkewMs.toFixed(1)} ms apart`);
  }
  if (r.startAt) {
    const s = r.startAt;
    const late = s.lateMs !== undefined ? `${s.lateMs.toFixed(1)} ms late${r.merged ? ' at worst' : ''}` : 'stopped before it came';
    lines.push(`${p.dim('Start  ')} at ${s.intended} (--start-at), ${late}`);
  }
  return lines;
}

function renderLatency(r: ResultDocument, p: Paint): string | undefined {
  const rows = LATENCY_NAMES
    .map((k) => [k, r.latency[k]] as const)
    .filter((e): e is readonly [keyof typeof LATENCY_LABELS, LatencyStats] => e[1] !== undefined && e[1].count > 0);
  if (rows.length === 0) return undefined;
  const t = makeTable(['Latency', '50%', '90%', '99%', '99.9%', 'Max', 'Mean', 'Stdev'], p);
  for (const [k, s] of rows) {
    t.push([p.bold(LATENCY_LABELS[k]), ...[s.p50, s.p90, s.p99, s.p99_9, s.max, s.mean, s.stdev].map(formatMicros)]);
  }
  return t.toString();
}

function renderRates(r: ResultDocument, p: Paint): string | undefined {
  const keys = (Object.keys(RATE_LABELS) as Array<keyof Rates>).filter((k) => r.rates[k] !== undefined);
  if (keys.length === 0) return undefined;
  const t = makeTable(['Per second', 'Mean', 'Stdev', 'Min', 'Max'], p);
  for (const k of keys) {
    const s = r.rates[k]!;
    const { label, format } = RATE_LABELS[k];
    t.push([p.bold(label), format(s.mean), format(s.stdev), format(s.min), format(s.max)]);
  }
  return t.toString();
}

/** The kind's headline latency: what a reader of a round looks at. */
const PRIMARY_LATENCY: Record<ResultDocument['kind'], (typeof LATENCY_NAMES)[number]> = { handshake: 'handshake', pingpong: 'rtt', throughput: 'handshake', connections: 'handshake', http: 'request' };

/**
 * --rounds: one line per round (its headline rate and latency), then how far the rounds spread:
 * the coefficient of variation of the headline rate is the noise `compare` has to see through
 * (docs/compare.md turns it into a number of rounds).
 */
function renderRounds(r: ResultDocument, p: Paint): string | undefined {
  if (!r.rounds || r.rounds.length === 0) return undefined;
  const key = PRIMARY_RATE[r.kind];
  const { label, format } = RATE_LABELS[key];
  const lat = r.kind === 'throughput' ? undefined : PRIMARY_LATENCY[r.kind];
  const head = ['Round', 'Start', 'Seconds', `${label}${key.startsWith('bits') ? '' : '/s'}`];
  if (lat) head.push(`${LATENCY_LABELS[lat]} p50`, 'p99');
  head.push('Errors');
  const t = makeTable(head, p);
  const t0 = new Date(r.rounds[0].start).getTime();
  for (const round of r.rounds) {
    const l = lat ? round.latency[lat] : undefined;
    const row = [
      p.bold(`${round.index + 1}${round.interrupted ? ' (interrupted)' : ''}`),
      `+${((new Date(round.start).getTime() - t0) / 1000).toFixed(1)} s`,
      round.duration.toFixed(2),
      format(round.rates[key]?.mean ?? 0),
    ];
    if (lat) row.push(l ? formatMicros(l.p50) : '–', l ? formatMicros(l.p99) : '–');
    row.push(round.totals.errors > 0 ? p.red(formatCount(round.totals.errors)) : '0');
    t.push(row);
  }
  const rates = r.rounds.filter((x) => !x.interrupted).map((x) => x.rates[key]?.mean ?? 0);
  let spread = '';
  if (rates.length >= 2) {
    const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
    const sd = Math.sqrt(rates.reduce((a, b) => a + (b - mean) ** 2, 0) / (rates.length - 1));
    const cv = mean > 0 ? (sd / mean) * 100 : 0;
    spread = `\nRound to round: ${label.toLowerCase()} ${format(Math.min(...rates))} .. ${format(Math.max(...rates))}, coefficient of variation ${cv.toFixed(1)}% over ${rates.length} rounds`;
  }
  return t.toString() + spread;
}

function renderTotals(r: ResultDocument, p: Paint): string {
  const tot = r.totals;
  const t = makeTable(['Totals', ''], p, ['left', 'left']);
  t.push([p.bold('Handshakes'), `${formatCount(tot.handshakes)} (full ${formatCount(tot.full)}, resumed ${formatCount(tot.resumed)})`]);
  t.push([p.bold('Connects'), formatCount(tot.connects)]);
  const hb = r.handshakeBytes;
  if (hb) {
    const kinds = (['full', 'resumed'] as const).filter((k) => hb[k]);
    const f = (x: number) => formatCount(Math.round(x));
    // Means per handshake, from the client's side (TLS records until its handshake completed).
    t.push([p.bold('Handshake bytes'), kinds.map((k) => `${k}: ${f(hb[k]!.sent)} sent, ${f(hb[k]!.received)} received (mean)`).join('\n')]);
  }
  const groups = Object.entries(r.groups ?? {});
  if (groups.length > 1) t.push([p.bold('Groups'), groups.sort((a, b) => b[1] - a[1]).map(([g, n]) => `${g} ${formatCount(n)}`).join(', ')]);
  if (r.kind === 'http') t.push(...httpRows(r, p));
  else if (tot.roundTrips > 0 || r.kind === 'pingpong') t.push([p.bold('Round trips'), formatCount(tot.roundTrips)]);
  if (tot.bytesIn > 0 || tot.bytesOut > 0 || r.kind !== 'handshake') {
    t.push([p.bold('Bytes in'), formatBytes(tot.bytesIn)]);
    t.push([p.bold('Bytes out'), formatBytes(tot.bytesOut)]);
  }
  t.push([p.bold('Errors'), tot.errors > 0 ? p.red(formatCount(tot.errors)) : '0']);
  if (r.connections) {
    const k = r.connections;
    const ramp = k.rampMs !== undefined ? `, ramp ${(k.rampMs / 1000).toFixed(2)} s` : ', ramp unfinished';
    t.push([p.bold('Reached'), `${formatCount(k.reached)} of ${formatCount(k.wanted)} connections held at once${ramp}, ${formatCount(k.heldAtEnd)} open at the end`]);
    const m = k.memory;
    t.push([
      p.bold('Memory'),
      `${formatBytes(m.perConnectionBytes)} per connection (RSS ${formatBytes(m.baselineRssBytes)} -> ${formatBytes(m.peakRssBytes)}, ${m.scope})`,
    ]);
    // Where it went, when the window closed: our own buffers, and the C heap (OpenSSL's objects).
    const parts = [
      m.nativeAtEndBytes !== undefined && `client loops' native buffers ${formatBytes(m.nativeAtEndBytes)}`,
      m.cHeapAtEndBytes !== undefined && `C heap in use ${formatBytes(m.cHeapAtEndBytes)} (${m.scope === 'client' ? 'the process' : 'the process, embedded server included'})`,
    ].filter(Boolean);
    if (parts.length) t.push([p.bold('At the end'), parts.join(', ')]);
  }
  if (r.sends && r.kind === 'throughput') {
    t.push([p.bold('Sends'), `${formatCount(r.sends.count)} of ${formatBytes(r.sends.meanBytes)} on average${r.sends.vectored ? `, ${formatCount(r.sends.vectored)} vectored` : ''}`]);
  }
  if (r.perConnection) {
    const g = r.perConnection.gbps;
    const f = (x: number) => formatBitRate(x * 1e9);
    t.push([p.bold('Per connection'), `min ${f(g.min)}, median ${f(g.median)}, max ${f(g.max)}`]);
  }
  const a = r.accounting;
  if (a) {
    const unit = a.unit === 'handshake' ? 'Attempts' : a.unit === 'request' ? 'Requests' : 'Connections';
    const parts = [`${formatCount(a.succeeded)} ok`, `${formatCount(a.failed)} failed`, `${formatCount(a.cutOff)} cut off`];
    const notes = [
      a.inFlightAtEnd > 0 && `${formatCount(a.inFlightAtEnd)} in flight at the end`,
      a.cutOff > 0 && a.cutOffWaiting && cutOffNote(a),
      a.backlogAtEnd > 0 && p.yellow(`${formatCount(a.backlogAtEnd)} due but never started`),
    ].filter(Boolean);
    t.push([p.bold(unit), `${formatCount(a.started)} started = ${parts.join(' + ')}${notes.length ? ` (${notes.join(', ')})` : ''}`]);
  }
  if (r.warmup && (r.warmup.duration >= 0.05 || r.warmup.totals.handshakes > 0)) {
    t.push([p.bold('Warmup'), `${r.warmup.duration.toFixed(1)} s: ${brief(r.warmup.totals, r.kind)} (not in the figures above)`]);
  }
  if (r.afterWindow && (r.afterWindow.handshakes > 0 || r.afterWindow.errors > 0 || r.afterWindow.roundTrips > 0)) {
    t.push([p.bold('After window'), `${brief(r.afterWindow, r.kind)} finished in the drain (not in the figures above)`]);
  }
  if (r.server) {
    // The embedded server saw the warmup and the drain too: our three parts must add up to its count.
    const ours = r.totals.handshakes + (r.warmup?.totals.handshakes ?? 0) + (r.afterWindow?.handshakes ?? 0);
    // With --close rst the client's Finished and its RST can arrive together, and a reset discards
    // what the server had not read yet: a handshake complete for us, never for it.
    const why = ours > r.server.handshakes && r.params.close === 'rst' ? ' (a reset can arrive before the server read our Finished)' : '';
    const agree = ours === r.server.handshakes ? 'agrees with ours' : p.yellow(`ours: ${formatCount(ours)}${why}`);
    t.push([p.bold('Server saw'), `${formatCount(r.server.handshakes)} handshakes (${formatCount(r.server.resumed)} resumed), warmup and drain included: ${agree}`]);
    if (r.server.requests !== undefined) {
      const answered = r.totals.roundTrips + (r.warmup?.totals.roundTrips ?? 0) + (r.afterWindow?.roundTrips ?? 0);
      const same = answered === r.server.requests ? 'agrees with ours' : p.yellow(`ours: ${formatCount(answered)} responses read`);
      t.push([p.bold('Server answered'), `${formatCount(r.server.requests)} requests, warmup and drain included: ${same}`]);
    }
  }
  if (r.rateTarget) {
    const rt = r.rateTarget;
    const fmt = RATE_LABELS[PRIMARY_RATE[r.kind]].format;
    const short = rt.shortfallPct > 0 ? p.yellow(`${rt.shortfallPct.toFixed(1)}% short`) : 'met';
    t.push([p.bold('Rate target'), `${fmt(rt.requested)} requested, ${fmt(rt.achieved)} achieved (${short})`]);
  }
  return t.toString();
}

/** bench http: responses by status, and what their heads and bodies weighed. */
function httpRows(r: ResultDocument, p: Paint): string[][] {
  const tot = r.totals;
  const statuses = Object.entries(tot.statuses ?? {}).sort((a, b) => Number(a[0]) - Number(b[0]));
  const mean = (x: number | undefined) => (tot.roundTrips > 0 ? formatBytes(Math.round((x ?? 0) / tot.roundTrips)) : '-');
  return [
    [p.bold('Responses'), `${formatCount(tot.roundTrips)}${statuses.length ? ` (${statuses.map(([s, n]) => `${s}: ${formatCount(n)}`).join(', ')})` : ''}`],
    [p.bold('Response bytes'), `heads ${formatBytes(tot.headerBytes ?? 0)} (${mean(tot.headerBytes)} each), bodies ${formatBytes(tot.bodyBytes ?? 0)} (${mean(tot.bodyBytes)} each)`],
  ];
}

/**
 * A totals object in a few words: '1,234 handshakes, 3 errors'. Fields it cannot read as numbers
 * (a document checked only loosely, as the HTML report reads one) print as '–'.
 */
export function brief(t: Partial<Record<'handshakes' | 'roundTrips' | 'bytesIn' | 'bytesOut' | 'errors', unknown>>, kind: ResultDocument['kind']): string {
  const main =
    kind === 'handshake' || kind === 'connections'
      ? counted(t.handshakes, 'handshake')
      : kind === 'pingpong'
        ? counted(t.roundTrips, 'round trip')
        : kind === 'http'
          ? counted(t.roundTrips, 'response')
          : formatBytes(asNumber(t.bytesIn) + asNumber(t.bytesOut));
  return asNumber(t.errors) > 0 ? `${main}, ${counted(t.errors, 'error')}` : main;
}

const asNumber = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) ? n : 0);

function counted(n: unknown, noun: string): string {
  const shown = typeof n === 'number' && Number.isFinite(n) ? formatCount(n) : '–';
  return `${shown} ${noun}${n === 1 ? '' : 's'}`;
}

function renderErrors(r: ResultDocument, p: Paint): string | undefined {
  const entries = Object.entries(r.errors).filter(([, n]) => n > 0);
  if (entries.length === 0) return undefined;
  const total = entries.reduce((t, [, n]) => t + n, 0);
  const t = makeTable(['Error', 'Count', 'Share'], p);
  for (const [reason, n] of entries.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) {
    t.push([p.red(reason), formatCount(n), `${((n / total) * 100).toFixed(1)}%`]);
  }
  return t.toString();
}

export function renderResult(result: ResultDocument, opts: RenderOptions): string {
  const p = paint(opts.color);
  const parts = [
    renderFacts(result, p),
    renderLatency(result, p),
    renderRates(result, p),
    renderRounds(result, p),
    renderTotals(result, p),
    renderErrors(result, p),
  ].filter((s): s is string => s !== undefined);
  return parts.join('\n\n') + '\n';
}

/** What the attempts cut off at the end were still waiting for: a silent server shows here, not as errors. */
export function cutOffNote(a: { cutOff: number; cutOffWaiting?: { connect: number; handshake: number }; cutOffLongestMs?: number }): string {
  const w = a.cutOffWaiting ?? { connect: 0, handshake: 0 };
  const parts = [
    w.handshake > 0 && `${formatCount(w.handshake)} waiting for the server's handshake reply`,
    w.connect > 0 && `${formatCount(w.connect)} for the TCP connect`,
  ].filter(Boolean);
  const longest = a.cutOffLongestMs !== undefined ? ` (up to ${(a.cutOffLongestMs / 1000).toFixed(1)} s)` : '';
  return `cut off ${parts.join(', ')}${longest}`;
}
