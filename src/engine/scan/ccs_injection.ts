// CCS injection (CVE-2014-0224), the safe probe nmap's ssl-ccs-injection and testssl.sh make:
// after the server's first flight, a ChangeCipherSpec before any key exchange. A patched server
// refuses it at once with a fatal unexpected_message alert. An unpatched OpenSSL (< 0.9.8za,
// 1.0.0m, 1.0.1h) takes it and derives keys from an empty master secret: to a second CCS it then
// answers with another alert (bad_record_mac, decryption_failed), the sign nmap looks for.
import { ContentType, VERSIONS, VersionName } from '../wire/constants';
import { conversation, ConversationResult } from './past_hello';
import type { VulnerabilityCheck } from './types';

export const CCS_CVE = ['CVE-2014-0224'];

export function ccsRecord(version: VersionName): Buffer {
  const v = VERSIONS[version];
  return Buffer.from([ContentType.ChangeCipherSpec, v >> 8, v & 0xff, 0x00, 0x01, 0x01]);
}

export async function ccsInjectionProbe(o: { host: string; port: number; timeoutMs: number; hello: Buffer; version: VersionName }): Promise<{ check: VulnerabilityCheck; raw: ConversationResult }> {
  const ccs = ccsRecord(o.version);
  const raw = await conversation({ ...o, steps: [ccs, ccs], stepWaitMs: Math.min(o.timeoutMs, 1500) });
  return { check: judgeCcs(raw), raw };
}

/** The verdict from what the server did after each CCS (kept apart so tests can read it too). */
export function judgeCcs(r: ConversationResult): VulnerabilityCheck {
  const base = { method: 'probed' as const, cve: CCS_CVE };
  if (r.kind !== 'answer' || !r.replies.length) return { ...base, status: 'unknown', detail: `no first flight to answer (${r.kind}${r.error ? `: ${r.error}` : ''})` };
  const [first, second] = r.replies;
  const fatal = (x: typeof first) => x.alerts.find((a) => a.level === 2);
  const f1 = fatal(first);
  if (f1) return { ...base, status: 'not-vulnerable', detail: `the early ChangeCipherSpec got a fatal ${f1.name} alert` };
  if (first.closed) return { ...base, status: 'not-vulnerable', detail: 'the server closed the connection at the early ChangeCipherSpec' };
  if (!second) return { ...base, status: 'unknown', detail: 'no answer to the early ChangeCipherSpec' };
  const f2 = fatal(second) ?? second.alerts[0];
  if (f2?.name === 'unexpected_message') return { ...base, status: 'not-vulnerable', detail: 'a second ChangeCipherSpec got unexpected_message' };
  if (f2) return { ...base, status: 'vulnerable', detail: `the early ChangeCipherSpec was taken: the second one got ${f2.name}, not unexpected_message` };
  if (second.closed) return { ...base, status: 'unknown', detail: 'the server closed without an alert after the second ChangeCipherSpec' };
  return { ...base, status: 'unknown', detail: 'the server stayed silent after two early ChangeCipherSpecs (not OpenSSL\'s behaviour either way)' };
}
