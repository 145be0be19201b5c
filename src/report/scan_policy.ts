// `scan --policy FILE`: a JSON file of rules a CI job holds its servers to. Every rule is
// optional; a scan that breaks one exits 1 and says which. Unknown keys are refused (exit 2), so
// a typo never passes silently. Documented in docs/scan-schema.md.
import fs from 'node:fs';
import { ConfigError } from '../engine/errors';
import type { ScanDocument } from './scan';

export interface ScanPolicy {
  /** Protocols that must not be offered, e.g. ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"]. */
  forbidProtocols?: string[];
  /** Protocols that must be offered, e.g. ["TLSv1.3"]. */
  requireProtocols?: string[];
  /** Suite flags no accepted suite may have: export, null, anon, rc4, 3des, des, cbc, psk; or "no-pfs". */
  forbidSuiteFlags?: string[];
  /** Finding ids that must not appear (see docs/scan-schema.md), e.g. ["crime", "no-fallback-scsv"]. */
  forbidFindings?: string[];
  /** The worst finding severity allowed: "warn" fails on bad findings, "good" on warnings too. */
  maxSeverity?: 'good' | 'info' | 'warn' | 'bad';
  /** Groups one of which must be offered in TLS 1.3, e.g. ["X25519MLKEM768"]. */
  requireGroups?: string[];
  /** The certificate must verify (chain and hostname). */
  requireTrustedCertificate?: boolean;
}

const KEYS = ['forbidProtocols', 'requireProtocols', 'forbidSuiteFlags', 'forbidFindings', 'maxSeverity', 'requireGroups', 'requireTrustedCertificate'];

export function loadScanPolicy(file: string): ScanPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`--policy ${file}: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`--policy ${file}: not a JSON object`);
  for (const k of Object.keys(raw)) if (!KEYS.includes(k)) throw new ConfigError(`--policy ${file}: unknown rule '${k}' (known: ${KEYS.join(', ')})`);
  const p = raw as ScanPolicy;
  for (const k of ['forbidProtocols', 'requireProtocols', 'forbidSuiteFlags', 'forbidFindings', 'requireGroups'] as const) {
    if (p[k] !== undefined && !(Array.isArray(p[k]) && p[k]!.every((x) => typeof x === 'string'))) throw new ConfigError(`--policy ${file}: '${k}' must be a list of strings`);
  }
  if (p.maxSeverity !== undefined && !['good', 'info', 'warn', 'bad'].includes(p.maxSeverity)) throw new ConfigError(`--policy ${file}: maxSeverity must be good, info, warn or bad`);
  return p;
}

const RANK = { good: 0, info: 1, warn: 2, bad: 3 } as const;

export function checkScanPolicy(d: ScanDocument, p: ScanPolicy): string[] {
  const v: string[] = [];
  for (const h of d.hosts) {
    const at = `${h.target.host}:${h.target.port}`;
    if (h.error) {
      v.push(`${at}: not scanned (${h.error})`);
      continue;
    }
    const offered = new Set(h.protocols.filter((x) => x.offered).map((x) => x.version as string));
    for (const x of p.forbidProtocols ?? []) if (offered.has(x)) v.push(`${at}: ${x} is offered`);
    for (const x of p.requireProtocols ?? []) if (!offered.has(x)) v.push(`${at}: ${x} is not offered`);
    for (const c of h.ciphers)
      for (const s of c.suites)
        for (const f of p.forbidSuiteFlags ?? []) {
          if (f === 'no-pfs' ? !s.flags.includes('pfs') : s.flags.includes(f)) v.push(`${at}: ${c.version} ${s.iana} (${f})`);
        }
    for (const f of h.findings) {
      if (p.forbidFindings?.includes(f.id)) v.push(`${at}: ${f.title}`);
      else if (p.maxSeverity && RANK[f.severity] > RANK[p.maxSeverity]) v.push(`${at}: ${f.severity}: ${f.title}`);
    }
    if (p.requireGroups?.length) {
      const g13 = h.groups.find((g) => g.version === 'TLSv1.3')?.groups.map((g) => g.name.toLowerCase()) ?? [];
      if (!p.requireGroups.some((g) => g13.includes(g.toLowerCase()))) v.push(`${at}: none of ${p.requireGroups.join(', ')} in TLS 1.3`);
    }
    if (p.requireTrustedCertificate && !h.certificate?.verify?.ok) v.push(`${at}: certificate not verified${h.certificate?.verify ? `: ${h.certificate.verify.message}` : ''}`);
  }
  return v;
}
