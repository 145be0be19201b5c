// `scan --policy modern|intermediate|old|FILE`: rules a CI job holds its servers to. The three
// names are Mozilla's server-side TLS profiles (src/report/scan_profiles.ts); a FILE is a JSON
// object of the same rules, optionally starting from one of them ("profile"). Every rule is
// optional; a scan that breaks one exits 1 and says which, one line per violation naming the rule.
// Unknown keys are refused (exit 2), so a typo never passes silently. Documented in
// docs/scan-schema.md.
import fs from 'node:fs';
import { ConfigError } from '../engine/errors';
import type { ScanDocument, ScanHostDocument } from './scan';
import { MOZILLA_PROFILES, ScanPolicy } from './scan_profiles';

export type { ScanPolicy } from './scan_profiles';

const LISTS = [
  'forbidProtocols',
  'requireProtocols',
  'allowProtocols',
  'allowSuites',
  'forbidSuiteFlags',
  'allowGroups',
  'requireGroups',
  'forbidFindings',
  'certificateKeyTypes',
  'certificateCurves',
  'certificateSignatures',
] as const;
const NUMBERS = ['minRsaBits', 'minDhBits', 'maxCertificateLifespanDays'] as const;
const BOOLEANS = ['allowPostQuantumGroups', 'requireTrustedCertificate', 'requireServerOrder'] as const;
const KEYS: string[] = ['profile', 'maxSeverity', ...LISTS, ...NUMBERS, ...BOOLEANS];

/** A built-in profile's name, or a JSON file of rules. */
export function loadScanPolicy(spec: string): ScanPolicy {
  if (spec in MOZILLA_PROFILES) return { profile: spec, ...MOZILLA_PROFILES[spec as keyof typeof MOZILLA_PROFILES] };
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(spec, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`--policy ${spec}: neither a profile (modern, intermediate, old) nor a file`);
    throw new ConfigError(`--policy ${spec}: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`--policy ${spec}: not a JSON object`);
  for (const k of Object.keys(raw)) if (!KEYS.includes(k)) throw new ConfigError(`--policy ${spec}: unknown rule '${k}' (known: ${KEYS.join(', ')})`);
  const p = raw as ScanPolicy;
  for (const k of LISTS) {
    if (p[k] !== undefined && !(Array.isArray(p[k]) && p[k]!.every((x) => typeof x === 'string'))) throw new ConfigError(`--policy ${spec}: '${k}' must be a list of strings`);
  }
  for (const k of NUMBERS) if (p[k] !== undefined && !(typeof p[k] === 'number' && p[k]! >= 0)) throw new ConfigError(`--policy ${spec}: '${k}' must be a number >= 0`);
  for (const k of BOOLEANS) if (p[k] !== undefined && typeof p[k] !== 'boolean') throw new ConfigError(`--policy ${spec}: '${k}' must be true or false`);
  if (p.maxSeverity !== undefined && !['good', 'info', 'warn', 'bad'].includes(p.maxSeverity)) throw new ConfigError(`--policy ${spec}: maxSeverity must be good, info, warn or bad`);
  if (p.profile !== undefined) {
    if (!(p.profile in MOZILLA_PROFILES)) throw new ConfigError(`--policy ${spec}: profile must be modern, intermediate or old`);
    return { ...MOZILLA_PROFILES[p.profile as keyof typeof MOZILLA_PROFILES], ...p };
  }
  return p;
}

const RANK = { good: 0, info: 1, warn: 2, bad: 3 } as const;
const lower = (xs: string[] | undefined) => new Set((xs ?? []).map((x) => x.toLowerCase()));
// Groups by the names OpenSSL's configuration uses as well as the IANA ones we report.
const GROUP_ALIASES: Record<string, string> = { prime256v1: 'secp256r1', 'p-256': 'secp256r1', 'p-384': 'secp384r1', 'p-521': 'secp521r1' };
const groupKey = (g: string) => GROUP_ALIASES[g.toLowerCase()] ?? g.toLowerCase();

/** One line per violation: `HOST:PORT: RULE: what`. */
export function checkScanPolicy(d: ScanDocument, p: ScanPolicy): string[] {
  const v: string[] = [];
  for (const h of d.hosts) {
    const at = `${h.target.host}:${h.target.port}`;
    const say = (rule: string, what: string) => v.push(`${at}: ${rule}: ${what}`);
    if (h.error) {
      v.push(`${at}: not scanned (${h.error})`);
      continue;
    }
    const offered = new Set(h.protocols.filter((x) => x.offered).map((x) => x.version as string));
    for (const x of p.forbidProtocols ?? []) if (offered.has(x)) say('forbidProtocols', `${x} is offered`);
    for (const x of p.requireProtocols ?? []) if (!offered.has(x)) say('requireProtocols', `${x} is not offered`);
    if (p.allowProtocols) for (const x of offered) if (!p.allowProtocols.includes(x)) say('allowProtocols', `${x} is offered (allowed: ${p.allowProtocols.join(', ')})`);
    const allowSuites = p.allowSuites && lower(p.allowSuites);
    for (const c of suitesSeen(h)) {
      for (const s of c.suites) {
        if (allowSuites && !allowSuites.has(s.iana.toLowerCase()) && !allowSuites.has(s.openssl.toLowerCase())) say('allowSuites', `${c.version} ${s.openssl || s.iana} is accepted`);
        for (const f of p.forbidSuiteFlags ?? []) {
          if (f === 'no-pfs' ? !s.flags.includes('pfs') : s.flags.includes(f)) say('forbidSuiteFlags', `${c.version} ${s.iana} (${f})`);
        }
        if (p.minDhBits !== undefined && s.dhBits !== undefined && s.dhBits < p.minDhBits) say('minDhBits', `${c.version} ${s.openssl || s.iana} uses a ${s.dhBits}-bit DH prime (< ${p.minDhBits})`);
      }
      if (p.requireServerOrder && c.version !== 'TLSv1.3' && c.order === 'client') say('requireServerOrder', `${c.version}: the client's cipher order is honoured`);
    }
    if (p.allowGroups) {
      const allowed = new Set(p.allowGroups.map(groupKey));
      const seen = new Set<string>();
      for (const g of groupsSeen(h))
        for (const x of g.groups) {
          if (seen.has(x.name) || allowed.has(groupKey(x.name)) || (p.allowPostQuantumGroups && x.pq)) continue;
          seen.add(x.name);
          say('allowGroups', `${x.name} is accepted (${g.version})`);
        }
    }
    if (p.requireGroups?.length) {
      const g13 = groupsSeen(h).find((g) => g.version === 'TLSv1.3')?.groups.map((g) => g.name.toLowerCase()) ?? [];
      // A quick scan saw some of the groups: none of them required is no verdict (see policyLimits).
      if (!p.requireGroups.some((g) => g13.includes(g.toLowerCase())) && !h.quick) say('requireGroups', `none of ${p.requireGroups.join(', ')} in TLS 1.3`);
    }
    for (const f of h.findings) {
      // Policies judge findings by id: a quick scan's are the full scan's, for the ids it evaluates.
      if (p.forbidFindings?.includes(f.id)) say('forbidFindings', `${f.id}: ${f.title}`);
      else if (p.maxSeverity && RANK[f.severity] > RANK[p.maxSeverity]) say('maxSeverity', `${f.severity}: ${f.title}`);
    }
    if (p.requireTrustedCertificate && !h.certificate?.verify?.ok) say('requireTrustedCertificate', `certificate not verified${h.certificate?.verify ? `: ${h.certificate.verify.message}` : ''}`);
    const leaf = h.certificate?.chain[0];
    if (leaf) {
      const type = leaf.keyType.toUpperCase() === 'ID-ECPUBLICKEY' ? 'EC' : leaf.keyType.toUpperCase();
      if (p.certificateKeyTypes && !p.certificateKeyTypes.some((k) => k.toUpperCase() === type)) say('certificateKeyTypes', `the leaf's key is ${leaf.keyType} (allowed: ${p.certificateKeyTypes.join(', ')})`);
      if (p.certificateCurves && leaf.curve && type === 'EC' && !lower(p.certificateCurves).has(leaf.curve.toLowerCase()))
        say('certificateCurves', `the leaf's key is on ${leaf.curve} (allowed: ${p.certificateCurves.join(', ')})`);
      if (p.certificateSignatures && leaf.signatureAlgorithm && !lower(p.certificateSignatures).has(leaf.signatureAlgorithm.toLowerCase()))
        say('certificateSignatures', `the leaf is signed with ${leaf.signatureAlgorithm} (allowed: ${p.certificateSignatures.join(', ')})`);
      if (p.minRsaBits !== undefined && type === 'RSA' && leaf.keyBits !== undefined && leaf.keyBits < p.minRsaBits) say('minRsaBits', `the leaf's RSA key has ${leaf.keyBits} bits (< ${p.minRsaBits})`);
      if (p.maxCertificateLifespanDays !== undefined) {
        const days = Math.round((Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86_400_000);
        if (days > p.maxCertificateLifespanDays) say('maxCertificateLifespanDays', `the leaf is valid for ${days} days (> ${p.maxCertificateLifespanDays})`);
      }
    }
  }
  return v;
}

type SuitesSeen = { version: string; order?: string; suites: { iana: string; openssl: string; flags: string[]; dhBits?: number }[] }[];

/** The suites a host accepts, as far as its scan saw: all of them, or (a quick scan) what a modern client negotiated. */
function suitesSeen(h: ScanHostDocument): SuitesSeen {
  if (h.ciphers) return h.ciphers;
  return (h.negotiated ?? []).map((n) => ({ version: n.version, suites: [{ iana: n.suite, openssl: n.openssl, flags: n.flags }] }));
}

/** The groups a host accepts, as far as its scan saw: all of them, or (a quick scan) the negotiated ones and the post-quantum hybrids. */
function groupsSeen(h: ScanHostDocument): { version: string; groups: { name: string; pq: boolean }[] }[] {
  if (h.groups) return h.groups;
  const out: { version: string; groups: { name: string; pq: boolean }[] }[] = [];
  for (const n of h.negotiated ?? []) {
    const g = n.group ? [{ name: n.group, pq: !!n.pq }] : [];
    if (n.version === 'TLSv1.3') g.push(...(h.postQuantumGroups ?? []));
    out.push({ version: n.version, groups: g });
  }
  return out;
}

/**
 * The rules of `p` that the scan could not evaluate in full, one line each (a quick scan leaves
 * out the suite, group and most finding probes): a policy never passes them silently. Empty for a
 * full scan. A violation found on what a quick scan did see is still a violation.
 */
export function policyLimits(d: ScanDocument, p: ScanPolicy): string[] {
  const quick = d.hosts.find((h) => h.quick && !h.error)?.quick;
  if (!quick) return [];
  const out: string[] = [];
  const some = 'checked only on what a modern client negotiated (quick scan: suites not enumerated)';
  if (p.allowSuites) out.push(`allowSuites: ${some}`);
  if (p.forbidSuiteFlags?.length) out.push(`forbidSuiteFlags: ${some}`);
  if (p.minDhBits !== undefined) out.push(`minDhBits: ${some}`);
  if (p.requireServerOrder) out.push('requireServerOrder: not evaluated (quick scan: the server\'s order is not probed)');
  if (p.allowGroups) out.push('allowGroups: checked only on the negotiated and post-quantum groups (quick scan: groups not enumerated)');
  if (p.requireGroups?.length) out.push('requireGroups: a required group among the negotiated and post-quantum ones passes; none of them is no verdict (quick scan)');
  const missed = (p.forbidFindings ?? []).filter((id) => !quick.findingsEvaluated.includes(id));
  if (missed.length) out.push(`forbidFindings: ${missed.join(', ')} not evaluated (quick scan)`);
  if (p.maxSeverity) out.push(`maxSeverity: checked on the findings a quick scan evaluates (${quick.findingsEvaluated.length} kinds), not on suites, groups, tolerance, resumption or full-handshake findings`);
  return out;
}
