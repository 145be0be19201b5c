// `scan --html FILE`: the scan document as a page in the style of the run and compare pages
// (same shell, style, facts list and banner), one section per host: protocols, suites per version
// in the server's order, groups, certificate, findings, policy violations.
import type { ScanDocument, ScanHostDocument } from '../scan';
import { suiteSeverity } from '../scan';
import { h, Html, HtmlValue } from './escape';
import { factsList, pageShell } from './parts';

const SEVERITY_CLASS: Record<string, string> = { good: 'good', warn: 'warn', bad: 'bad', info: 'muted' };
const MARK: Record<string, string> = { good: 'ok', warn: 'warn', bad: 'BAD', info: 'info' };

function mark(sev: string): Html {
  return h`<span class="${SEVERITY_CLASS[sev] ?? 'muted'}">${MARK[sev] ?? '-'}</span>`;
}

function hostSection(x: ScanHostDocument): HtmlValue {
  const t = x.target;
  const title = `${t.host}:${t.port}${t.ip && t.ip !== t.host ? ` (${t.ip})` : ''}`;
  if (x.error) return h`<h2>${title}</h2><div class="banner bad">not scanned: ${x.error}</div>`;
  const parts: HtmlValue[] = [h`<h2>${title}</h2>`];
  parts.push(
    factsList([
      ['Scanned in', `${(x.ms / 1000).toFixed(2)} s, ${x.probes.total} probes`],
      ['SNI', t.servername ?? 'none'],
      ['Protocols', x.protocols.filter((p) => p.offered).map((p) => p.version).join(', ') || 'none'],
    ])
  );
  parts.push(h`<h3>Protocols</h3><table><tr><th>version</th><th>offered</th><th>probe</th></tr>${x.protocols.map((p) => h`<tr><td>${p.version}</td><td>${p.offered ? 'yes' : 'no'}</td><td class="muted">${p.detail ?? p.outcome}</td></tr>`)}</table>`);
  for (const c of [...(x.ciphers ?? [])].reverse()) {
    parts.push(
      h`<h3>Cipher suites, ${c.version} <span class="muted">(${c.order === 'server' ? "server's order" : c.order === 'client' ? "client's order honoured" : c.order})</span></h3>
<table><tr><th></th><th>suite</th><th>IANA name</th><th>bits</th><th>id</th><th>key exchange</th></tr>${c.suites.map(
        (s) => h`<tr><td>${mark(suiteSeverity(s))}</td><td>${s.openssl}</td><td>${s.iana}</td><td>${s.bits}</td><td>${s.hex}</td><td>${s.group ?? (s.dhBits ? `DHE ${s.dhBits} bits` : '')}</td></tr>`
      )}</table>${c.error ? h`<p class="warn">incomplete: ${c.error}</p>` : ''}`
    );
  }
  for (const g of x.groups ?? []) parts.push(h`<h3>Key exchange groups, ${g.version} <span class="muted">(${g.order})</span></h3><p>${g.groups.map((n) => n.name).join(', ') || 'none'}</p>`);
  if (x.signatureAlgorithms) parts.push(h`<h3>Signature algorithms, TLS 1.2</h3><p>${x.signatureAlgorithms.algorithms.map((a) => a.name).join(', ') || 'none'}</p>`);
  const cert = x.certificate;
  if (cert) {
    parts.push(
      h`<h3>Certificate chain</h3><table><tr><th></th><th>subject</th><th>issuer</th><th>key</th><th>signature</th><th>valid to</th><th>days left</th></tr>${cert.chain.map(
        (c, i) =>
          h`<tr><td>${i}</td><td>${c.subject}</td><td>${c.issuer}</td><td>${c.keyType}${c.curve ? ` ${c.curve}` : ''}${c.keyBits ? ` ${c.keyBits}` : ''}</td><td>${c.signatureAlgorithm ?? ''}</td><td>${c.validTo.slice(0, 10)}</td><td class="${c.daysLeft < 0 ? 'bad' : c.daysLeft < 30 ? 'warn' : ''}">${c.daysLeft}</td></tr>`
      )}</table>${cert.verify ? h`<p>${mark(cert.verify.ok ? 'good' : 'bad')} ${cert.verify.ok ? 'verified' : `not verified: ${cert.verify.message}`}${cert.verify.hostname ? ` for ${cert.verify.hostname}` : ''}</p>` : ''}`
    );
  }
  parts.push(h`<h3>Findings</h3><table>${x.findings.map((f) => h`<tr><td>${mark(f.severity)}</td><td>${f.title}</td><td class="muted">${f.cve?.join(', ') ?? ''}</td></tr>`)}</table>`);
  if (x.errors.length) parts.push(h`<h3>Probe errors</h3><table>${x.errors.map((e) => h`<tr><td>${e.probe}</td><td>${e.kind}</td><td class="muted">${e.message}</td></tr>`)}</table>`);
  return parts;
}

export function renderScanHtml(d: ScanDocument): string {
  const s = d.summary;
  const banner = d.policy
    ? h`<div class="banner ${d.policy.passed ? 'good' : 'bad'}">policy ${d.policy.file}: ${d.policy.passed ? 'passed' : `failed (${d.policy.violations.length})`}${d.policy.violations.length ? h`<ul>${d.policy.violations.map((v) => h`<li>${v}</li>`)}</ul>` : ''}</div>`
    : '';
  const body = h`<h1>TLS scan</h1>${factsList([
    ['Hosts', `${s.scanned} of ${s.hosts} scanned${s.failed ? `, ${s.failed} failed` : ''}`],
    ['Findings', `${s.bad} bad, ${s.warn} warnings`],
    ['Started', d.startedAt],
    ['Duration', `${(d.durationMs / 1000).toFixed(2)} s`],
    ['Tool', `${d.tool.name} ${d.tool.version} · Node ${d.node} · ${d.openssl.version} · ${d.backend}`],
  ])}${banner}${d.hosts.map(hostSection)}`;
  return pageShell(`iocptls scan: ${d.hosts.map((x) => `${x.target.host}:${x.target.port}`).join(', ')}`, body);
}
