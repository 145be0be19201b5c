// The text report of a saved result document: what `bench` printed when it ran (the tables
// and the latency plot), rebuilt from the document alone (the plot from its encoded histogram).

import { plotLatency } from './plot';
import { ResultDocument } from './result';
import { renderShards } from './shards_table';
import { renderResult } from './table';
import { decodeSafely, latencyEntry, primaryLatencyKey } from './html/document';

export function renderReportText(doc: ResultDocument, opts: { color: boolean; plot: boolean }): string[] {
  const parts = [renderResult(doc, { color: opts.color })];
  // A merged document (iocptls merge, or shard 0 of a rendezvous): one row per shard, as merge prints it.
  const shards = renderShards(doc, { color: opts.color });
  if (shards) parts.push(shards);
  if (opts.plot) {
    const key = primaryLatencyKey(doc);
    const h = decodeSafely(latencyEntry(doc, key));
    if (h) parts.push(plotLatency(h, { title: key === 'rtt' ? 'Round-trip latency' : key === 'request' ? 'Request latency' : 'Handshake latency' }));
  }
  return parts;
}
