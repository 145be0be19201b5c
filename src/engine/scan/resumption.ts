// Session resumption, N of M as sslyze prints it: one full handshake (on the host's session probe
// thread, which keeps its sessions), then M attempts offering them, each its own request through
// the host's limiter. TLS 1.2 (session ID or ticket): all M at once, offering the same session.
// TLS 1.3: a ticket is for one use (RFC 8446 C.4), and a full handshake leaves a server's usual
// two, so enough full handshakes run at once for every attempt and the 0-RTT one to offer an
// unused ticket in one round (rounds of two, each waiting for the last one's new tickets, were a
// scan's longest chain of round trips); an attempt offers the newest ticket again only when none
// is left unused. When the tickets allow early data, one more attempt sends 0-RTT data.
import type { SessionProber } from '../workers/scan_session';
import type { ResumeResult, ResumptionResult } from './session_probes';
import type { ProbeError, ResumptionAttempts, ResumptionDetail } from './types';

export type ResumptionMode = 'session-id' | 'ticket-tls12' | 'ticket-tls13';

export interface ResumptionHost {
  sni?: string;
  limit<T>(fn: () => Promise<T>): Promise<T>;
  prober: SessionProber;
  error(e: ProbeError): void;
}

export interface ResumptionCheck {
  attempts: ResumptionAttempts;
  earlyData?: ResumptionDetail['earlyData'];
}

/** `onFirst`: called once the first full handshake has ended, with the TLS 1.2 ticket it brought (if any), before the attempts. */
export async function resumptionCheck(h: ResumptionHost, mode: ResumptionMode, attempts = 5, onFirst?: (ticket?: Uint8Array) => void): Promise<ResumptionCheck> {
  const failed = (probe: string, e: Error) => {
    h.error({ probe, kind: 'timeout', message: e.message });
    return e.message;
  };
  const tls13 = mode === 'ticket-tls13';
  const full = () => h.limit(() => h.prober.request({ kind: 'resumption', servername: h.sni, mode }));
  // The first full handshake decides; the others (TLS 1.3) only bring more tickets.
  const tries = await Promise.allSettled(Array.from({ length: tls13 ? Math.ceil((attempts + 1) / 2) : 1 }, full));
  // Every handshake whose sessions the thread keeps, the first first; all are forgotten at the end, whatever happens.
  const kept = tries.flatMap((r) => (r.status === 'fulfilled' && r.value.issued && r.value.key !== undefined ? [r.value] : []));
  const forgetAll = () => Promise.all(kept.map((k) => h.prober.request({ kind: 'forget', key: k.key! }).catch(() => undefined)));
  const firstTry = tries[0];
  onFirst?.(firstTry.status === 'fulfilled' && !firstTry.value.error && firstTry.value.issued ? firstTry.value.ticket : undefined);
  if (firstTry.status === 'rejected') {
    await forgetAll();
    return { attempts: { issued: false, attempts: 0, resumed: 0, error: failed(`resumption ${mode}`, firstTry.reason as Error) } };
  }
  const first = firstTry.value;
  if (first.error || !first.issued || first.key === undefined) {
    await forgetAll();
    return { attempts: first.error ? { issued: false, attempts: 0, resumed: 0, error: first.error } : { issued: false, attempts: 0, resumed: 0 } };
  }
  const resume = (key: number, earlyData?: boolean, waitTicket?: boolean) =>
    h.limit(() => h.prober.request({ kind: 'resume', key, earlyData, waitTicket })).catch((e: Error): ResumeResult => ({ ok: false, resumed: false, error: failed(`resume ${mode}`, e) }));
  const results: ResumeResult[] = [];
  try {
    let earlyLater: Promise<ResumeResult> | undefined;
    if (!tls13) results.push(...(await Promise.all(Array.from({ length: attempts }, () => resume(first.key!)))));
    else {
      // Unused tickets per kept handshake, as this side counts them (the thread picks the ticket).
      const fresh = new Map(kept.map((k) => [k.key!, k.fresh ?? 1]));
      while (results.length < attempts) {
        const picks: number[] = [];
        for (const [key, n] of fresh) for (let i = 0; i < n && picks.length < attempts - results.length; i++) picks.push(key);
        // Too few unused tickets for the attempts left: this round's resumptions wait for the tickets they bring.
        const waitTicket = picks.length < attempts - results.length;
        if (!picks.length) picks.push(first.key); // none left unused: the newest ticket again
        for (const key of picks) fresh.set(key, Math.max(0, fresh.get(key)! - 1));
        // A ticket to spare for the 0-RTT attempt: it goes in this round too.
        const spare = earlyLater || !first.maxEarlyData ? undefined : [...fresh].find(([, n]) => n > 0)?.[0];
        if (spare !== undefined) {
          fresh.set(spare, fresh.get(spare)! - 1);
          earlyLater = resume(spare, true);
        }
        const round = await Promise.all(picks.map((key) => resume(key, false, waitTicket)));
        results.push(...round);
        // The thread's count after each attempt (a resumption may bring a new ticket): the lowest per handshake.
        const after = new Map<number, number>();
        picks.forEach((key, i) => after.set(key, Math.min(after.get(key) ?? Infinity, round[i].fresh ?? 0)));
        for (const [key, n] of after) fresh.set(key, n);
      }
    }
    let earlyData: ResumptionDetail['earlyData'];
    if (tls13) {
      if (!first.maxEarlyData) earlyData = { status: 'not-offered', maxEarlyData: first.maxEarlyData };
      else {
        const r = await (earlyLater ?? resume(first.key, true));
        earlyData = { status: r.ok ? (r.earlyData ?? 'not-sent') : 'not-sent', maxEarlyData: first.maxEarlyData };
      }
    }
    const failures = [...new Set(results.filter((r) => !r.resumed).map((r) => (r.ok ? `full handshake${r.reused ? ' (ticket offered again)' : ''}` : r.error!)))];
    return {
      attempts: { issued: true, attempts: results.length, resumed: results.filter((r) => r.resumed).length, lifetimeHint: first.lifetimeHint, failures: failures.length ? failures : undefined },
      earlyData,
    };
  } finally {
    await forgetAll();
  }
}
