// Per-connection OpenSSL knobs and readouts that only the scan's full-handshake probes need
// (src/engine/scan/session_probes.ts): which signature algorithms a client offers, asking for an
// OCSP staple and for SCTs, and what a saved session says about its ticket. Kept apart from
// session.ts, whose surface is the hot path of every command.
import { nativeMemory } from '../../../native/memory';
import * as o from '../../../native/openssl';
import { drainErrorQueue } from './openssl_errors';
import type { SavedSession } from './saved_session';
import type { TlsContext } from './context';
import type { TlsSession } from './session';

/** Client: offer only these signature algorithms (OpenSSL's names, colon-separated). False if this OpenSSL knows none of them. */
export function setClientSigalgs(t: TlsSession, list: string): boolean {
  const s = o.openssl();
  if (Number(s.SSL_ctrl_str(t.ssl, o.SSL_CTRL_SET_SIGALGS_LIST, 0, list)) === 1) return true;
  drainErrorQueue(s);
  return false;
}

const known = new Map<string, boolean>();

/** Whether this OpenSSL knows one of these signature algorithms at all (asked once per list, on a throwaway SSL: no connection). */
export function knowsSigalgs(ctx: TlsContext, list: string): boolean {
  let k = known.get(list);
  if (k === undefined) {
    const s = o.openssl();
    const ssl = s.SSL_new(ctx.ctx);
    k = !!ssl && Number(s.SSL_ctrl_str(ssl, o.SSL_CTRL_SET_SIGALGS_LIST, 0, list)) === 1;
    if (ssl) s.SSL_free(ssl);
    drainErrorQueue(s);
    known.set(list, k);
  }
  return k;
}

/** Client: ask for an OCSP staple (status_request). */
export function requestOcspStaple(t: TlsSession): void {
  o.openssl().SSL_ctrl(t.ssl, o.SSL_CTRL_SET_TLSEXT_STATUS_REQ_TYPE, o.TLSEXT_STATUSTYPE_ocsp, null);
}

/** Client: ask for SCTs (signed_certificate_timestamp), never failing the handshake over them. False when this libssl has no CT. */
export function requestScts(t: TlsSession): boolean {
  const s = o.openssl();
  if (!s.SSL_enable_ct) return false;
  if (s.SSL_enable_ct(t.ssl, o.SSL_CT_VALIDATION_PERMISSIVE) === 1) return true;
  drainErrorQueue(s);
  return false;
}

/** After the handshake: the stapled OCSP response (DER), if the server sent one. */
export function stapledOcsp(t: TlsSession): Buffer | undefined {
  const out = new BigUint64Array(1);
  const len = Number(o.openssl().SSL_ctrl(t.ssl, o.SSL_CTRL_GET_TLSEXT_STATUS_REQ_OCSP_RESP, 0, out));
  if (len <= 0 || !out[0]) return undefined;
  return Buffer.from(new Uint8Array(nativeMemory(out[0], len)));
}

export type SctSource = 'certificate' | 'tls-extension' | 'ocsp' | 'unknown';

/** After the handshake: where each SCT OpenSSL collected came from (embedded, TLS extension, OCSP staple). */
export function peerSctSources(t: TlsSession): SctSource[] | undefined {
  const s = o.openssl();
  if (!s.SSL_get0_peer_scts || !s.SCT_get_source) return undefined;
  const stack = s.SSL_get0_peer_scts(t.ssl);
  if (!stack) return [];
  const out: SctSource[] = [];
  for (let i = 0; i < s.OPENSSL_sk_num(stack); i++) {
    const src = s.SCT_get_source(s.OPENSSL_sk_value(stack, i));
    out.push(src === o.SCT_SOURCE_X509V3_EXTENSION ? 'certificate' : src === o.SCT_SOURCE_OCSP_STAPLED_RESPONSE ? 'ocsp' : src === o.SCT_SOURCE_TLS_EXTENSION ? 'tls-extension' : 'unknown');
  }
  drainErrorQueue(s);
  return out;
}

/** What a saved session says about its ticket: lifetime hint (seconds), max_early_data, and the ticket's bytes. */
export function ticketInfo(sess: SavedSession): { lifetimeHint?: number; maxEarlyData?: number; ticket?: Buffer } {
  const s = o.openssl();
  const out: { lifetimeHint?: number; maxEarlyData?: number; ticket?: Buffer } = {};
  if (s.SSL_SESSION_get_ticket_lifetime_hint) out.lifetimeHint = Number(s.SSL_SESSION_get_ticket_lifetime_hint(sess.ptr));
  if (s.SSL_SESSION_get_max_early_data) out.maxEarlyData = Number(s.SSL_SESSION_get_max_early_data(sess.ptr));
  if (s.SSL_SESSION_get0_ticket) {
    const p = new BigUint64Array(1);
    const len = new BigUint64Array(1);
    s.SSL_SESSION_get0_ticket(sess.ptr, p, len);
    if (p[0] && len[0] > 0n) out.ticket = Buffer.from(new Uint8Array(nativeMemory(p[0], Number(len[0]))));
  }
  return out;
}
