// The client's side of the bill, and the one-line warning when the client — not the server —
// was the bottleneck (wrk2 warns when it could not keep its rate). A load generator whose loop
// never waits is measuring itself: its queueing ends up in the latencies and caps the rates.
import type { ResultKind } from './result_kind';

/** What the bench workers measured about themselves over the window. */
export interface ClientInput {
  workers: number;
  cpuUs?: { user: number; system: number };
  busyMs: number;
  waitMs: number;
  dispatched: number;
  queuedMs: number;
  /** busyMs / (busyMs + waitMs). */
  busy: number;
}

export interface ClientReport {
  workers: number;
  /** Share of the window the client loops were busy (not waiting for completions), %. */
  busyPct: number;
  /** Client worker threads' CPU time over the window, µs (absent where the platform cannot tell). */
  cpuUs?: { user: number; system: number };
  /** (user + system) CPU µs per operation of the kind's unit. */
  cpuUsPerOp?: number;
  opUnit: 'handshake' | 'round trip' | 'MiB' | 'connection' | 'request';
  /** Mean time a completion waited behind earlier ones of its batch before being handled, µs. */
  queueDelayMeanUs: number;
  /** Open loop: p99 of how late starts were. */
  lagP99Us?: number;
  /** The client loop had no slack: it, not the server, set the pace (see `warning`). */
  saturated: boolean;
  /** Open loop: starts were late beyond LAG_LIMIT_US at p99 (see `warning`). */
  lateStarts: boolean;
  warning?: string;
}

/** Above this share of busy time the client loop had no slack: it, not the server, set the pace. */
export const BUSY_LIMIT = 0.9;
/** Open loop: starts later than this at p99 mean the schedule was not kept. */
export const LAG_LIMIT_US = 1000;

const OP_UNIT: Record<ResultKind, ClientReport['opUnit']> = { handshake: 'handshake', pingpong: 'round trip', throughput: 'MiB', connections: 'connection', http: 'request' };

/** The counts an operation is made of (a result's totals). */
export interface OpCounts {
  handshakes: number;
  roundTrips: number;
  bytesIn: number;
  bytesOut: number;
}

export function clientReport(kind: ResultKind, c: ClientInput, totals: OpCounts, latency: { scheduleLag?: { p99: number } }): ClientReport {
  const ops =
    kind === 'handshake' || kind === 'connections'
      ? totals.handshakes
      : kind === 'pingpong' || kind === 'http'
        ? totals.roundTrips
        : (totals.bytesIn + totals.bytesOut) / 2 ** 20;
  const cpu = c.cpuUs ? c.cpuUs.user + c.cpuUs.system : undefined;
  const report: ClientReport = {
    workers: c.workers,
    busyPct: round1(c.busy * 100),
    cpuUs: c.cpuUs ? { user: Math.round(c.cpuUs.user), system: Math.round(c.cpuUs.system) } : undefined,
    cpuUsPerOp: cpu !== undefined && ops > 0 ? round1(cpu / ops) : undefined,
    opUnit: OP_UNIT[kind],
    queueDelayMeanUs: c.dispatched > 0 ? round1((c.queuedMs * 1000) / c.dispatched) : 0,
    lagP99Us: latency.scheduleLag?.p99,
    saturated: c.busy >= BUSY_LIMIT,
    lateStarts: false,
  };
  report.lateStarts = report.lagP99Us !== undefined && report.lagP99Us > LAG_LIMIT_US;
  const lag = report.lagP99Us !== undefined ? `starts late by up to ${(report.lagP99Us / 1000).toFixed(1)} ms (p99)` : '';
  if (report.saturated) {
    report.warning =
      `the client was the bottleneck (its loop was busy ${report.busyPct.toFixed(0)}% of the time${report.lateStarts ? `, ${lag}` : ''}): ` +
      `rates and latencies include its own queueing; add client workers (-w), lower -c/--rate, or spread the load over more machines`;
  } else if (report.lateStarts) {
    // Late while mostly idle: the machine woke the client late (timer slack, a busy or virtual CPU).
    report.warning =
      `${lag} while the client loop was busy only ${report.busyPct.toFixed(0)}%: the machine woke it late; ` +
      `the corrected latency includes that lag, the uncorrected one does not`;
  }
  return report;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
