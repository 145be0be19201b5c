// `serve` output: the listening line, the per-second stats line, and the final totals.
import type { ServerTotals } from '../engine/server';
import type { IntervalSample } from '../engine/stats/intervals';
import { totalErrors } from '../engine/stats/counters';
import { formatBytes } from './units';

export interface ServeDocument {
  schema: 'iocptls.serve/1';
  listen: { host: string; port: number };
  mode: string;
  workers: number;
  backend: string;
  openssl: { version: string; source: string };
  durationSec: number;
  totals: ServerTotals['totals'];
  connections: { accepted: number; rejected: number; acceptErrors: number };
  perWorker: ServerTotals['perWorker'];
  leftover: ServerTotals['leftover'];
}

function groupsLine(t: ServerTotals['totals']): string[] {
  const groups = Object.entries(t.groups ?? {}).sort((a, b) => b[1] - a[1]);
  return groups.length ? [`  groups       ${groups.map(([g, n]) => `${g} ${n}`).join(', ')}`] : [];
}

// The server's side of the same bytes a client reports: what it sent is what the client received.
function handshakeBytesLine(t: ServerTotals['totals']): string[] {
  const mean = (sum: number, n: number) => Math.round(sum / n);
  const parts: string[] = [];
  if (t.full && t.fullHandshakeSent) parts.push(`full ${mean(t.fullHandshakeSent, t.full)} sent, ${mean(t.fullHandshakeReceived, t.full)} received`);
  if (t.resumed && t.resumedHandshakeSent)
    parts.push(`resumed ${mean(t.resumedHandshakeSent, t.resumed)} sent, ${mean(t.resumedHandshakeReceived, t.resumed)} received`);
  return parts.length ? [`  hs bytes     ${parts.join('; ')} (mean per handshake, TLS records)`] : [];
}

export function renderStatsLine(s: IntervalSample, open: number): string {
  const sec = s.durationMs / 1000 || 1;
  const c = s.counters;
  const errs = totalErrors(c);
  const reasons = errs ? ` (${Object.entries(c.errors).map(([k, v]) => `${k}: ${v}`).join(', ')})` : '';
  return (
    `open ${open}  handshakes ${Math.round(c.handshakes / sec)}/s` +
    `  in ${formatBytes(c.bytesIn / sec)}/s  out ${formatBytes(c.bytesOut / sec)}/s  errors ${errs}${reasons}`
  );
}

export function renderServeTotals(d: ServeDocument): string {
  const t = d.totals;
  const lines = [
    `iocptls serve: stopped after ${d.durationSec.toFixed(1)} s`,
    `  connections  ${d.connections.accepted} accepted${d.connections.rejected ? `, ${d.connections.rejected} rejected (max connections)` : ''}`,
    `  handshakes   ${t.handshakes} (${t.full} full, ${t.resumed} resumed)`,
    ...groupsLine(t),
    ...handshakeBytesLine(t),
    `  bytes        ${formatBytes(t.bytesIn)} in, ${formatBytes(t.bytesOut)} out (application data)`,
    `  per worker   ${d.perWorker.map((w) => `#${w.worker}: ${w.accepted}`).join('  ')}`,
  ];
  const errs = Object.entries(t.errors).sort((a, b) => b[1] - a[1]);
  if (errs.length) {
    lines.push(`  errors       ${errs.reduce((a, [, n]) => a + n, 0)}`);
    for (const [k, n] of errs) lines.push(`    ${String(n).padStart(8)}  ${k}`);
  }
  return lines.join('\n');
}
