// What the bench client apps share: where to connect, how, and where to record.
import type { ConnHandler, Connection } from '../connection';
import type { Loop } from '../loop';
import type { SockAddr } from '../port/types';
import type { Recorder } from '../stats/recorder';
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
  /** Counts, latencies (µs) and accounting, routed by the run's phase. */
  rec: Recorder;
  /** Called once with the first successful handshake's parameters. */
  onNegotiated?: (info: NegotiatedInfo) => void;
  /** The local address each new connection binds to (--bind, in turn); the kernel's choice when absent. */
  source?: () => SockAddr | undefined;
}

/** Takes the items in turn, starting at `first` (so that workers begin on different source addresses). */
export function roundRobin<T>(items: readonly T[], first = 0): (() => T) | undefined {
  if (items.length === 0) return undefined;
  let i = first % items.length;
  return () => {
    const item = items[i];
    i = (i + 1) % items.length;
    return item;
  };
}

/** µs between two performance.now() readings, at least 1 (the histogram's lowest value). */
export function micros(fromMs: number, toMs: number): number {
  return Math.max(1, Math.round((toMs - fromMs) * 1000));
}

/**
 * Counts a handshake and records its latencies: from `startedAt` (the connect being posted, or
 * an open loop's intended start) and, when that differs, from the connect being posted
 * (the uncorrected figure). The first one reports what was negotiated.
 */
export function recordHandshake(o: ClientLoadOptions, c: Connection, startedAt: number, first: { done: boolean }): void {
  const rec = o.rec;
  rec.live.handshake(c.session.resumed(), { bytes: c.session.handshakeBytes(), group: c.session.group() });
  rec.record('connect', micros(c.tStart, c.tConnected));
  rec.record('handshake', micros(startedAt, c.tHandshake));
  if (startedAt !== c.tStart) rec.record('handshakeUncorrected', micros(c.tStart, c.tHandshake));
  if (!first.done) {
    first.done = true;
    o.onNegotiated?.(c.session.info());
  }
}

/**
 * Opens one long-lived bench connection (bulk, ping-pong): counts its connect, records its
 * handshake, accounts for it (a connection is an attempt: it fails if it ends in an error), and
 * hands the rest to `h`.
 */
export function connectCounted(
  o: ClientLoadOptions,
  first: { done: boolean },
  h: Pick<ConnHandler, 'onDrain' | 'onData'> & { onHandshake(c: Connection): void; onClose(): void }
): Connection {
  const acc = o.rec.accounting;
  let handshaken = false;
  acc.started++;
  return o.loop.connect(o.addr, {
    source: o.source?.(),
    context: o.context,
    servername: o.servername,
    verifyHost: o.verifyHost,
    timeoutMs: o.timeoutMs,
    handler: {
      onOpen: () => {
        o.rec.live.connects++;
      },
      onHandshake: (c) => {
        handshaken = true;
        recordHandshake(o, c, c.tStart, first);
        h.onHandshake(c);
      },
      onDrain: h.onDrain,
      onData: h.onData,
      onClose: (_c, err) => {
        h.onClose();
        if (err) {
          o.rec.live.error(err.reason);
          acc.failed++;
        } else if (handshaken) acc.succeeded++;
        else acc.cutOff++;
      },
    },
  });
}
