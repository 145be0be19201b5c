// What bench http's load (http_client.ts) and a connection's protocol (HTTP/1.1 here, HTTP/2 in
// http_h2_exchange.ts) say to each other: the load hands a request to the exchange, the
// exchange writes it and reports its response's head, body and end, or why it failed.
import type { Connection } from '../connection';
import { H1ResponseEvents, H1ResponseParser } from '../http/h1/response_parser';
import { WriteQueue } from './write_queue';

/** One request in flight: its times (performance.now() ms) and what its response said so far. */
export class PendingRequest {
  /** When it was due (open loop) or sent (closed loop): what its latency counts from. */
  intendedAt = 0;
  sentAt = 0;
  /** 0 until its response's head arrives. */
  status = 0;
}

/** What an exchange reports to the load that owns it. */
export interface ExchangeSink {
  onResponseHead(r: PendingRequest, status: number, headerBytes: number): void;
  onResponseBody(bytes: number): void;
  onResponseDone(r: PendingRequest): void;
  /** The request failed on its own (an h2 stream reset, refused...): the connection lives on. */
  onRequestFailed(r: PendingRequest, reason: string): void;
  /** The server broke the protocol: the connection must close, failing what is in flight with `reason`. */
  onFatal(reason: string): void;
  /** The server will take no more requests on this connection (Connection: close, GOAWAY). */
  onNoMoreRequests(): void;
  /** Bytes written to the session for requests (plaintext). */
  onSent(bytes: number): void;
  /** Runs fn once the completions being dispatched are all handled, before the loop's sends go out (the loop's defer). */
  defer(fn: () => void): void;
}

export interface HttpExchange {
  /** Requests sent and not answered. */
  readonly inFlight: number;
  /** Whether another request may be sent now (pipeline depth or stream limit not reached, not closing). */
  readonly accepting: boolean;
  send(r: PendingRequest, path: number): void;
  /** Plaintext from the server. */
  receive(data: Uint8Array): void;
  /** The session has room again after a short write. */
  drain(): void;
  /**
   * After a burst of send()s: hands what they produced to the connection (HTTP/2: once the
   * loop's completions of this turn are handled, so that every response of the turn refills in
   * one write; HTTP/1.1 writes at once).
   */
  flush(): void;
  /** The server closed its side: a response read until the close is complete; returns its error otherwise. */
  peerClosed(): string | undefined;
  /** The requests still unanswered (the connection is gone); empties the exchange. */
  takeLost(): PendingRequest[];
}

/** What an HTTP/2 exchange needs to be built for a connection that negotiated h2. */
export interface H2ExchangeSpec {
  method: string;
  paths: readonly string[];
  authority: string;
  headers: ReadonlyArray<readonly [string, string]>;
  body?: Uint8Array;
  streams: number;
}
export type H2ExchangeFactory = (conn: Connection, sink: ExchangeSink, spec: H2ExchangeSpec) => HttpExchange;

/** HTTP/1.1 keep-alive with pipelining: requests go out in order, responses come back in the same order. */
export class H1Exchange implements HttpExchange, H1ResponseEvents {
  readonly #parser: H1ResponseParser;
  #queue: PendingRequest[] = [];
  #head = 0;
  #closing = false;
  readonly #writes = new WriteQueue();

  constructor(
    readonly conn: Connection,
    readonly sink: ExchangeSink,
    readonly requests: readonly Buffer[],
    /** Which of `requests` are HEAD requests (their responses have no body). */
    readonly isHead: boolean,
    readonly pipeline: number
  ) {
    this.#parser = new H1ResponseParser(this);
  }

  get inFlight(): number {
    return this.#queue.length - this.#head;
  }

  get accepting(): boolean {
    return !this.#closing && this.inFlight < this.pipeline && this.conn.open;
  }

  send(r: PendingRequest, path: number): void {
    this.#queue.push(r);
    this.#parser.expect(this.isHead);
    const b = this.requests[path];
    this.sink.onSent(this.#writes.write(this.conn, b, undefined, true));
  }

  drain(): void {
    this.sink.onSent(this.#writes.drain(this.conn));
  }

  flush(): void {}

  receive(data: Uint8Array): void {
    const err = this.#parser.push(data);
    if (err) this.sink.onFatal(`bad response: ${err}`);
  }

  peerClosed(): string | undefined {
    const err = this.#parser.end();
    return err ? `bad response: ${err}` : undefined;
  }

  takeLost(): PendingRequest[] {
    const lost = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    return lost;
  }

  // --- the parser's events
  onHead(status: number, headerBytes: number): void {
    const r = this.#queue[this.#head];
    r.status = status;
    this.sink.onResponseHead(r, status, headerBytes);
  }

  onBody(bytes: number): void {
    this.sink.onResponseBody(bytes);
  }

  onComplete(keepAlive: boolean): void {
    const r = this.#queue[this.#head++];
    // Compact now and then: the array only grows at its end.
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 64) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (!keepAlive) this.#closing = true;
    this.sink.onResponseDone(r);
    if (!keepAlive) this.sink.onNoMoreRequests();
  }
}
