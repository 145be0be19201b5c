// One scan probe on the network: connect, send our ClientHello bytes, read the server's answer
// through the wire/ reader until it has said what we need, close. Outcomes are data, never throws.
//
// LAYERING EXCEPTION (first slice of issue 23): this uses a plain node:net socket per probe, not
// the engine's Loop/port. The Loop's connections are built around an OpenSSL session (every
// Connection owns a TlsSession and drives it on receive); a raw-bytes client would need a
// session-less connection kind in loop.ts. Until that exists, probes that speak only our own wire
// codec go through libuv, which costs nothing measurable at scan rates (tens of connections).
import net from 'node:net';
import { WireError } from '../wire/errors';
import { ServerEvent, ServerReader } from '../wire/reader';

export type ProbeOutcomeKind = 'answer' | 'alert' | 'closed' | 'reset' | 'timeout' | 'refused' | 'unreachable' | 'malformed';

export interface ProbeOutcome {
  kind: ProbeOutcomeKind;
  /** Everything the reader produced (also for an alert). */
  events: ServerEvent[];
  /** The alert's name, for kind 'alert'. */
  alert?: string;
  error?: string;
  /** Attempts made (2 when the first timed out or was reset and was retried). */
  attempts: number;
  ms: number;
  /** With afterServerHelloDone: the content type of the first record the server sent after it. */
  afterType?: number;
}

export interface ExchangeOptions {
  host: string;
  port: number;
  timeoutMs: number;
  /** Stop as soon as a ServerHello (or HRR) arrives, instead of reading up to ServerHelloDone. */
  stopAtServerHello?: boolean;
  /** Retries after a timeout or reset (default 1). */
  retries?: number;
  /**
   * Sent once the ServerHelloDone has arrived; then the probe waits for the server's next record
   * and reports its content type in `afterType` (or ends at a close or the timeout). The
   * Heartbleed check sends its heartbeat request here.
   */
  afterServerHelloDone?: Buffer;
}

function once(bytes: Buffer, o: ExchangeOptions): Promise<Omit<ProbeOutcome, 'attempts'>> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const reader = new ServerReader();
    const events: ServerEvent[] = [];
    let settled = false;
    const sock = net.connect({ host: o.host, port: o.port });
    const finish = (kind: ProbeOutcomeKind, extra: Partial<ProbeOutcome> = {}) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ kind, events, ms: performance.now() - t0, ...extra });
    };
    // After the extra flight, silence is an answer (the server ignored it), not a failed probe.
    const timer = setTimeout(() => (after ? finish('answer') : finish('timeout', { error: `no answer in ${o.timeoutMs} ms` })), o.timeoutMs);
    sock.setNoDelay(true);
    sock.on('connect', () => sock.write(bytes));
    let after = false;
    sock.on('data', (d: Buffer) => {
      if (after) return finish('answer', { afterType: d[0] });
      let got: ServerEvent[];
      try {
        got = reader.feed(d);
      } catch (e) {
        if (e instanceof WireError) return finish('malformed', { error: e.message });
        return finish('malformed', { error: String(e) });
      }
      events.push(...got);
      const alert = got.find((e) => e.type === 'alert');
      if (alert && alert.type === 'alert') return finish('alert', { alert: alert.name });
      if (reader.finished && o.afterServerHelloDone && got.some((e) => e.type === 'serverHelloDone')) {
        after = true;
        sock.write(o.afterServerHelloDone);
        return;
      }
      if (reader.finished) return finish('answer');
      if (o.stopAtServerHello && events.some((e) => e.type === 'serverHello' || e.type === 'ssl2ServerHello')) return finish('answer');
    });
    // A peer that closes in the middle of a record or message sent a truncated answer.
    const closed = () =>
      after ? finish('answer') : reader.buffered ? finish('malformed', { error: `connection closed with ${reader.buffered} bytes of an incomplete record` }) : finish(events.length ? 'answer' : 'closed');
    sock.on('end', closed);
    sock.on('close', closed);
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (events.length) return finish('answer');
      const code = e.code ?? '';
      if (code === 'ECONNRESET' || code === 'EPIPE') return finish('reset', { error: code });
      if (code === 'ECONNREFUSED') return finish('refused', { error: code });
      finish('unreachable', { error: code || e.message });
    });
  });
}

/** Runs the probe, retrying (once by default) when it timed out or was reset. */
export async function exchange(bytes: Buffer, o: ExchangeOptions): Promise<ProbeOutcome> {
  const retries = o.retries ?? 1;
  let r = await once(bytes, o);
  let attempts = 1;
  while ((r.kind === 'timeout' || r.kind === 'reset') && attempts <= retries) {
    r = await once(bytes, o);
    attempts++;
  }
  return { ...r, attempts };
}

/**
 * A counting semaphore: at most `n` probes of a host in flight. Waiters are served by priority
 * (lower first), then in order: a scan gives the probes of its elimination chains, whose length is
 * the scan's critical path, precedence over probes that can run at any time.
 */
export class Limiter {
  #active = 0;
  #queue: { priority: number; seq: number; go: () => void }[] = [];
  #seq = 0;
  constructor(private n: number) {}

  /** A larger cap: queued work starts at once in the new slots. */
  widen(n: number): void {
    this.n = Math.max(this.n, n);
    // Each started waiter counts itself active only when it resumes: count the slots handed out here.
    for (let free = this.n - this.#active; free > 0 && this.#queue.length; free--) this.#queue.shift()!.go();
  }

  async run<T>(fn: () => Promise<T>, priority = 0): Promise<T> {
    if (this.#active >= this.n) {
      await new Promise<void>((go) => {
        const w = { priority, seq: this.#seq++, go };
        // Insert in order (queues stay short: tens of probes).
        let i = this.#queue.length;
        while (i > 0 && this.#queue[i - 1].priority > priority) i--;
        this.#queue.splice(i, 0, w);
      });
    }
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#queue.shift()?.go();
    }
  }
}
