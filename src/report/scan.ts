// The `scan` report: one JSON document (iocptls.scan/1, docs/scan-schema.md) and its terminal
// rendering, with sections per host and good/warn/bad marks that follow the findings.
import type { CertificateChain, Finding, HostScan, SuiteFinding } from '../engine/scan/types';
import { paint, Paint } from './ansi';
import { certificateFacts, CertificateFacts } from './connect';
import type { OpensslInfo, ToolInfo } from './facts';
import { renderFullHandshake } from './scan_full_handshake';

export type Severity = Finding['severity'];

export interface ScanCertificate extends Omit<CertificateChain, 'der' | 'keyTypes' | 'signatureAlgorithms' | 'variants'> {
  chain: CertificateFacts[];
  /** TLS <= 1.2: the leaf sent for ECDSA-only suites, RSA-only suites, no SNI; `same`: the leaf above. */
  variants?: { request: string; outcome: string; alert?: string; same?: boolean; leaf?: CertificateFacts }[];
}

export interface ScanHostDocument extends Omit<HostScan, 'certificate' | 'ciphers' | 'groups'> {
  /** Absent from a quick scan's host (not checked: see `quick.notChecked`). */
  ciphers?: (Omit<HostScan['ciphers'][number], 'suites'> & { suites: (SuiteFinding & { hex: string })[] })[];
  groups?: HostScan['groups'];
  certificate?: ScanCertificate;
}

export interface ScanDocument {
  schema: 'iocptls.scan/1';
  tool: ToolInfo;
  node: string;
  openssl: OpensslInfo;
  backend: string;
  options: { concurrency: number; timeoutMs: number; retries: number };
  startedAt: string;
  durationMs: number;
  hosts: ScanHostDocument[];
  summary: { hosts: number; scanned: number; failed: number; bad: number; warn: number };
  /** Present with --policy: the rules that failed (empty: passed). */
  policy?: { file: string; passed: boolean; violations: string[]; notEvaluated?: string[] };
}

export function buildScanDocument(a: {
  tool: ToolInfo;
  openssl: OpensslInfo;
  backend: string;
  options: ScanDocument['options'];
  startedAt: Date;
  durationMs: number;
  hosts: HostScan[];
  /** Host documents already built (--jsonl builds each as its host finishes): reused, not rebuilt. */
  built?: Map<HostScan, ScanHostDocument>;
}): ScanDocument {
  const hosts = a.hosts.map((h) => a.built?.get(h) ?? hostDocument(h));
  const count = (s: Severity) => hosts.reduce((n, h) => n + h.findings.filter((f) => f.severity === s).length, 0);
  return {
    schema: 'iocptls.scan/1',
    tool: a.tool,
    node: process.version,
    openssl: a.openssl,
    backend: a.backend,
    options: a.options,
    startedAt: a.startedAt.toISOString(),
    durationMs: round(a.durationMs),
    hosts,
    summary: {
      hosts: hosts.length,
      scanned: hosts.filter((h) => !h.error).length,
      failed: hosts.filter((h) => h.error).length,
      bad: count('bad'),
      warn: count('warn'),
    },
  };
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/**
 * certificateFacts, parsed once per certificate for a scan of many hosts: a fleet shares its
 * intermediates (and often its leaves, behind several ports or names), and parsing DER was the
 * largest cost of a host's document.
 */
const FACTS = new Map<string, CertificateFacts>();
function factsOf(der: Buffer, signatureAlgorithm?: string, keyType?: string): CertificateFacts {
  const key = `${signatureAlgorithm}\0${keyType}\0${der.toString('base64')}`;
  let f = FACTS.get(key);
  if (!f) {
    if (FACTS.size >= 1024) FACTS.clear();
    FACTS.set(key, (f = certificateFacts(der, signatureAlgorithm, keyType)));
  }
  return { ...f, subjectAltNames: [...f.subjectAltNames] };
}

function hostDocument(h: HostScan): ScanHostDocument {
  const findings = [...h.findings];
  let certificate: ScanCertificate | undefined;
  if (h.certificate) {
    const { der, keyTypes, signatureAlgorithms, variants, ...rest } = h.certificate;
    const chain: CertificateFacts[] = [];
    der.forEach((d, i) => {
      try {
        chain.push(factsOf(d, signatureAlgorithms?.[i], keyTypes?.[i]));
      } catch {
        // A certificate Node cannot parse is reported as such, not a crash.
        findings.push({ id: 'cert-unparsable', severity: 'bad', title: `certificate ${i} of the chain does not parse` });
      }
    });
    certificate = { ...rest, chain };
    if (variants) {
      certificate.variants = variants.map((v) => {
        if (!v.der?.length) return { request: v.request, outcome: v.outcome, alert: v.alert };
        const same = !!der[0] && v.der[0].equals(der[0]);
        let leaf: CertificateFacts | undefined;
        try {
          leaf = same ? undefined : certificateFacts(v.der[0]);
        } catch {
          leaf = undefined;
        }
        return { request: v.request, outcome: v.outcome, same, leaf };
      });
    }
    const leaf = chain[0];
    if (leaf) {
      if (leaf.daysLeft < 0) findings.push({ id: 'cert-expired', severity: 'bad', title: `certificate expired ${-leaf.daysLeft} days ago` });
      else if (leaf.daysLeft < 30) findings.push({ id: 'cert-expiring', severity: 'warn', title: `certificate expires in ${leaf.daysLeft} days` });
      if (leaf.keyType === 'RSA' && leaf.keyBits !== undefined && leaf.keyBits < 2048)
        findings.push({ id: 'cert-weak-key', severity: 'bad', title: `RSA key of ${leaf.keyBits} bits` });
      if (/sha1|md5/i.test(leaf.signatureAlgorithm ?? '')) findings.push({ id: 'cert-weak-signature', severity: 'bad', title: `certificate signed with ${leaf.signatureAlgorithm}` });
    }
  }
  const doc: ScanHostDocument = {
    ...h,
    ms: round(h.ms),
    ciphers: h.ciphers.map((c) => ({ ...c, suites: c.suites.map((s) => ({ ...s, hex: `0x${s.id.toString(16).padStart(4, '0')}` })) })),
    certificate,
    findings: sortFindings(findings),
  };
  // A quick scan did not enumerate suites or groups: absent, not empty (empty would read "none").
  if (h.quick) {
    delete doc.ciphers;
    delete doc.groups;
  }
  return doc;
}

const RANK: Record<Severity, number> = { bad: 0, warn: 1, info: 2, good: 3 };
function sortFindings(f: Finding[]): Finding[] {
  return [...f].sort((a, b) => RANK[a.severity] - RANK[b.severity]);
}

/** A suite's mark: bad for export/NULL/anon/RC4, warn for 64-bit blocks or no forward secrecy. */
export function suiteSeverity(s: SuiteFinding): Severity {
  if (['export', 'null', 'anon', 'rc4'].some((f) => s.flags.includes(f))) return 'bad';
  if (s.flags.includes('3des') || s.flags.includes('des') || !s.flags.includes('pfs')) return 'warn';
  if (s.dhBits !== undefined && s.dhBits < 2048) return 'warn';
  return 'good';
}

function mark(p: Paint, s: Severity | 'none'): string {
  switch (s) {
    case 'good':
      return p.green('ok  ');
    case 'warn':
      return p.yellow('warn');
    case 'bad':
      return p.red('BAD ');
    case 'info':
      return p.cyan('info');
    default:
      return p.dim('  - ');
  }
}

const PROTOCOL_LABEL: Record<string, string> = {
  SSLv2: 'SSL 2.0',
  SSLv3: 'SSL 3.0',
  TLSv1: 'TLS 1.0',
  'TLSv1.1': 'TLS 1.1',
  'TLSv1.2': 'TLS 1.2',
  'TLSv1.3': 'TLS 1.3',
};

export function renderScan(d: ScanDocument, color: boolean): string {
  const p = paint(color);
  const out: string[] = [];
  for (const h of d.hosts) {
    renderHost(h, p, out);
    out.push('');
  }
  const s = d.summary;
  out.push(
    p.bold('Summary') +
      `  ${s.scanned}/${s.hosts} hosts scanned` +
      (s.failed ? p.red(`, ${s.failed} failed`) : '') +
      `, ${s.bad ? p.red(`${s.bad} bad`) : '0 bad'}, ${s.warn ? p.yellow(`${s.warn} warning${s.warn === 1 ? '' : 's'}`) : '0 warnings'}` +
      p.dim(`  (${(d.durationMs / 1000).toFixed(2)} s)`)
  );
  out.push(p.dim(`  certificate handshake: ${d.openssl.version}, ${d.backend}`));
  if (d.policy) {
    out.push(`${p.bold('Policy')}  ${d.policy.file}: ${d.policy.passed ? p.green('passed') : p.red(`failed (${d.policy.violations.length})`)}`);
    for (const v of d.policy.violations) out.push(`  ${mark(p, 'bad')} ${v}`);
    for (const v of d.policy.notEvaluated ?? []) out.push(`  ${mark(p, 'info')} ${v}`);
  }
  return out.join('\n');
}

/** `items` comma-separated on lines of at most 78 columns (measured before colouring), indented by 2. */
function wrapList(items: string[], color: (s: string) => string, p: Paint): string[] {
  if (!items.length) return [`  ${p.dim('none')}`];
  const lines: string[] = [];
  let plain = '';
  let line = '';
  for (const [i, it] of items.entries()) {
    const piece = it + (i < items.length - 1 ? ',' : '');
    if (plain && plain.length + 1 + piece.length > 76) {
      lines.push(`  ${line}`);
      plain = '';
      line = '';
    }
    plain += (plain ? ' ' : '') + piece;
    line += (line ? ' ' : '') + color(it) + (i < items.length - 1 ? ',' : '');
  }
  lines.push(`  ${line}`);
  return lines;
}

function renderHost(h: ScanHostDocument, p: Paint, out: string[]): void {
  const t = h.target;
  const where = t.ip && t.ip !== t.host ? `${t.host}:${t.port} (${t.ip})` : `${t.host}:${t.port}`;
  out.push(p.bold(`Scan of ${where}`) + p.dim(`  ${(h.ms / 1000).toFixed(2)} s, ${h.probes.total} probes${t.servername ? `, SNI ${t.servername}` : ''}`));
  if (h.error) {
    out.push(`  ${mark(p, 'bad')} ${p.red(h.error)}`);
    return;
  }
  out.push('');
  out.push(p.bold('Protocols'));
  for (const pr of h.protocols) {
    const label = PROTOCOL_LABEL[pr.version].padEnd(9);
    let sev: Severity | 'none' = 'none';
    if (pr.offered) sev = pr.version === 'SSLv2' || pr.version === 'SSLv3' ? 'bad' : pr.version === 'TLSv1' || pr.version === 'TLSv1.1' ? 'warn' : 'good';
    else if (pr.version === 'TLSv1.3') sev = 'warn';
    out.push(`  ${mark(p, sev)} ${label}${pr.offered ? 'offered' : p.dim(`not offered (${pr.detail ?? pr.outcome})`)}`);
  }
  if (h.negotiated) renderNegotiated(h, p, out);
  for (const c of [...(h.ciphers ?? [])].reverse()) {
    out.push('');
    const order = c.order === 'server' ? "server's order" : c.order === 'client' ? p.yellow("client's order honoured") : c.order === 'single' ? 'one suite' : 'none';
    out.push(`${p.bold(`Cipher suites, ${PROTOCOL_LABEL[c.version]}`)}  ${p.dim('(')}${order}${p.dim(')')}`);
    const w = Math.max(...c.suites.map((s) => s.openssl.length), 10);
    for (const s of c.suites) {
      const kx = s.group ? ` ${s.group}` : s.dhBits ? ` DHE ${s.dhBits} bits` : '';
      out.push(`  ${mark(p, suiteSeverity(s))} ${s.openssl.padEnd(w)}  ${String(s.bits).padStart(3)} bits  ${p.dim(s.hex)}${kx}`);
    }
    if (c.error) out.push(`  ${mark(p, 'warn')} ${p.yellow(`incomplete: ${c.error}`)}`);
  }
  for (const g of h.groups ?? []) {
    out.push('');
    const order = g.order === 'server' ? "server's order" : g.order === 'client' ? "client's order" : g.order === 'single' ? 'one group' : 'none';
    out.push(`${p.bold(`Key exchange groups, ${PROTOCOL_LABEL[g.version]}`)}  ${p.dim(`(${order})`)}`);
    const pq = new Set(g.groups.filter((x) => x.pq).map((x) => x.name));
    out.push(...wrapList(g.groups.map((x) => x.name), (n) => (pq.has(n) ? p.green(n) : n), p));
    if (g.error) out.push(`  ${mark(p, 'warn')} ${p.yellow(`incomplete: ${g.error}`)}`);
    const k = h.keyShare;
    if (k && g.version === 'TLSv1.3') {
      const answer = k.answer === 'serverHello' ? `a ServerHello with ${k.group}` : `a HelloRetryRequest for ${k.group}`;
      out.push(p.dim(`  key shares for ${k.sent.join(' and ')} got ${answer}`));
    }
  }
  if (h.signatureAlgorithms) {
    const sa = h.signatureAlgorithms;
    out.push('');
    const order = sa.order === 'server' ? "server's order" : sa.order === 'client' ? "client's order" : sa.order === 'single' ? 'one' : 'none';
    out.push(`${p.bold('Signature algorithms, TLS 1.2')}  ${p.dim(`(${order}; ServerKeyExchange)`)}`);
    out.push(...wrapList(sa.algorithms.map((a) => a.name), (n) => (/sha1$|sha224$/.test(n) ? p.yellow(n) : n), p));
    if (sa.error) out.push(`  ${mark(p, 'warn')} ${p.yellow(`incomplete: ${sa.error}`)}`);
  }
  if (h.certificate) {
    const c = h.certificate;
    out.push('');
    out.push(p.bold('Certificate chain') + p.dim(` (${c.source === 'openssl' ? `OpenSSL handshake, ${c.protocol}` : 'plaintext TLS <= 1.2 Certificate'})`));
    c.chain.forEach((x, i) => {
      out.push(`  ${i} ${p.cyan(x.subject)}`);
      out.push(`    issuer ${x.issuer}`);
      out.push(`    key ${x.keyType}${x.curve ? ` ${x.curve}` : ''}${x.keyBits ? ` ${x.keyBits} bits` : ''}${x.signatureAlgorithm ? `, signed ${x.signatureAlgorithm}` : ''}`);
      const left = x.daysLeft < 0 ? p.red(`expired ${-x.daysLeft} days ago`) : x.daysLeft < 30 ? p.yellow(`${x.daysLeft} days left`) : `${x.daysLeft} days left`;
      out.push(`    valid ${x.validFrom.slice(0, 10)} to ${x.validTo.slice(0, 10)} (${left})`);
      if (i === 0 && x.subjectAltNames.length) out.push(`    SANs ${x.subjectAltNames.join(', ')}`);
    });
    const label: Record<string, string> = { 'ecdsa-suites': 'ECDSA suites', 'rsa-suites': 'RSA suites', 'no-sni': 'no SNI', 'unknown-sni': 'an unknown SNI' };
    for (const v of c.variants ?? []) {
      const what = !v.leaf && v.same === undefined ? p.dim(`no certificate (${v.alert ? `alert ${v.alert}` : v.outcome})`) : v.same ? 'the same leaf' : `${p.cyan(v.leaf!.subject)}, key ${v.leaf!.keyType}${v.leaf!.curve ? ` ${v.leaf!.curve}` : ''}${v.leaf!.keyBits ? ` ${v.leaf!.keyBits} bits` : ''}`;
      out.push(`  with ${label[v.request] ?? v.request}: ${what}`);
    }
    if (c.verify) {
      const v = c.verify;
      out.push(`  ${mark(p, v.ok ? 'good' : 'bad')} ${v.ok ? 'verified' : `not verified: ${v.message}`}${v.hostname ? ` for ${v.hostname}` : ''}${p.dim(v.trust ? ` (trust: ${v.trust})` : '')}`);
    }
  }
  if (h.alpn) {
    out.push('');
    out.push(`${p.bold('ALPN')}  ${h.alpn.supported.length ? h.alpn.supported.join(', ') : 'none'}${h.alpn.preferred ? p.dim(`  (picks ${h.alpn.preferred} from http/1.1, h2)`) : ''}`);
  }
  if (h.features) {
    const f = h.features;
    out.push('');
    out.push(p.bold('Features'));
    const yes = (v: string, goodWhen: 'yes' | 'no', label: string) => {
      const sev: Severity | 'none' = v === 'n/a' ? 'none' : v === goodWhen ? 'good' : 'warn';
      out.push(`  ${mark(p, sev)} ${label.padEnd(28)}${v}`);
    };
    yes(f.secureRenegotiation, 'yes', 'secure renegotiation');
    yes(f.extendedMasterSecret, 'yes', 'extended master secret');
    if (f.encryptThenMac) yes(f.encryptThenMac, 'yes', 'encrypt-then-MAC (CBC)');
    yes(f.fallbackScsv, 'yes', 'TLS_FALLBACK_SCSV');
    yes(f.downgradeSentinel, 'yes', 'TLS 1.3 downgrade sentinel');
    out.push(`  ${mark(p, f.compression === 'deflate' ? 'bad' : f.compression === 'null' ? 'good' : 'none')} ${'compression'.padEnd(28)}${f.compression}`);
    yes(f.heartbeat, 'no', 'heartbeat extension');
    if (f.heartbleed !== 'n/a') out.push(`  ${mark(p, f.heartbleed === 'yes' ? 'bad' : 'good')} ${'Heartbleed'.padEnd(28)}${f.heartbleed === 'yes' ? 'VULNERABLE' : 'not vulnerable'}`);
    out.push(`  ${mark(p, 'none')} ${'session tickets'.padEnd(28)}${f.sessionTicket}`);
    out.push(`  ${mark(p, 'none')} ${'OCSP stapling (TLS <= 1.2)'.padEnd(28)}${f.ocspStapling}`);
    out.push(`  ${mark(p, 'none')} ${'SCTs in the ServerHello'.padEnd(28)}${f.signedCertificateTimestamps}`);
  }
  if (h.resumption) {
    const r = h.resumption;
    const what = r.resumed ? `yes (${r.protocol}${r.tickets ? `, ${r.tickets} ticket${r.tickets === 1 ? '' : 's'}` : ''})` : `no (${r.protocol})${r.error ? `: ${r.error}` : ''}`;
    out.push(`  ${mark(p, r.resumed ? 'good' : 'info')} ${'session resumption'.padEnd(28)}${what}`);
  }
  if (h.tolerance) {
    const t = h.tolerance;
    const tol = (v: string, label: string) => out.push(`  ${mark(p, v === 'yes' ? 'good' : v === 'no' ? 'warn' : 'none')} ${label.padEnd(28)}${v === 'yes' ? 'tolerated' : v === 'no' ? 'refused' : v}`);
    tol(t.grease, 'GREASE (RFC 8701)');
    tol(t.version13InLegacyField, 'legacy_version 0x0304');
    tol(t.futureVersion, 'unknown supported_version');
  }
  renderFullHandshake(h, p, (s) => mark(p, s), out);
  if (h.quick) {
    out.push('');
    out.push(p.bold('Not checked') + p.dim(' (quick scan; a scan without --quick checks them)'));
    out.push(...wrapList(h.quick.notChecked, (n) => n, p));
  }
  out.push('');
  out.push(p.bold('Findings'));
  if (!h.findings.length) out.push(p.dim('  none'));
  for (const f of h.findings) out.push(`  ${mark(p, f.severity)} ${f.title}${f.cve?.length ? p.dim(` (${f.cve.join(', ')})`) : ''}`);
  if (h.errors.length) {
    out.push('');
    out.push(p.bold('Probe errors') + p.dim(' (the findings above may be incomplete)'));
    for (const e of h.errors.slice(0, 10)) out.push(`  ${mark(p, 'warn')} ${e.probe}: ${e.kind}${e.message !== e.kind ? ` (${e.message})` : ''}`);
    if (h.errors.length > 10) out.push(p.dim(`  ... and ${h.errors.length - 10} more`));
  }
}

/** A quick scan's host: what a modern client negotiates, the post-quantum groups, the key share answer. */
function renderNegotiated(h: ScanHostDocument, p: Paint, out: string[]): void {
  out.push('');
  out.push(p.bold('Negotiated with a modern client') + p.dim(' (offering X25519MLKEM768, x25519, h2)'));
  if (!h.negotiated!.length) out.push(p.dim('  neither TLS 1.3 nor TLS 1.2'));
  for (const n of h.negotiated!) {
    const group = n.group ? `  ${n.pq ? p.green(n.group) : n.group}${n.helloRetryRequest ? p.dim(' (after a HelloRetryRequest)') : ''}` : '';
    const alpn = n.alpn ? `  ALPN ${n.alpn}` : p.dim('  no ALPN');
    out.push(`  ${mark(p, n.flags.includes('pfs') || n.version === 'TLSv1.3' ? 'good' : 'warn')} ${PROTOCOL_LABEL[n.version].padEnd(9)}${n.openssl || n.suite}${group}${alpn}`);
  }
  if (h.postQuantumGroups) {
    const pq = h.postQuantumGroups.map((g) => g.name);
    out.push(`  ${mark(p, pq.length ? 'good' : 'info')} post-quantum hybrids, TLS 1.3: ${pq.length ? p.green(pq.join(', ')) : 'none accepted'}`);
  }
  const k = h.keyShare;
  if (k) out.push(p.dim(`  key shares for ${k.sent.join(' and ')} got ${k.answer === 'serverHello' ? `a ServerHello with ${k.group}` : `a HelloRetryRequest for ${k.group}`}`));
}
