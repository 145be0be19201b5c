// `serve` output: the listening line, the per-second stats line, and the final totals. Trouble is
// never hidden: rejected connections, failed accepts (by reason) and whatever was left allocated
// after the stop are in every stats line, in the text totals and in the JSON document.
import type { ServerTickInfo, ServerTotals } from '../engine/server';
import type { IntervalSample } from '../engine/stats/intervals';
import { totalErrors } from '../engine/stats/counters';
import { formatBytes } from './units';

export interface ServeDocument {
  schema: 'iocptls.serve/2';
  listen: { host: string; port: number };
  mode: string;
  workers: number;
  backend: string;
  openssl: { version: string; source: string };
  durationSec: number;
  /** What stopped the server: a signal's name, or 'duration'. */
  stoppedBy: string;
  totals: ServerTotals['totals'];
  /** rejected: turned away by --max-connections; acceptErrors: failed accepts by errno name. */
  connections: { accepted: number; rejected: number; acceptErrors: Record<string, number> };
  perWorker: ServerTotals['perWorker'];
  /** Allocated after the stop (all must be 0). */
  leftover: ServerTotals['leftover'];
  sessionCache?: ServerTotals['sessionCache'];
  /** Native memory: ours at its peak, what could not be freed, and the process's RSS and C heap. */
  memory: ServerTotals['memory'];
}

function groupsLine(t: ServerTotals['totals']): string[] {
  const groups = Object.entries(t.groups ?? {}).sort((a, b) => b[1] - a[1]);
  return groups.length ? [`  groups       ${groups.map(([g, n]) => `${g} ${n}`).join(', ')}`] : [];
}

// The server's side of the same bytes a client reports: what it sent is what the client received.
function handshakeBytesLine(t: ServerTotals['totals']): string[] {
  const mean = (sum: number | undefined, n: number) => Math.round((sum ?? 0) / n);
  const parts: string[] = [];
  if (t.full && t.fullHandshakeSent) parts.push(`full ${mean(t.fullHandshakeSent, t.full)} sent, ${mean(t.fullHandshakeReceived, t.full)} received`);
  if (t.resumed && t.resumedHandshakeSent)
    parts.push(`resumed ${mean(t.resumedHandshakeSent, t.resumed)} sent, ${mean(t.resumedHandshakeReceived, t.resumed)} received`);
  return parts.length ? [`  hs bytes     ${parts.join('; ')} (mean per handshake, TLS records)`] : [];
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const byReason = (r: Record<string, number>) =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

export function renderStatsLine(s: IntervalSample, t: ServerTickInfo): string {
  const sec = s.durationMs / 1000 || 1;
  const c = s.counters;
  const errs = totalErrors(c);
  const reasons = errs ? ` (${byReason(c.errors)})` : '';
  const acceptErrs = sum(t.acceptErrors);
  const m = t.memory;
  return (
    `open ${t.open}  handshakes ${Math.round(c.handshakes / sec)}/s` +
    `  in ${formatBytes(c.bytesIn / sec)}/s  out ${formatBytes(c.bytesOut / sec)}/s  errors ${errs}${reasons}` +
    (c.closedByReset ? `  closed by reset ${c.closedByReset}` : '') +
    `  rejected ${t.rejected}  accept errors ${acceptErrs}${acceptErrs ? ` (${byReason(t.acceptErrors)})` : ''}` +
    `  native ${formatBytes(m.inUseBytes)} (pairs ${m.paired}/${m.sessions} ${formatBytes(m.pairBytes)}, recv ${formatBytes(m.recvBytes)})` +
    `  rss ${formatBytes(m.rssBytes)}${m.heapInUseBytes !== undefined ? `  heap ${formatBytes(m.heapInUseBytes)}` : ''}`
  );
}

export function renderServeTotals(d: ServeDocument): string {
  const t = d.totals;
  const c = d.connections;
  const acceptErrs = sum(c.acceptErrors);
  const lines = [
    `iocptls serve: stopped after ${d.durationSec.toFixed(1)} s (${d.stoppedBy})`,
    `  connections  ${c.accepted} accepted, ${c.rejected} rejected (max connections), ${acceptErrs} accept errors${acceptErrs ? ` (${byReason(c.acceptErrors)})` : ''}`,
    `  handshakes   ${t.handshakes} (${t.full} full, ${t.resumed} resumed)`,
    ...groupsLine(t),
    ...handshakeBytesLine(t),
    `  bytes        ${formatBytes(t.bytesIn)} in, ${formatBytes(t.bytesOut)} out (application data)`,
  ];
  if (d.mode === 'http') lines.push(`  responses    ${t.roundTrips}`);
  // Clients that ended with a reset where nothing was cut (bench's default): closes, not errors.
  if (t.closedByReset) lines.push(`  closed by reset ${t.closedByReset} (the client reset after a completed exchange: not errors)`);
  lines.push(`  per worker   ${d.perWorker.map((w) => `#${w.worker}: ${w.accepted}`).join('  ')}`);
  if (d.sessionCache) {
    const s = d.sessionCache;
    lines.push(
      `  session cache ${s.stored} stored, ${s.hits} hits, ${s.misses} misses` +
        `${s.evicted ? `, ${s.evicted} evicted` : ''}${s.tooLarge ? `, ${s.tooLarge} too large` : ''} (one cache for ${d.workers} worker${d.workers > 1 ? 's' : ''})`
    );
  }
  const m = d.memory;
  lines.push(
    `  memory       native peak ${formatBytes(m.peakInUseBytes)}, leaked ${m.leakedBuffers ? `${m.leakedBuffers} buffers, ${formatBytes(m.leakedBytes)} (should be 0)` : '0'}; ` +
      `rss peak ${formatBytes(m.peakRssBytes)}, at the end ${formatBytes(m.endRssBytes)}${m.endHeapInUseBytes !== undefined ? `, C heap in use ${formatBytes(m.endHeapInUseBytes)}` : ''}`
  );
  const l = d.leftover;
  const left = l.connections || l.recvBuffers || l.pendingOps || l.listeners;
  lines.push(
    `  leftover     ${l.connections} connections, ${l.recvBuffers} receive buffers` +
      `${l.pendingOps ? `, ${l.pendingOps} pending operations` : ''}${l.listeners ? `, ${l.listeners} listening sockets` : ''}${left ? ' (should be 0)' : ''}`
  );
  const errs = Object.entries(t.errors).sort((a, b) => b[1] - a[1]);
  if (errs.length) {
    lines.push(`  errors       ${errs.reduce((a, [, n]) => a + n, 0)}`);
    for (const [k, n] of errs) lines.push(`    ${String(n).padStart(8)}  ${k}`);
  }
  return lines.join('\n');
}
