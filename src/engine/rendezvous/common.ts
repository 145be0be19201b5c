// What shard 0's host and the other shards' member share: options, errors, timings.
//
// LAYERING EXCEPTION (like engine/scan/exchange.ts): the rendezvous is control traffic — a few
// lines per shard, then one document — not the load a bench measures, so it uses plain node:net
// sockets on the main thread's event loop instead of the completion ports. It never carries TLS
// and never shares a loop or a thread with the measured connections.
import net from 'node:net';
import { IocptlsError } from '../errors';

export interface RendezvousOptions {
  /** This shard and how many there are (--shard I/N). */
  index: number;
  count: number;
  /** Shard 0's address (--rendezvous HOST:PORT): where it listens, and what the others connect to. */
  host: string;
  port: number;
  /** Shard 0 only: the address it listens on (--rendezvous-bind), when not `host`. */
  bind?: string;
  /** From this process's start of the rendezvous until every shard has joined and is ready (--rendezvous-timeout). */
  timeoutMs: number;
  /** What identifies the run: every shard must give the same (the bench's kind, target and whole load). */
  run: string;
  /** Progress worth a line on stderr (waiting for a shard, a clock that disagrees). */
  log?: (line: string) => void;
}

/** The rendezvous failed: a shard missing at the deadline, shard 0 unreachable, a peer refused. One line. */
export class RendezvousError extends IocptlsError {
  constructor(message: string) {
    super(message);
    this.name = 'RendezvousError';
    this.code = 'IOCPTLS_ERR_RENDEZVOUS';
  }
}

/** Shard 0 pings every joined shard this often; the round trips size the start's lead. */
export const PING_MS = 1000;
/** A peer silent for this long (no ping, no pong, nothing) is gone: a killed host, a cut network. */
export const LOST_MS = 15_000;
/** The start is announced this far ahead at least, and 4 round trips when those are longer. */
export const MIN_LEAD_MS = 200;
/** A connection must say hello within this. */
export const HELLO_MS = 5000;
/** Connections that have not said hello yet, at most (a port scan or a flood is not a shard). */
export const MAX_PENDING = 64;

export function address(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** "shard 2", "shards 1, 3 and 4". */
export function shardList(list: readonly number[]): string {
  if (list.length === 1) return `shard ${list[0]}`;
  return `shards ${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}`;
}
