// Turns OpenSSL's thread-local error queue into TlsErrors with OpenSSL's own reason strings.
import { OpenSSL } from '../../../native/openssl';
import { TlsError } from '../errors';

// The reason OpenSSL gives a received alert: 'sslv3 alert handshake failure' up to 3.4, 'ssl/tls
// alert handshake failure' from 3.5, 'tlsv1 alert ...' and 'tlsv13 alert ...' in both. The prefix
// is history, not the protocol version in use: reports say 'peer sent alert handshake failure'
// whatever the release (sslReason keeps OpenSSL's own words).
const ALERT_REASON = /^(?:sslv3|tlsv1|tlsv13|ssl\/tls) alert (.+)$/;

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
  const alert = alertFromReason(reason);
  return new TlsError(`${context}: ${alert ? `peer sent alert ${alert}` : reason}`, reason, alert);
}
