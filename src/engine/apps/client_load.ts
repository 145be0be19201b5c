// What the bench client apps share: where to connect, how, and where to record.
import { performance } from 'node:perf_hooks';
import type { ConnHandler, Connection } from '../connection';
import { NetError } from '../errors';
import { countCutOff, type Recorder } from '../stats/recorder';
import type { NegotiatedInfo } from '../tls/session';
import { type ClientTarget, connectTo } from './client_target';

export interface ClientLoadOptions extends ClientTarget {
  /** Concurrent connections (closed loop), or the cap on them (open loop). */
  connections: number;
  /** Counts, latencies (µs) and accounting, routed by the run's phase. */
  rec: Recorder;
  /** Called once with the first successful handshake's parameters. */
  onNegotiated?: (info: NegotiatedInfo) => void;
}

/** socket() failures that mean the process (or system) is out of descriptors or memory. */
const OUT_OF_DESCRIPTORS = new Set(['emfile', 'enfile', 'enobufs', 'enomem']);
/** How often a load that ran out of descriptors tries one more connection. */
const PROBE_MS = 1000;

/** Set when a load could not open all the connections it was asked for. */
export interface ConnectionLimit {
  /** Why: 'emfile' (the process's descriptor limit, ulimit -n), 'enfile' (the system's), ... */
  reason: string;
  /** Connections asked for. */
  wanted: number;
  /** Connections it could hold (what it ran with at the end). */
  held: number;
}

/**
 * How many connections a load may keep open. When socket() fails for lack of descriptors the
 * attempt counts as an error (by reason, e.g. 'emfile') and the load goes on with the
 * connections it holds, instead of aborting the run; once a second it tries one more, in case
 * descriptors were freed. `limited` tells the report.
 */
export class ConnectionBudget {
  cap: number;
  limited: ConnectionLimit | undefined = undefined;
  #probeAt = 0;

  constructor(readonly wanted: number) {
    this.cap = wanted;
  }

  /** Whether another connection may start, with `held` open now. */
  mayOpen(held: number): boolean {
    if (held < this.cap) return true;
    if (this.cap >= this.wanted || performance.now() < this.#probeAt) return false;
    this.cap++;
    this.#probeAt = performance.now() + PROBE_MS;
    return true;
  }

  /** Runs connect(); if there is no descriptor to be had, counts it, lowers the cap to `held` and returns undefined. */
  open(o: ClientLoadOptions, held: number, connect: () => Connection): Connection | undefined {
    try {
      return connect();
    } catch (e) {
      if (!(e instanceof NetError) || !OUT_OF_DESCRIPTORS.has(e.reason)) throw e;
      // The attempt was counted as started: it failed.
      o.rec.live.error(e.reason);
      o.rec.accounting.failed++;
      this.cap = Math.max(1, Math.min(this.cap, held));
      this.#probeAt = performance.now() + PROBE_MS;
      this.limited = { reason: e.reason, wanted: this.wanted, held: this.cap };
      return undefined;
    }
  }

  /** The limit met, with what is held at the end, or undefined if every connection could be opened. */
  report(): ConnectionLimit | undefined {
    return this.limited && { ...this.limited, held: Math.min(this.cap, this.wanted) };
  }
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
  return connectTo(o, undefined, undefined, {
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
    onClose: (c, err) => {
      h.onClose();
      if (err) {
        o.rec.live.error(err.reason);
        acc.failed++;
      } else if (handshaken) acc.succeeded++;
      else countCutOff(acc, c, performance.now());
    },
  });
}
