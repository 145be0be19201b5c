// The terminal rendering of the scan's full-handshake findings (resumption N of M, 0-RTT, served
// chains, OCSP, SCTs, TLS 1.3 signature algorithms, renegotiation, CCS injection, Ticketbleed,
// ROBOT, POODLE-TLS, LUCKY13). Called from scan.ts's host section with its mark().
import type { HostScan, ResumptionAttempts, ServedChain, VulnerabilityCheck } from '../engine/scan/types';
import type { Paint } from './ansi';

type Mark = (s: 'good' | 'info' | 'warn' | 'bad' | 'none') => string;

const REQUEST_LABEL: Record<ServedChain['request'], string> = {
  default: 'default',
  'no-sni': 'no SNI',
  ecdsa: 'ECDSA sigalgs',
  rsa: 'RSA sigalgs',
  eddsa: 'EdDSA sigalgs',
  mldsa: 'ML-DSA sigalgs',
};

export function renderFullHandshake(h: Pick<HostScan, 'resumptionDetail' | 'chains' | 'ocsp' | 'scts' | 'signatureAlgorithms13' | 'renegotiation' | 'vulnerabilities'>, p: Paint, mark: Mark, out: string[]): void {
  const row = (sev: Parameters<Mark>[0], label: string, text: string) => out.push(`  ${mark(sev)} ${label.padEnd(28)}${text}`);
  const r = h.resumptionDetail;
  if (r && (r.sessionId || r.ticketTls12 || r.ticketTls13)) {
    out.push('');
    out.push(p.bold('Session resumption') + p.dim(' (full handshake, then attempts offering its session)'));
    const way = (label: string, a: ResumptionAttempts | undefined) => {
      if (!a) return;
      if (a.error) return row('none', label, p.dim(`not tested: ${a.error}`));
      if (!a.issued) return row('info', label, 'not issued');
      const text = `${a.resumed} of ${a.attempts} resumed${a.lifetimeHint !== undefined ? `, lifetime hint ${a.lifetimeHint} s` : ''}${a.failures?.length ? p.dim(` (${a.failures.join('; ')})`) : ''}`;
      row(a.resumed === a.attempts ? 'good' : a.resumed ? 'warn' : 'info', label, text);
    };
    way('session IDs (TLS 1.2)', r.sessionId);
    way('tickets (TLS 1.2)', r.ticketTls12);
    way('tickets (TLS 1.3)', r.ticketTls13);
    if (r.earlyData) row(r.earlyData.status === 'accepted' ? 'info' : 'none', '0-RTT early data', `${r.earlyData.status.replace('-', ' ')}${r.earlyData.maxEarlyData ? ` (max_early_data ${r.earlyData.maxEarlyData})` : ''}`);
  }
  if (h.chains?.length) {
    out.push('');
    out.push(p.bold('Served chains') + p.dim(' (OpenSSL handshakes: with and without SNI, per key type)'));
    for (const c of h.chains) {
      const label = REQUEST_LABEL[c.request];
      if (c.error) {
        row('none', label, p.dim(/^not tested/.test(c.error) ? c.error : `no chain (${c.error})`));
        continue;
      }
      if (c.request !== 'default' && c.sameAsDefault) {
        row('none', label, `the default leaf${c.signature ? p.dim(` (${c.protocol}, ${c.signature})`) : ''}`);
        continue;
      }
      const certs = (c.certificates ?? []).map((x) => `${x.subject}${x.keyType ? ` [${x.keyType}]` : ''}`);
      const sev = c.ordered === false || c.complete === false ? 'warn' : 'good';
      const shape = [c.ordered === false ? 'out of order' : 'ordered', c.complete === false ? 'incomplete' : 'complete', ...(c.anchorSent ? ['root sent'] : [])].join(', ');
      row(sev, label, `${p.cyan(certs[0] ?? '?')}${p.dim(` (${c.protocol}, ${c.signature ?? '?'}; ${certs.length} cert${certs.length === 1 ? '' : 's'}, ${shape})`)}`);
      for (const x of certs.slice(1)) out.push(`  ${' '.repeat(4)} ${' '.repeat(28)}${p.dim('<- ')}${x}`);
    }
    if (h.ocsp) row(h.ocsp.stapled ? (h.ocsp.responseStatus === 'successful' ? 'good' : 'warn') : 'none', 'OCSP staple', h.ocsp.stapled ? `${h.ocsp.responseStatus}, ${h.ocsp.bytes} bytes (${h.ocsp.protocol})` : 'none');
    if (h.scts) row('none', 'SCTs', h.scts.count ? `${h.scts.count} (${h.scts.sources.join(', ')})` : 'none');
  }
  const s13 = h.signatureAlgorithms13;
  if (s13) {
    out.push('');
    out.push(`${p.bold('Signature algorithms, TLS 1.3')}  ${p.dim('(each offered alone)')}`);
    out.push(`  ${s13.algorithms.length ? s13.algorithms.join(', ') : 'none'}`);
    if (s13.untested?.length) out.push(p.dim(`  not tested (unknown to this OpenSSL): ${s13.untested.join(', ')}`));
  }
  const v = h.vulnerabilities;
  if (h.renegotiation || v) {
    out.push('');
    out.push(p.bold('Vulnerabilities') + p.dim(' (probed: sent and observed; inferred: from other findings)'));
    const rn = h.renegotiation;
    if (rn) row(rn.clientInitiated === 'accepted' ? 'warn' : rn.clientInitiated === 'refused' ? 'good' : 'none', 'client renegotiation', `${rn.clientInitiated}${rn.detail && rn.clientInitiated !== 'accepted' ? p.dim(` (${rn.detail})`) : ''}${p.dim(' CVE-2011-1473')}`);
    const check = (label: string, c: VulnerabilityCheck) => {
      const sev = c.status === 'vulnerable' ? 'bad' : c.status === 'not-vulnerable' ? 'good' : c.status === 'potentially-vulnerable' ? 'info' : 'none';
      row(sev, label, `${c.status === 'vulnerable' ? 'VULNERABLE' : c.status.replace(/-/g, ' ')}, ${c.method}${p.dim(` ${c.cve.join(', ')}`)}`);
      if (c.detail && c.status !== 'not-vulnerable') out.push(`  ${' '.repeat(4)} ${' '.repeat(28)}${p.dim(c.detail)}`);
    };
    if (v) {
      check('CCS injection', v.ccsInjection);
      check('Ticketbleed', v.ticketbleed);
      check('ROBOT', v.robot);
      check('POODLE over TLS', v.poodleTls);
      check('LUCKY13', v.lucky13);
    }
  }
}
