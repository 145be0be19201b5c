// A merged document's per-shard table: what each input ran and measured, and how far apart they
// started, under the merged report.
import { paint } from './ansi';
import { makeTable } from './cliTable';
import { PRIMARY_RATE, ResultDocument, ShardRow } from './result';
import { RATE_LABELS } from './table';
import { formatBytes, formatCount, formatMicros } from './units';

function ms(x: number | undefined): string {
  return x === undefined ? '-' : `${x.toFixed(1)} ms`;
}

export function renderShards(doc: ResultDocument, opts: { color: boolean }): string | undefined {
  const rows = doc.shards;
  if (!rows || rows.length === 0) return undefined;
  const p = paint(opts.color);
  const kind = doc.kind;
  const rateKey = PRIMARY_RATE[kind];
  const latencyName = kind === 'pingpong' ? 'rtt' : kind === 'http' ? 'request' : 'handshake';
  const countHead = kind === 'handshake' ? 'Handshakes' : kind === 'pingpong' ? 'Round trips' : kind === 'http' ? 'Requests' : 'Bytes';
  const late = rows.some((r) => r.startAt?.lateMs !== undefined);
  // Under Kubernetes the host is the pod: the node column shows shards that shared a machine.
  const nodes = rows.some((r) => r.node !== undefined);
  const head = ['Shard', 'Host', ...(nodes ? ['Node'] : []), 'Conns', countHead, rateKey.startsWith('bits') ? RATE_LABELS[rateKey].label : `${RATE_LABELS[rateKey].label}/s`, 'p50', 'p99', 'Errors', 'Start skew', ...(late ? ['Late'] : [])];
  const t = makeTable(head, p, head.map((_, i) => (i < (nodes ? 3 : 2) ? 'left' : 'right')));
  const count = (r: ShardRow) => (kind === 'handshake' ? formatCount(r.totals.handshakes) : kind === 'pingpong' || kind === 'http' ? formatCount(r.totals.roundTrips) : formatBytes(r.totals.bytesIn + r.totals.bytesOut));
  for (const r of rows) {
    const lat = r.latency[latencyName];
    const rate = r.rates[rateKey];
    t.push([
      p.bold(r.of !== undefined ? `${r.shard}/${r.of}` : String(r.shard)),
      r.host ?? r.file,
      ...(nodes ? [r.node ?? '-'] : []),
      String(r.params.connections ?? '-'),
      count(r),
      rate ? RATE_LABELS[rateKey].format(rate.mean) : '-',
      lat ? formatMicros(lat.p50) : '-',
      lat ? formatMicros(lat.p99) : '-',
      r.totals.errors > 0 ? p.red(formatCount(r.totals.errors)) : '0',
      ms(r.startSkewMs),
      ...(late ? [ms(r.startAt?.lateMs)] : []),
    ]);
  }
  return t.toString();
}
