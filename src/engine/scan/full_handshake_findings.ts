// Findings from the full-handshake probes (full_handshake.ts), each with its CVE where it has one.
import type { Finding, HostScan, ResumptionAttempts, VulnerabilityCheck } from './types';

export function fullHandshakeFindings(h: HostScan): Finding[] {
  const out: Finding[] = [];
  const v = h.vulnerabilities;
  if (v) {
    const vuln = (c: VulnerabilityCheck, id: string, name: string) => {
      // The why is in the check's detail (the document, the report's Vulnerabilities section).
      if (c.status === 'vulnerable') out.push({ id, severity: 'bad', title: `${name}: VULNERABLE`, cve: c.cve });
      else if (c.status === 'potentially-vulnerable') out.push({ id, severity: 'info', title: `${name}: potentially vulnerable (${c.method})`, cve: c.cve });
      else if (c.status === 'not-tested') out.push({ id, severity: 'info', title: `${name}: not tested`, cve: c.cve });
      else if (c.status === 'unknown') out.push({ id, severity: 'info', title: `${name}: no verdict (the server's answers fit neither)`, cve: c.cve });
    };
    vuln(v.ccsInjection, 'ccs-injection', 'CCS injection');
    vuln(v.ticketbleed, 'ticketbleed', 'Ticketbleed');
    vuln(v.robot, 'robot', 'ROBOT');
    vuln(v.poodleTls, 'poodle-tls', 'POODLE over TLS');
    vuln(v.lucky13, 'lucky13', 'LUCKY13');
  }
  if (h.renegotiation?.clientInitiated === 'accepted')
    out.push({ id: 'client-renegotiation', severity: 'warn', title: 'client-initiated renegotiation accepted (DoS: a full handshake per request, on one connection)', cve: ['CVE-2011-1473'] });
  const r = h.resumptionDetail;
  if (r) {
    const ways = [r.sessionId, r.ticketTls12, r.ticketTls13].filter((x): x is ResumptionAttempts => !!x);
    const partial = ways.filter((w) => w.issued && w.attempts && w.resumed < w.attempts);
    if (partial.length) out.push({ id: 'resumption-partial', severity: 'info', title: `session resumption only partly works (${partial.map((w) => `${w.resumed} of ${w.attempts}`).join(', ')})` });
    if (r.earlyData?.status === 'accepted') out.push({ id: 'early-data', severity: 'info', title: 'TLS 1.3 0-RTT early data accepted (replayable: the application must only take idempotent requests in it)' });
  }
  for (const c of h.chains ?? []) {
    if (c.error || !c.certificates) continue;
    const which = c.request === 'default' ? 'the certificate chain' : `the chain for ${c.request === 'no-sni' ? 'no SNI' : `${c.request.toUpperCase()} signatures`}`;
    if (c.request !== 'default' && c.sameAsDefault) continue;
    if (c.ordered === false) out.push({ id: `chain-order-${c.request}`, severity: 'warn', title: `${which} is out of order (a certificate is not issued by the next)` });
    if (c.complete === false) out.push({ id: `chain-incomplete-${c.request}`, severity: 'warn', title: `${which} is incomplete (no certificate is issued by a known root)` });
  }
  if (h.ocsp?.stapled && h.ocsp.responseStatus !== 'successful')
    out.push({ id: 'ocsp-staple-unsuccessful', severity: 'warn', title: `the stapled OCSP response says ${h.ocsp.responseStatus}` });
  if (h.ocsp?.stapled && h.ocsp.responseStatus === 'successful') out.push({ id: 'ocsp-stapled', severity: 'good', title: `OCSP response stapled (${h.ocsp.protocol})` });
  return out;
}
