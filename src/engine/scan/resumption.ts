// Session resumption, N of M as sslyze prints it: one full handshake (on the host's session probe
// thread, which keeps its sessions), then M attempts offering them, each its own request through
// the host's limiter. TLS 1.2 (session ID or ticket): all M at once, offering the same session.
// TLS 1.3: a ticket is for one use (RFC 8446 C.4), so each round offers as many unused tickets as
// there are (the full handshake leaves two with OpenSSL, a resumption one more), and an attempt
// offers the newest ticket again only when none is left unused. Then, when the tickets allow
// early data, one more attempt sends 0-RTT data.
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
  /** TLS 1.2 tickets: one the server issued (for Ticketbleed). */
  ticket?: Uint8Array;
  earlyData?: ResumptionDetail['earlyData'];
}

export async function resumptionCheck(h: ResumptionHost, mode: ResumptionMode, attempts = 5): Promise<ResumptionCheck> {
  const failed = (probe: string, e: Error) => {
    h.error({ probe, kind: 'timeout', message: e.message });
    return e.message;
  };
  let first: ResumptionResult;
  try {
    first = await h.limit(() => h.prober.request({ kind: 'resumption', servername: h.sni, mode }));
  } catch (e) {
    return { attempts: { issued: false, attempts: 0, resumed: 0, error: failed(`resumption ${mode}`, e as Error) } };
  }
  if (first.error) return { attempts: { issued: false, attempts: 0, resumed: 0, error: first.error } };
  if (!first.issued || first.key === undefined) return { attempts: { issued: false, attempts: 0, resumed: 0 } };
  const key = first.key;
  const resume = (earlyData?: boolean) =>
    h.limit(() => h.prober.request({ kind: 'resume', key, earlyData })).catch((e: Error): ResumeResult => ({ ok: false, resumed: false, error: failed(`resume ${mode}`, e) }));
  const results: ResumeResult[] = [];
  try {
    if (mode !== 'ticket-tls13') results.push(...(await Promise.all(Array.from({ length: attempts }, () => resume()))));
    else {
      let fresh = first.fresh ?? 1;
      while (results.length < attempts) {
        const round = await Promise.all(Array.from({ length: Math.max(1, Math.min(fresh, attempts - results.length)) }, () => resume()));
        results.push(...round);
        fresh = Math.min(...round.map((r) => r.fresh ?? 0));
      }
    }
    let earlyData: ResumptionDetail['earlyData'];
    if (mode === 'ticket-tls13') {
      if (!first.maxEarlyData) earlyData = { status: 'not-offered', maxEarlyData: first.maxEarlyData };
      else {
        const r = await resume(true);
        earlyData = { status: r.ok ? (r.earlyData ?? 'not-sent') : 'not-sent', maxEarlyData: first.maxEarlyData };
      }
    }
    const failures = [...new Set(results.filter((r) => !r.resumed).map((r) => (r.ok ? `full handshake${r.reused ? ' (ticket offered again)' : ''}` : r.error!)))];
    return {
      attempts: { issued: true, attempts: results.length, resumed: results.filter((r) => r.resumed).length, lifetimeHint: first.lifetimeHint, failures: failures.length ? failures : undefined },
      ticket: first.ticket,
      earlyData,
    };
  } finally {
    await h.prober.request({ kind: 'forget', key }).catch(() => undefined);
  }
}
