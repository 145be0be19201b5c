// Weaknesses and good practice that follow from what the probes saw, with the CVEs they are
// known by. Only what the probes actually showed: nothing here is inferred from a banner.
import { fullHandshakeFindings } from './full_handshake_findings';
import type { Finding, HostScan } from './types';

/**
 * The findings a quick scan (--quick) can raise, each from the same probe as in a full scan, so
 * the two agree on them; every other finding needs the suites, groups, tolerance, resumption or
 * full-handshake probes a quick scan leaves out, and is not evaluated.
 */
export const QUICK_FINDINGS = [
  'sslv2',
  'sslv3',
  'tls10',
  'tls11',
  'no-tls',
  'tls13',
  'no-tls13',
  'pq',
  'no-pq',
  'insecure-renegotiation',
  'crime',
  'heartbleed',
  'heartbeat',
  'no-ems',
  'no-fallback-scsv',
  'fallback-scsv',
  'no-downgrade-sentinel',
  'cert-untrusted',
  'cert-trusted',
  'cert-expired',
  'cert-expiring',
  'cert-weak-key',
  'cert-weak-signature',
  'cert-unparsable',
];

export function findingsFor(h: HostScan): Finding[] {
  const out: Finding[] = [];
  const on = (v: string) => h.protocols.some((p) => p.version === v && p.offered);
  const suites = h.ciphers.flatMap((c) => c.suites.map((s) => ({ ...s, version: c.version })));
  const withFlag = (f: string) => [...new Set(suites.filter((s) => s.flags.includes(f)).map((s) => s.iana))];

  if (on('SSLv2')) out.push({ id: 'sslv2', severity: 'bad', title: 'SSL 2.0 offered (DROWN)', cve: ['CVE-2016-0800'] });
  if (on('SSLv3')) out.push({ id: 'sslv3', severity: 'bad', title: 'SSL 3.0 offered (POODLE)', cve: ['CVE-2014-3566'] });
  if (on('TLSv1')) {
    // TLS 1.0 has no AEAD suites: any but RC4 and NULL is CBC. The protocol probe's pick settles it
    // when it is CBC (a quick scan has no suite list); the suite list when there is one.
    const pick10 = h.protocols.find((p) => p.version === 'TLSv1')?.suite;
    const cbc10 =
      h.ciphers.find((c) => c.version === 'TLSv1')?.suites.some((s) => s.flags.includes('cbc')) || (pick10 !== undefined && /_CBC_/.test(pick10));
    out.push({ id: 'tls10', severity: 'warn', title: `TLS 1.0 offered (deprecated by RFC 8996)${cbc10 ? '; CBC suites in TLS 1.0 (BEAST)' : ''}`, cve: cbc10 ? ['CVE-2011-3389'] : undefined });
  }
  if (on('TLSv1.1')) out.push({ id: 'tls11', severity: 'warn', title: 'TLS 1.1 offered (deprecated by RFC 8996)' });
  if (!h.protocols.some((p) => p.offered) && h.protocols.length) {
    const why = [...new Set(h.protocols.map((p) => p.outcome))].join(', ');
    out.push({ id: 'no-tls', severity: 'bad', title: `no SSL/TLS version offered (probes ended: ${why})` });
  }
  if (on('TLSv1.3')) out.push({ id: 'tls13', severity: 'good', title: 'TLS 1.3 offered' });
  else if (h.protocols.some((p) => p.offered)) out.push({ id: 'no-tls13', severity: 'warn', title: 'TLS 1.3 not offered' });

  const list = (names: string[]) => (names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', '));
  const exp = withFlag('export');
  if (exp.length) {
    const cve = [];
    if (exp.some((n) => n.startsWith('TLS_RSA_EXPORT'))) cve.push('CVE-2015-0204');
    if (exp.some((n) => /_DHE?_.*EXPORT/.test(n))) cve.push('CVE-2015-4000');
    out.push({ id: 'export', severity: 'bad', title: `export suites (FREAK/Logjam): ${list(exp)}`, cve });
  }
  const rc4 = withFlag('rc4');
  if (rc4.length) out.push({ id: 'rc4', severity: 'bad', title: `RC4 suites: ${list(rc4)}`, cve: ['CVE-2013-2566', 'CVE-2015-2808'] });
  const des3 = withFlag('3des');
  const des = withFlag('des');
  if (des3.length || des.length) out.push({ id: 'sweet32', severity: 'warn', title: `64-bit block ciphers (SWEET32): ${list([...des3, ...des])}`, cve: ['CVE-2016-2183'] });
  const nul = withFlag('null');
  if (nul.length) out.push({ id: 'null', severity: 'bad', title: `NULL (unencrypted) suites: ${list(nul)}` });
  const anon = withFlag('anon');
  if (anon.length) out.push({ id: 'anon', severity: 'bad', title: `anonymous (unauthenticated) suites: ${list(anon)}` });
  const weakDh = suites.filter((s) => s.dhBits !== undefined && s.dhBits < 2048);
  if (weakDh.length) {
    const bits = Math.min(...weakDh.map((s) => s.dhBits!));
    out.push({ id: 'weak-dh', severity: bits <= 1024 ? 'bad' : 'warn', title: `DHE with a ${bits}-bit prime (Logjam)`, cve: ['CVE-2015-4000'] });
  }
  for (const c of h.ciphers) {
    if (c.version === 'TLSv1.3' || !c.suites.length) continue;
    if (c.order === 'client') out.push({ id: `client-order-${c.version}`, severity: 'warn', title: `${c.version}: the client's cipher order is honoured` });
    if (!c.suites[0].flags.includes('pfs')) out.push({ id: `no-pfs-${c.version}`, severity: 'warn', title: `${c.version}: preferred suite has no forward secrecy (${c.suites[0].iana})` });
  }
  const pq = h.postQuantumGroups ?? h.groups.find((g) => g.version === 'TLSv1.3')?.groups.filter((g) => g.pq) ?? [];
  if (pq.length) out.push({ id: 'pq', severity: 'good', title: `post-quantum key exchange: ${pq.map((g) => g.name).join(', ')}` });
  else if (on('TLSv1.3')) out.push({ id: 'no-pq', severity: 'info', title: 'no post-quantum hybrid key exchange' });

  const weakSig = h.signatureAlgorithms?.algorithms.filter((a) => /sha1$|sha224$/.test(a.name)) ?? [];
  if (weakSig.length) out.push({ id: 'weak-sigalg', severity: 'warn', title: `TLS 1.2 signatures with ${weakSig.map((a) => a.name).join(', ')}` });
  const f = h.features;
  if (f) {
    if (f.secureRenegotiation === 'no') out.push({ id: 'insecure-renegotiation', severity: 'bad', title: 'no secure renegotiation (RFC 5746)', cve: ['CVE-2009-3555'] });
    if (f.compression === 'deflate') out.push({ id: 'crime', severity: 'bad', title: 'TLS compression (CRIME)', cve: ['CVE-2012-4929'] });
    if (f.heartbleed === 'yes') out.push({ id: 'heartbleed', severity: 'bad', title: 'Heartbleed: a heartbeat request claiming more than it carries was answered', cve: ['CVE-2014-0160'] });
    else if (f.heartbeat === 'yes') out.push({ id: 'heartbeat', severity: 'info', title: 'heartbeat extension enabled (not vulnerable to Heartbleed)' });
    if (f.extendedMasterSecret === 'no') out.push({ id: 'no-ems', severity: 'warn', title: 'no extended master secret (triple handshake)', cve: ['CVE-2014-1295'] });
    if (f.fallbackScsv === 'no') out.push({ id: 'no-fallback-scsv', severity: 'warn', title: 'TLS_FALLBACK_SCSV not honoured (downgrade)' });
    if (f.fallbackScsv === 'yes') out.push({ id: 'fallback-scsv', severity: 'good', title: 'TLS_FALLBACK_SCSV honoured' });
    if (f.downgradeSentinel === 'no') out.push({ id: 'no-downgrade-sentinel', severity: 'warn', title: 'TLS 1.3 server without the downgrade sentinel at TLS 1.2' });
  }
  const t = h.tolerance;
  if (t?.grease === 'no') out.push({ id: 'grease-intolerant', severity: 'warn', title: 'a ClientHello with GREASE values (RFC 8701) is refused' });
  if (t?.version13InLegacyField === 'no') out.push({ id: 'version-intolerant', severity: 'warn', title: 'a ClientHello with legacy_version 0x0304 is refused (version intolerance)' });
  if (t?.futureVersion === 'no') out.push({ id: 'future-version-intolerant', severity: 'warn', title: 'an unknown version in supported_versions is refused' });
  if (h.resumption && !h.resumption.resumed) out.push({ id: 'no-resumption', severity: 'info', title: `no session resumption (${h.resumption.protocol})` });
  const c = h.certificate;
  if (c?.verify && !c.verify.ok) out.push({ id: 'cert-untrusted', severity: 'bad', title: `certificate not verified: ${c.verify.message}` });
  if (c?.verify?.ok) out.push({ id: 'cert-trusted', severity: 'good', title: `certificate verified for ${c.verify.hostname}` });
  out.push(...fullHandshakeFindings(h));
  return out;
}
