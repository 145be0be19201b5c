// What the bench client apps share: where to connect, how, and where to count.
import type { ConnHandler, Connection } from '../connection';
import type { Loop } from '../loop';
import type { SockAddr } from '../port/types';
import type { Counters } from '../stats/counters';
import type { Histogram } from '../stats/histograms';
import type { TlsContext } from '../tls/context';
import type { NegotiatedInfo } from '../tls/session';

export interface ClientLoadOptions {
  loop: Loop;
  addr: SockAddr;
  context: TlsContext;
  servername?: string;
  verifyHost?: string;
  /** Concurrent connections (closed loop), or the cap on them (open loop). */
  connections: number;
  timeoutMs: number;
  counters: Counters;
  /** Latency histograms, µs. */
  handshakeHist: Histogram;
  connectHist: Histogram;
  /** Called once with the first successful handshake's parameters. */
  onNegotiated?: (info: NegotiatedInfo) => void;
}

/** µs between two performance.now() readings, at least 1 (the histogram's lowest value). */
export function micros(fromMs: number, toMs: number): number {
  return Math.max(1, Math.round((toMs - fromMs) * 1000));
}

/** Counts a handshake and records its latencies; first one reports what was negotiated. */
export function recordHandshake(o: ClientLoadOptions, c: Connection, startedAt: number, first: { done: boolean }): void {
  o.counters.handshake(c.session.resumed(), { bytes: c.session.handshakeBytes(), group: c.session.group() });
  o.connectHist.recordValue(micros(c.tStart, c.tConnected));
  o.handshakeHist.recordValue(micros(startedAt, c.tHandshake));
  if (!first.done) {
    first.done = true;
    o.onNegotiated?.(c.session.info());
  }
}

/**
 * Opens one long-lived bench connection (bulk, ping-pong): counts its connect, records its
 * handshake, counts its failure by reason, and hands the rest to `h`.
 */
export function connectCounted(
  o: ClientLoadOptions,
  first: { done: boolean },
  h: Pick<ConnHandler, 'onDrain' | 'onData'> & { onHandshake(c: Connection): void; onClose(): void }
): Connection {
  return o.loop.connect(o.addr, {
    context: o.context,
    servername: o.servername,
    verifyHost: o.verifyHost,
    timeoutMs: o.timeoutMs,
    handler: {
      onOpen: () => {
        o.counters.connects++;
      },
      onHandshake: (c) => {
        recordHandshake(o, c, c.tStart, first);
        h.onHandshake(c);
      },
      onDrain: h.onDrain,
      onData: h.onData,
      onClose: (_c, err) => {
        h.onClose();
        if (err) o.counters.error(err.reason);
      },
    },
  });
}
