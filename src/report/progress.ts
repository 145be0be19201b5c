// The once-a-second progress line of a bench run (TTY only).
import type { IntervalSample } from '../engine/stats/intervals';
import { totalErrors } from '../engine/stats/counters';
import { formatBitRate } from './units';

export function renderProgress(kind: string, s: IntervalSample, elapsedSec: number, durationSec: number): string {
  const sec = s.durationMs / 1000 || 1;
  const c = s.counters;
  const rate =
    kind === 'connections'
      ? `${(s.open ?? 0).toLocaleString('en-US')} open, ${Math.round(c.handshakes / sec).toLocaleString('en-US')} new/s${c.roundTrips ? `, ${Math.round(c.roundTrips / sec).toLocaleString('en-US')} round trips/s` : ''}`
      : kind === 'handshake'
      ? `${Math.round(c.handshakes / sec).toLocaleString('en-US')} handshakes/s`
      : kind === 'pingpong'
        ? `${Math.round(c.roundTrips / sec).toLocaleString('en-US')} round trips/s`
        : kind === 'http'
          ? `${Math.round(c.roundTrips / sec).toLocaleString('en-US')} requests/s`
        : formatBitRate(((c.bytesIn + c.bytesOut) * 8) / sec);
  const left = durationSec ? `, ${Math.max(0, Math.round(durationSec - elapsedSec))} s left` : '';
  return `  ${Math.round(elapsedSec)} s: ${rate}, errors ${totalErrors(c)}${left}`;
}
