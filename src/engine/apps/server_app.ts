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
  #handshaken = false;
  constructor(protected readonly o: ServerAppOptions) {}

  onHandshake(conn: Connection): void {
    this.#handshaken = true;
    this.o.counters.handshake(conn.session.resumed(), { bytes: conn.session.handshakeBytes(), group: conn.session.group() });
  }

  /**
   * A client's reset (RST) is how many clients close: bench's default `--close rst`, browsers and
   * load balancers done with a connection. After the handshake, with no exchange cut (see
   * exchangeInFlight), it is a close, counted apart (closedByReset); before the handshake, or in
   * the middle of an exchange, it is an error like any other.
   */
  onClose(_conn: Connection, error: IocptlsError | undefined): void {
    if (!error) return;
    if (error.reason === 'reset' && this.#handshaken && !this.exchangeInFlight()) this.o.counters.closedByReset++;
    else this.o.counters.error(error.reason);
  }

  /**
   * Whether a reset now would cut an exchange: true while a request has arrived in part or is
   * being answered. Modes without exchanges (handshake, sink, source: a stream the client ends
   * when it has had enough) are never in the middle of one.
   */
  protected exchangeInFlight(): boolean {
    return false;
  }

  /** Counts plaintext received; modes override to act on it. */
  onData(_conn: Connection, _data: Uint8Array, _ptr: bigint, len: number): void {
    this.o.counters.bytesIn += len;
  }
}
