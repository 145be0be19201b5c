// Ticketbleed (CVE-2016-9244, F5 BIG-IP): offered a valid session ticket with a session ID
// shorter than 32 bytes, an affected server echoes 32 bytes of "session ID" — ours followed by
// bytes of its memory. As testssl.sh does: a ticket the server issued (from a real TLS 1.2
// handshake), a 16-byte session ID, and a look at the ServerHello's session ID.
import { Ext, VERSIONS, VersionName } from '../wire/constants';
import type { ServerHello } from '../wire/reader';
import type { VulnerabilityCheck } from './types';

export const TICKETBLEED_CVE = ['CVE-2016-9244'];
/** 16 bytes anyone can recognise in an echo (a server's own random ID starts with them with probability 2^-128). */
export const TICKETBLEED_SESSION_ID = Buffer.from('iocptls-tcktbld!', 'latin1');

export function ticketExtension(ticket: Buffer): { type: number; data: Buffer } {
  return { type: Ext.SessionTicket, data: ticket };
}

export function judgeTicketbleed(h: ServerHello | undefined, version: VersionName): VulnerabilityCheck {
  const base = { method: 'probed' as const, cve: TICKETBLEED_CVE };
  if (!h || h.version !== VERSIONS[version]) return { ...base, status: 'unknown', detail: 'no ServerHello to the ClientHello with the ticket' };
  const sid = h.sessionId;
  if (sid.length === 32 && sid.subarray(0, 16).equals(TICKETBLEED_SESSION_ID))
    return { ...base, status: 'vulnerable', detail: 'the server echoed our 16-byte session ID padded to 32 bytes with its memory' };
  if (sid.equals(TICKETBLEED_SESSION_ID)) return { ...base, status: 'not-vulnerable', detail: 'the ticket resumed and our 16-byte session ID was echoed as sent' };
  return { ...base, status: 'unknown', detail: 'the server did not resume with the ticket (it answered with a session ID of its own), so nothing was echoed' };
}
