// Event counters kept by each worker. The hot path bumps plain numeric fields; once per
// interval the worker takes a snapshot (a plain, structured-clone-safe object) and starts
// again from zero, and the main thread adds the snapshots of all workers together.

/** Counts of one interval (or of a whole run, once intervals are added up). */
export interface CounterSnapshot {
  /** Completed TLS handshakes, full + resumed. */
  handshakes: number;
  /** Handshakes that resumed a session (PSK / session ticket / session id). */
  resumed: number;
  /** Handshakes that did a full key exchange. */
  full: number;
  /** Completed TCP connects. */
  connects: number;
  /** Application (plaintext) bytes received. */
  bytesIn: number;
  /** Application (plaintext) bytes sent. */
  bytesOut: number;
  /** Completed request/response exchanges (ping-pong). */
  roundTrips: number;
  /** Attempts begun: handshakes started (connects posted), or pings sent. What an open loop offers. */
  started: number;
  /**
   * TLS record bytes (headers included) that the handshakes counted in `full` sent and received,
   * from this side, until each completed here (TlsSession.handshakeBytes): sums, so that a mean is
   * the sum over `full` (over `resumed` for the resumed pair). Optional, like `groups`: snapshots
   * made elsewhere (a merged document's, a test's) may not have them.
   */
  fullHandshakeSent?: number;
  fullHandshakeReceived?: number;
  resumedHandshakeSent?: number;
  resumedHandshakeReceived?: number;
  /** Failures by short reason ('refused', 'alert: handshake failure', 'timeout', ...). */
  errors: Record<string, number>;
  /**
   * Server: connections the client ended with a reset (RST) at a point where nothing was cut: the
   * handshake done and no request or echo in flight (bench's default `--close rst` ends every
   * connection so). Closes, not errors; counted so they stay visible. Absent when 0, and never
   * counted by a client, so client documents do not carry it.
   */
  closedByReset?: number;
  /** Handshakes by key exchange group ('X25519MLKEM768', 'P-256'...). A resumed TLS 1.2 handshake counts under its session's group; 'none': no (EC)DHE at all (RSA key exchange, TLS 1.3 psk_ke). */
  groups?: Record<string, number>;
  /** bench http: responses by status code ('200', '404'...), and the bytes of their heads and bodies (payload). Absent when none. */
  statuses?: Record<string, number>;
  headerBytes?: number;
  bodyBytes?: number;
}

const NUMERIC_FIELDS = [
  'handshakes',
  'resumed',
  'full',
  'connects',
  'bytesIn',
  'bytesOut',
  'roundTrips',
  'started',
  'fullHandshakeSent',
  'fullHandshakeReceived',
  'resumedHandshakeSent',
  'resumedHandshakeReceived',
] as const;

export function emptyCounters(): CounterSnapshot {
  return {
    handshakes: 0,
    resumed: 0,
    full: 0,
    connects: 0,
    bytesIn: 0,
    bytesOut: 0,
    roundTrips: 0,
    started: 0,
    fullHandshakeSent: 0,
    fullHandshakeReceived: 0,
    resumedHandshakeSent: 0,
    resumedHandshakeReceived: 0,
    errors: {},
    groups: {},
  };
}

/** What a completed handshake tells the counters beyond whether it resumed. */
export interface HandshakeFacts {
  /** TLS record bytes it sent and received (see TlsSession.handshakeBytes). */
  bytes?: { sent: number; received: number };
  /** Key exchange group, or undefined when there was none. */
  group?: string;
}

/** A worker's live counters. Fields are public so the hot path is a plain `c.handshakes++`. */
export class Counters implements CounterSnapshot {
  handshakes = 0;
  resumed = 0;
  full = 0;
  connects = 0;
  bytesIn = 0;
  bytesOut = 0;
  roundTrips = 0;
  started = 0;
  fullHandshakeSent = 0;
  fullHandshakeReceived = 0;
  resumedHandshakeSent = 0;
  resumedHandshakeReceived = 0;
  errors: Record<string, number> = {};
  groups: Record<string, number> = {};
  closedByReset = 0;
  statuses: Record<string, number> = {};
  headerBytes = 0;
  bodyBytes = 0;

  /** bench http: one response head with this status and head size. */
  response(status: number, headerBytes: number): void {
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    this.headerBytes += headerBytes;
  }

  /** Counts a handshake and whether it resumed, keeping handshakes = full + resumed; its bytes and group when given. */
  handshake(resumed: boolean, facts?: HandshakeFacts): void {
    this.handshakes++;
    if (resumed) this.resumed++;
    else this.full++;
    if (!facts) return;
    const b = facts.bytes;
    if (b) {
      if (resumed) {
        this.resumedHandshakeSent += b.sent;
        this.resumedHandshakeReceived += b.received;
      } else {
        this.fullHandshakeSent += b.sent;
        this.fullHandshakeReceived += b.received;
      }
    }
    const g = facts.group ?? 'none';
    this.groups[g] = (this.groups[g] ?? 0) + 1;
  }

  error(reason: string, n = 1): void {
    this.errors[reason] = (this.errors[reason] ?? 0) + n;
  }

  /** A copy of the current counts; the counters keep running. */
  snapshot(): CounterSnapshot {
    return {
      handshakes: this.handshakes,
      resumed: this.resumed,
      full: this.full,
      connects: this.connects,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      roundTrips: this.roundTrips,
      started: this.started,
      fullHandshakeSent: this.fullHandshakeSent,
      fullHandshakeReceived: this.fullHandshakeReceived,
      resumedHandshakeSent: this.resumedHandshakeSent,
      resumedHandshakeReceived: this.resumedHandshakeReceived,
      errors: { ...this.errors },
      groups: { ...this.groups },
      ...(this.closedByReset ? { closedByReset: this.closedByReset } : {}),
      ...(this.headerBytes || this.bodyBytes ? { statuses: { ...this.statuses }, headerBytes: this.headerBytes, bodyBytes: this.bodyBytes } : {}),
    };
  }

  reset(): void {
    for (const f of NUMERIC_FIELDS) this[f] = 0;
    this.closedByReset = 0;
    this.headerBytes = 0;
    this.bodyBytes = 0;
    this.statuses = {};
    // A fresh object, never clearing in place: a snapshot already handed out must not change.
    this.errors = {};
    this.groups = {};
  }

  /** snapshot() then reset(): the counts since the previous take. */
  take(): CounterSnapshot {
    const s = this.snapshot();
    this.reset();
    return s;
  }
}

/** Adds `from` into `into` (mutating `into`) and returns it. */
export function addCounters(into: CounterSnapshot, from: CounterSnapshot): CounterSnapshot {
  // `?? 0`: documents written before a field existed lack it.
  for (const f of NUMERIC_FIELDS) into[f] = (into[f] ?? 0) + (from[f] ?? 0);
  for (const [reason, n] of Object.entries(from.errors)) into.errors[reason] = (into.errors[reason] ?? 0) + n;
  if (from.closedByReset) into.closedByReset = (into.closedByReset ?? 0) + from.closedByReset;
  if (from.statuses || from.headerBytes || from.bodyBytes) {
    into.headerBytes = (into.headerBytes ?? 0) + (from.headerBytes ?? 0);
    into.bodyBytes = (into.bodyBytes ?? 0) + (from.bodyBytes ?? 0);
    into.statuses ??= {};
    for (const [code, n] of Object.entries(from.statuses ?? {})) into.statuses[code] = (into.statuses[code] ?? 0) + n;
  }
  // Snapshots from before groups were counted (an older worker's, a test's) have none.
  for (const [group, n] of Object.entries(from.groups ?? {})) {
    into.groups ??= {};
    into.groups[group] = (into.groups[group] ?? 0) + n;
  }
  return into;
}

/** The sum of several snapshots (e.g. one per worker), as a new snapshot. */
export function mergeCounters(list: readonly CounterSnapshot[]): CounterSnapshot {
  const sum = emptyCounters();
  for (const s of list) addCounters(sum, s);
  return sum;
}

export function totalErrors(s: CounterSnapshot): number {
  let n = 0;
  for (const v of Object.values(s.errors)) n += v;
  return n;
}
