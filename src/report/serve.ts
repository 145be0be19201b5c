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
