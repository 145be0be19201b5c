// Turns OpenSSL's thread-local error queue into TlsErrors with OpenSSL's own reason strings.
import { OpenSSL } from '../../../native/openssl';
import { TlsError } from '../errors';

const ALERT_REASON = /^(?:sslv3|tlsv1|tlsv13) alert (.+)$/;

/** Empties the error queue; returns the reason strings, oldest first. */
export function drainErrorQueue(ssl: OpenSSL): string[] {
  const reasons: string[] = [];
  for (;;) {
    const e = ssl.ERR_get_error();
    if (!e) break;
    reasons.push(ssl.ERR_reason_error_string(e) ?? `error:${e.toString(16)}`);
  }
  return reasons;
}

/** The alert named by a reason like 'tlsv1 alert protocol version' ('protocol version'). */
export function alertFromReason(reason: string): string | undefined {
  const m = ALERT_REASON.exec(reason);
  return m ? m[1] : undefined;
}

export function tlsErrorFromQueue(ssl: OpenSSL, context: string, fallback: string): TlsError {
  const reasons = drainErrorQueue(ssl);
  const reason = reasons.find((r) => ALERT_REASON.test(r)) ?? reasons[0] ?? fallback;
  return new TlsError(`${context}: ${reason}`, reason, alertFromReason(reason));
}
