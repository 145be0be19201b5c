// One TLS connection as the loop sees it: its socket, session, in-flight operations and the
// handler (an app) that decides what happens on it. Apps call write/close/pause/resume.
import type { IocptlsError } from './errors';
import type { Timer } from './timers';
import type { TlsSession } from './tls/session';

export type CloseHow = 'notify' | 'fin' | 'rst';

export interface ConnHandler {
  /** TCP connected (client) or accepted (server). */
  onOpen?(conn: Connection): void;
  onHandshake?(conn: Connection): void;
  /** Plaintext. `data` is a view of the loop's scratch buffer, valid only during this call; `ptr` is its native address. */
  onData?(conn: Connection, data: Uint8Array, ptr: bigint, len: number): void;
  /**
   * A write took less than asked (the outgoing buffer was full) and there is room again: the
   * pending ciphertext fell below the low-water mark. A send may still be in flight, so refilling
   * now keeps the socket busy.
   */
  onDrain?(conn: Connection): void;
  /** The peer sent close_notify, or FIN after the handshake. The default closes. */
  onPeerClose?(conn: Connection): void;
  /** Exactly once, after the socket is closed and every operation on it has completed. */
  onClose?(conn: Connection, error: IocptlsError | undefined): void;
}

export const enum ConnState {
  Connecting,
  Handshaking,
  Open,
  /** close_notify queued, waiting for it to be sent. */
  Closing,
  /** Cancelling in-flight operations before closing the socket. */
  TearingDown,
  Closed,
}

export interface ConnectionOps {
  write(conn: Connection, src: bigint | Uint8Array, len: number): number;
  close(conn: Connection, how: CloseHow, error?: IocptlsError): void;
  resume(conn: Connection): void;
  setDeadline(conn: Connection, at: number, reason: string): void;
}

export class Connection {
  state = ConnState.Connecting;
  fd = -1;
  session!: TlsSession;
  handler: ConnHandler;
  /** Free for the app's own per-connection state. */
  data: any = undefined;

  recvInFlight = false;
  /** Bytes the receive in flight asked for (the room its session's pair had). */
  recvAsked = 0;
  /** The receive in flight writes straight into space its session's pair lent (a streaming connection). */
  recvDirect = false;
  /** The loop cancelled a direct receive of this quiet connection: its next receive pins nothing. */
  recvQuiet = false;
  /** In the loop's list of connections to flush at the end of this turn. */
  touched = false;
  /** In the loop's list of connections that may give back their pair's buffers once quiet. */
  quietListed = false;
  sendInFlight = 0;
  connectInFlight = false;
  /** A write took less than asked: onDrain is owed once there is room. */
  writeBlocked = false;
  paused = false;
  closeHow: CloseHow = 'notify';
  /** A close asked for from inside an OpenSSL callback, carried out once OpenSSL has returned. */
  deferredClose: CloseHow | undefined = undefined;
  error: IocptlsError | undefined = undefined;

  /** Monotonic milliseconds (performance.now()). */
  tStart = 0;
  tConnected = 0;
  tHandshake = 0;
  deadline = 0;
  deadlineReason = '';
  /** The loop's timer for `deadline` (one per connection, moved rather than reallocated). */
  deadlineTimer: Timer | undefined = undefined;
  idleTimeout = 0;
  idleTimer: Timer | undefined = undefined;
  lastActivity = 0;
  /** Ciphertext bytes on the wire. */
  wireIn = 0;
  wireOut = 0;

  constructor(
    readonly slot: number,
    readonly role: 'client' | 'server',
    handler: ConnHandler,
    readonly ops: ConnectionOps,
    /** Index of the worker-level listener or target this connection belongs to. */
    readonly origin: number
  ) {
    this.handler = handler;
  }

  /** Encrypts plaintext; returns bytes taken (less than len when the outgoing buffer is full: wait for onDrain). */
  write(src: bigint | Uint8Array, len: number): number {
    return this.ops.write(this, src, len);
  }
  close(how: CloseHow = 'notify', error?: IocptlsError): void {
    this.ops.close(this, how, error);
  }
  /** close() for code running inside an OpenSSL callback (e.g. a new session ticket): the session must not be freed under OpenSSL's feet. */
  closeSoon(how: CloseHow = 'notify'): void {
    this.deferredClose = how;
  }
  /** Stop posting receives (backpressure) until resume(). */
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.ops.resume(this);
  }
  /** Arms a deadline; at it, the connection fails with a timeout error naming `reason`. 0 clears it. */
  setDeadline(at: number, reason: string): void {
    this.ops.setDeadline(this, at, reason);
  }
  get open(): boolean {
    return this.state < ConnState.TearingDown;
  }
}
