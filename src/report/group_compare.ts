// `bench handshake --compare-groups`: the per-run result documents of the interleaved rounds,
// added up per key exchange group (counts and histograms added, never averaged), side by side
// with ratios to the first group; and its rendering.
import { median } from '../engine/stats/median';
import { CounterSnapshot, emptyCounters } from '../engine/stats/counters';
import { decodeHistogram, mergeHistograms, summarizeHistogram } from '../engine/stats/histograms';
import { Paint, paint } from './ansi';
import { makeTable } from './cliTable';
import { MachineInfo, OpensslInfo, ToolInfo } from './facts';
import { HandshakeBytesSection, handshakeBytesSection, ResultDocument } from './result';
import { formatCount, formatMicros, formatRate } from './units';

export const COMPARE_GROUPS_SCHEMA = 'iocptls.compare-groups/1';

/** One run of one group in one round. */
export interface GroupRun {
  group: string;
  round: number;
  doc: ResultDocument;
  /** Our own client CPU measure for the run (µs per handshake), when there is one; see clientCpu. */
  processCpuUsPerHandshake: number | null;
}

export interface GroupSummary {
  group: string;
  rounds: number;
  /** Measured seconds, all rounds. */
  durationS: number;
  handshakes: number;
  full: number;
  resumed: number;
  errors: number;
  /** Handshakes of its runs including their warmups and drains: what a server saw of them. */
  handshakesAll: number;
  /** The median of the rounds' rates (one slow or fast round on a shared machine does not move it). */
  handshakesPerSec: number;
  /** Each round's own rate, in round order: how much the machine moved under the comparison. */
  handshakesPerSecByRound: number[];
  /** Client CPU time per completed handshake, µs: the median of the rounds' (null when not measured). */
  clientCpuUsPerHandshake: number | null;
  /** Handshake latency over all rounds (histograms added), µs. */
  latency: { p50: number; p90: number; p99: number; mean: number };
  handshakeBytes?: HandshakeBytesSection;
  /** The groups the handshakes actually used (a server may refuse or pick another). */
  negotiated: Record<string, number>;
  /** This group's figure over the first group's (null when either is missing). */
  ratios: {
    handshakesPerSec: number | null;
    clientCpuUsPerHandshake: number | null;
    p50: number | null;
    p99: number | null;
    bytesSent: number | null;
    bytesReceived: number | null;
  };
}

export interface GroupComparison {
  schema: typeof COMPARE_GROUPS_SCHEMA;
  tool: ToolInfo;
  openssl: OpensslInfo;
  machine: MachineInfo;
  backend: string;
  target: { host: string; port: number; embedded: boolean };
  params: Record<string, unknown>;
  /** What the client CPU figures are: 'thread' (the bench workers' own CPU time), 'process' (the whole client process), or null. */
  clientCpu: 'thread' | 'process' | null;
  /** The group of each run, in the order they ran. */
  order: string[];
  groups: GroupSummary[];
  /** The embedded server's own count of handshakes, by group (all rounds, warmups included). */
  server?: { handshakes: number; groups: Record<string, number> };
  /** Ended by a signal: the groups and rounds are those measured until then (`order`, `groups[].rounds`). */
  interrupted?: { signal: string };
}

function addTotals(into: CounterSnapshot, d: ResultDocument): void {
  into.handshakes += d.totals.handshakes;
  into.full += d.totals.full;
  into.resumed += d.totals.resumed;
  // The per-handshake byte means come back to sums through their counts.
  const hb = d.handshakeBytes;
  if (hb?.full) {
    into.fullHandshakeSent = (into.fullHandshakeSent ?? 0) + hb.full.sent * hb.full.count;
    into.fullHandshakeReceived = (into.fullHandshakeReceived ?? 0) + hb.full.received * hb.full.count;
  }
  if (hb?.resumed) {
    into.resumedHandshakeSent = (into.resumedHandshakeSent ?? 0) + hb.resumed.sent * hb.resumed.count;
    into.resumedHandshakeReceived = (into.resumedHandshakeReceived ?? 0) + hb.resumed.received * hb.resumed.count;
  }
  const groups = (into.groups ??= {});
  for (const [g, n] of Object.entries(d.groups ?? {})) groups[g] = (groups[g] ?? 0) + n;
}

/** Client CPU of a run: the bench workers' own (result field client.cpuUsPerOp) when the document has it, else ours. */
function runCpu(r: GroupRun): { us: number; source: 'thread' | 'process' } | null {
  const own = (r.doc as { client?: { cpuUsPerOp?: number } }).client?.cpuUsPerOp;
  if (typeof own === 'number' && Number.isFinite(own) && own > 0) return { us: own, source: 'thread' };
  if (r.processCpuUsPerHandshake !== null && r.processCpuUsPerHandshake > 0) return { us: r.processCpuUsPerHandshake, source: 'process' };
  return null;
}

const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined || !(b > 0) ? null : Math.round((a / b) * 1000) / 1000;

export function summarizeGroups(runs: readonly GroupRun[], groups: readonly string[]): { groups: GroupSummary[]; clientCpu: GroupComparison['clientCpu'] } {
  let cpuSource: GroupComparison['clientCpu'] = null;
  const out = groups.map((group): GroupSummary => {
    const mine = runs.filter((r) => r.group === group).sort((a, b) => a.round - b.round);
    const totals = emptyCounters();
    let durationS = 0;
    let errors = 0;
    let all = 0;
    const cpuByRound: number[] = [];
    for (const r of mine) {
      addTotals(totals, r.doc);
      durationS += r.doc.duration;
      errors += r.doc.totals.errors;
      all += r.doc.totals.handshakes + (r.doc.warmup?.totals.handshakes ?? 0) + (r.doc.afterWindow?.handshakes ?? 0);
      const cpu = runCpu(r);
      if (cpu && r.doc.totals.handshakes > 0) {
        cpuByRound.push(cpu.us);
        // One source for the whole comparison: the weakest one any run had.
        cpuSource = cpuSource === 'process' || cpu.source === 'process' ? 'process' : 'thread';
      }
    }
    const byRound = mine.map((r) => (r.doc.duration > 0 ? Math.round((r.doc.totals.handshakes / r.doc.duration) * 10) / 10 : 0));
    const encoded = mine.map((r) => r.doc.latency.handshake?.encoded).filter((e): e is string => !!e);
    const h = encoded.length ? mergeHistograms(encoded.map((e) => decodeHistogram(e))) : undefined;
    const s = h && h.totalCount > 0 ? summarizeHistogram(h) : undefined;
    return {
      group,
      rounds: mine.length,
      durationS: Math.round(durationS * 1000) / 1000,
      handshakes: totals.handshakes,
      full: totals.full,
      resumed: totals.resumed,
      errors,
      handshakesAll: all,
      handshakesPerSec: byRound.length ? Math.round(median(byRound) * 10) / 10 : 0,
      handshakesPerSecByRound: byRound,
      clientCpuUsPerHandshake: cpuByRound.length ? Math.round(median(cpuByRound) * 10) / 10 : null,
      latency: { p50: s?.p50 ?? 0, p90: s?.p90 ?? 0, p99: s?.p99 ?? 0, mean: s ? Math.round(s.mean) : 0 },
      handshakeBytes: handshakeBytesSection(totals),
      negotiated: { ...totals.groups },
      ratios: { handshakesPerSec: null, clientCpuUsPerHandshake: null, p50: null, p99: null, bytesSent: null, bytesReceived: null },
    };
  });
  const base = out[0];
  const sent = (g?: GroupSummary) => g?.handshakeBytes?.full?.sent ?? g?.handshakeBytes?.resumed?.sent;
  const received = (g?: GroupSummary) => g?.handshakeBytes?.full?.received ?? g?.handshakeBytes?.resumed?.received;
  for (const g of out) {
    g.ratios = {
      handshakesPerSec: ratio(g.handshakesPerSec, base?.handshakesPerSec),
      clientCpuUsPerHandshake: ratio(g.clientCpuUsPerHandshake, base?.clientCpuUsPerHandshake),
      p50: ratio(g.latency.p50, base?.latency.p50),
      p99: ratio(g.latency.p99, base?.latency.p99),
      bytesSent: ratio(sent(g), sent(base)),
      bytesReceived: ratio(received(g), received(base)),
    };
  }
  return { groups: out, clientCpu: cpuSource };
}

function withRatio(value: string, r: number | null, first: boolean, p: Paint): string {
  if (first || r === null) return value;
  return `${value} ${p.dim(`×${r.toFixed(2)}`)}`;
}

export function renderGroupComparison(c: GroupComparison, opts: { color: boolean }): string {
  const p = paint(opts.color);
  const target = `${c.target.host}:${c.target.port}${c.target.embedded ? ' (embedded server, own process)' : ''}`;
  const per = c.params.durationPerRun;
  const lines = [
    `${p.bold(`${c.tool.name} ${c.tool.version}`)} · key exchange groups compared · ${target}`,
    `${p.dim('OpenSSL')} ${c.openssl.version.replace(/^OpenSSL\s+/, '')} (${c.openssl.source === 'path' ? c.openssl.path : 'node'}) · node ${c.machine.node} · backend ${c.backend}`,
    `${p.dim('Runs   ')} ${c.groups.length} groups × ${c.params.rounds} interleaved rounds of ${per} s (+${c.params.warmupPerRun} s warmup) · ${c.params.connections} connections · ${c.params.workers} worker${c.params.workers === 1 ? '' : 's'}`,
    `${p.dim('CPU    ')} ${c.machine.cpuModel} × ${c.machine.cores}`,
  ];
  const t = makeTable(['Group', 'Handshakes/s', 'Rounds (min–max)', 'Client CPU/hs', 'p50', 'p99', 'Sent/hs', 'Received/hs'], p);
  // Handshakes/s and CPU are medians of the rounds; latency is over all rounds' histograms added.
  c.groups.forEach((g, i) => {
    const first = i === 0;
    const byRound = g.handshakesPerSecByRound;
    const range = byRound.length ? `${formatRate(Math.min(...byRound))}–${formatRate(Math.max(...byRound))}` : '-';
    const bytes = g.handshakeBytes?.full ?? g.handshakeBytes?.resumed;
    t.push([
      p.bold(g.group),
      withRatio(formatRate(g.handshakesPerSec), g.ratios.handshakesPerSec, first, p),
      range,
      withRatio(g.clientCpuUsPerHandshake === null ? 'n/a' : formatMicros(g.clientCpuUsPerHandshake), g.ratios.clientCpuUsPerHandshake, first, p),
      withRatio(g.handshakes ? formatMicros(g.latency.p50) : '-', g.ratios.p50, first, p),
      withRatio(g.handshakes ? formatMicros(g.latency.p99) : '-', g.ratios.p99, first, p),
      withRatio(bytes ? formatCount(Math.round(bytes.sent)) : '-', g.ratios.bytesSent, first, p),
      withRatio(bytes ? formatCount(Math.round(bytes.received)) : '-', g.ratios.bytesReceived, first, p),
    ]);
  });
  const notes: string[] = [];
  notes.push(
    `Ratios (×) are to ${c.groups[0]?.group ?? 'the first group'}. Handshakes/s and CPU: medians of the rounds; latency: all rounds. ` +
      `Bytes: TLS records per ${c.groups.some((g) => g.resumed && !g.full) ? 'resumed' : 'full'} handshake, client side.`
  );
  if (c.clientCpu === 'process') notes.push('Client CPU: CPU time of the whole client process per handshake, between its first and last 1 s tick (warmup excluded); the server runs in its own process.');
  else if (c.clientCpu === 'thread') notes.push("Client CPU: the bench workers' own CPU time per handshake (getrusage per thread).");
  else notes.push('Client CPU: not measured (needs runs of 2 s or more).');
  if (c.interrupted) {
    const missing = c.groups.filter((g) => g.rounds === 0).map((g) => g.group);
    notes.push(
      p.yellow(
        `Interrupted (${c.interrupted.signal}) after ${c.order.length} of ${c.groups.length * Number(c.params.rounds)} runs: the figures cover the runs measured so far` +
          (missing.length ? `; not measured: ${missing.join(', ')}` : '') +
          '.'
      )
    );
  }
  const errors = c.groups.filter((g) => g.errors > 0);
  for (const g of errors) notes.push(p.red(`${g.group}: ${formatCount(g.errors)} errors`));
  for (const g of c.groups) {
    const other = Object.keys(g.negotiated).filter((n) => n !== g.group);
    if (other.length) notes.push(p.yellow(`${g.group}: some handshakes used ${other.join(', ')}`));
  }
  return [lines.join('\n'), t.toString(), notes.join('\n')].join('\n\n') + '\n';
}
