// What every server mode shares: counting handshakes, plaintext bytes and failures by reason
// into the worker's counters. Modes add their behaviour on top.
import type { ConnHandler, Connection } from '../connection';
import type { IocptlsError } from '../errors';
import type { Counters } from '../stats/counters';
import type { DeadlineQueue } from './deadline_queue';

export type ServerMode = 'echo' | 'sink' | 'source' | 'http' | 'handshake';
export const SERVER_MODES: readonly ServerMode[] = ['echo', 'sink', 'source', 'http', 'handshake'];

export interface ServerAppOptions {
  counters: Counters;
  /** http: response body size; source: bytes per write. */
  bodySize: number;
  /** http: the worker's request-header timeouts (absent: none). */
  deadlines?: DeadlineQueue;
}

/** --body-size when none is given: http answers a small body (request rate is the point); source writes whole 16 KiB records. */
export function defaultBodySize(mode: ServerMode): number {
  return mode === 'source' ? 16 * 1024 : 2;
}

export abstract class ServerApp implements ConnHandler {
  constructor(protected readonly o: ServerAppOptions) {}

  onHandshake(conn: Connection): void {
    this.o.counters.handshake(conn.session.resumed(), { bytes: conn.session.handshakeBytes(), group: conn.session.group() });
  }

  onClose(_conn: Connection, error: IocptlsError | undefined): void {
    if (error) this.o.counters.error(error.reason);
  }

  /** Counts plaintext received; modes override to act on it. */
  onData(_conn: Connection, _data: Uint8Array, _ptr: bigint, len: number): void {
    this.o.counters.bytesIn += len;
  }
}
