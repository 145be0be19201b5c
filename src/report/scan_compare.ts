// `compare OLD NEW` of two scan documents (iocptls.scan/1, or JSON lines of them): what changed
// per target (a protocol, a suite, a group, a finding, the certificate, the cipher order), each
// change marked better, worse or neutral. The command exits 1 when any change is for the worse.
// Which way a change points follows the scan's own marks: adding what the report marks bad or
// warn is worse, removing it better; a post-quantum group or TLS 1.3 gained is better.
import fs from 'node:fs';
import type { ScanDocument, ScanHostDocument } from './scan';
import { suiteSeverity } from './scan';

export type Direction = 'better' | 'worse' | 'neutral';

export interface ScanChange {
  target: string;
  direction: Direction;
  /** protocol, suite, group, finding, certificate, order, target */
  what: string;
  text: string;
}

export interface ScanComparison {
  schema: 'iocptls.scan-compare/1';
  base: string;
  next: string;
  changes: ScanChange[];
  worse: number;
  better: number;
  exitCode: number;
}

/** The file as a scan document (JSON lines: their hosts together), undefined when it is not one; throws on a file that cannot be read. */
export function readScanDocument(file: string): ScanDocument | undefined {
  const text = fs.readFileSync(file, 'utf8');
  const docs: unknown[] = [];
  try {
    docs.push(JSON.parse(text));
  } catch {
    // JSON lines (`scan --jsonl`): one document per line.
    try {
      for (const line of text.split('\n')) if (line.trim()) docs.push(JSON.parse(line));
    } catch {
      return undefined;
    }
  }
  const scans = docs.filter((d): d is ScanDocument => !!d && typeof d === 'object' && (d as { schema?: unknown }).schema === 'iocptls.scan/1');
  if (!scans.length || scans.length !== docs.length) return undefined;
  if (scans.some((d) => !Array.isArray(d.hosts))) return undefined;
  return scans.length === 1 ? scans[0] : { ...scans[0], hosts: scans.flatMap((d) => d.hosts) };
}

const OLD_PROTOCOLS = new Set(['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1']);
const key = (h: ScanHostDocument) => `${h.target.host}:${h.target.port}`;

export function compareScans(base: ScanDocument, next: ScanDocument, names: { base: string; next: string }): ScanComparison {
  const changes: ScanChange[] = [];
  const before = new Map(base.hosts.map((h) => [key(h), h]));
  const after = new Map(next.hosts.map((h) => [key(h), h]));
  for (const [t, a] of before) {
    const b = after.get(t);
    const add = (what: string, direction: Direction, text: string) => changes.push({ target: t, what, direction, text });
    if (!b) {
      add('target', 'worse', 'not in the new scan');
      continue;
    }
    if (!a.error && b.error) {
      add('target', 'worse', `no longer scanned: ${b.error}`);
      continue;
    }
    if (a.error && !b.error) add('target', 'better', 'scanned again');
    if (a.error || b.error) continue;
    hostChanges(a, b, add);
  }
  for (const t of after.keys()) if (!before.has(t)) changes.push({ target: t, what: 'target', direction: 'neutral', text: 'new in this scan' });
  const worse = changes.filter((c) => c.direction === 'worse').length;
  return { schema: 'iocptls.scan-compare/1', base: names.base, next: names.next, changes, worse, better: changes.filter((c) => c.direction === 'better').length, exitCode: worse ? 1 : 0 };
}

function hostChanges(a: ScanHostDocument, b: ScanHostDocument, add: (what: string, d: Direction, text: string) => void): void {
  const on = (h: ScanHostDocument) => new Set(h.protocols.filter((p) => p.offered).map((p) => p.version as string));
  const pa = on(a);
  const pb = on(b);
  // TLS 1.3 gained is better; TLS 1.2 dropped beside TLS 1.3 (Mozilla's modern) is a neutral change;
  // a deprecated version gained, TLS 1.3 lost, or TLS 1.2 lost without TLS 1.3 is worse.
  for (const v of pb) if (!pa.has(v)) add('protocol', OLD_PROTOCOLS.has(v) ? 'worse' : v === 'TLSv1.3' ? 'better' : 'neutral', `${v} now offered`);
  for (const v of pa) if (!pb.has(v)) add('protocol', OLD_PROTOCOLS.has(v) ? 'better' : v === 'TLSv1.2' && pb.has('TLSv1.3') ? 'neutral' : 'worse', `${v} no longer offered`);

  // A quick scan enumerates neither suites nor groups: compared only when both scans have them.
  const suitesBoth = !!a.ciphers && !!b.ciphers;
  const groupsBoth = !!a.groups && !!b.groups;
  for (const cb of suitesBoth ? b.ciphers! : []) {
    const ca = a.ciphers!.find((c) => c.version === cb.version);
    const ids = new Set(ca?.suites.map((s) => s.id) ?? []);
    for (const s of cb.suites) if (!ids.has(s.id)) add('suite', suiteSeverity(s) === 'good' ? 'neutral' : 'worse', `${cb.version} ${s.openssl || s.iana} added`);
    if (ca && ca.order !== cb.order && ca.order === 'server' && cb.order === 'client') add('order', 'worse', `${cb.version}: the client's cipher order is now honoured`);
    if (ca && ca.order !== cb.order && ca.order === 'client' && cb.order === 'server') add('order', 'better', `${cb.version}: the server now imposes its order`);
  }
  for (const ca of suitesBoth ? a.ciphers! : []) {
    const cb = b.ciphers!.find((c) => c.version === ca.version);
    const ids = new Set(cb?.suites.map((s) => s.id) ?? []);
    // A whole version gone is said once, as a protocol.
    if (!cb) continue;
    for (const s of ca.suites) if (!ids.has(s.id)) add('suite', suiteSeverity(s) === 'good' ? 'neutral' : 'better', `${ca.version} ${s.openssl || s.iana} removed`);
  }

  for (const gb of groupsBoth ? b.groups! : []) {
    const ga = a.groups!.find((g) => g.version === gb.version);
    const names = new Set(ga?.groups.map((g) => g.name) ?? []);
    for (const g of gb.groups) if (!names.has(g.name)) add('group', g.pq ? 'better' : 'neutral', `${gb.version} group ${g.name} added`);
  }
  for (const ga of groupsBoth ? a.groups! : []) {
    const gb = b.groups!.find((g) => g.version === ga.version);
    const names = new Set(gb?.groups.map((g) => g.name) ?? []);
    for (const g of ga.groups) if (!names.has(g.name)) add('group', g.pq ? 'worse' : 'neutral', `${ga.version} group ${g.name} removed`);
  }

  // A quick scan evaluates only some findings: compare those both scans evaluated.
  const both = (f: { id: string }) => [a, b].every((h) => !h.quick || h.quick.findingsEvaluated.includes(f.id));
  const fa = new Map(a.findings.filter(both).map((f) => [f.id, f]));
  const fb = new Map(b.findings.filter(both).map((f) => [f.id, f]));
  const weak = (s: string) => s === 'bad' || s === 'warn';
  for (const [id, f] of fb) if (!fa.has(id)) add('finding', weak(f.severity) ? 'worse' : f.severity === 'good' ? 'better' : 'neutral', `appeared: ${f.severity} ${f.title}`);
  // A good mark that went is neutral: what it stood for is judged where it changed (TLS 1.3 or a
  // post-quantum group gone, the certificate no longer verified), and some only mean "not
  // applicable" now (TLS_FALLBACK_SCSV on a server with one version left).
  for (const [id, f] of fa) if (!fb.has(id)) add('finding', weak(f.severity) ? 'better' : 'neutral', `cleared: ${f.severity} ${f.title}`);

  const la = a.certificate?.chain[0];
  const lb = b.certificate?.chain[0];
  if (la && lb) {
    if (la.fingerprint256 !== lb.fingerprint256) {
      add('certificate', lb.daysLeft >= la.daysLeft ? 'neutral' : 'worse', `replaced: ${lb.subject}, ${lb.keyType}${lb.keyBits ? ` ${lb.keyBits}` : ''}, ${lb.daysLeft} days left (was ${la.daysLeft})`);
    } else if (lb.daysLeft < la.daysLeft) {
      // Every rescan is nearer expiry: it counts against the server once it is within the report's 30-day warning.
      add('certificate', lb.daysLeft < 30 ? 'worse' : 'neutral', `nearer expiry: ${lb.daysLeft} days left (was ${la.daysLeft})`);
    }
  } else if (la && !lb) add('certificate', 'worse', 'no certificate in the new scan');
  const va = a.certificate?.verify?.ok;
  const vb = b.certificate?.verify?.ok;
  if (va === true && vb === false) add('certificate', 'worse', `no longer verified: ${b.certificate!.verify!.message}`);
  if (va === false && vb === true) add('certificate', 'better', 'now verified');
}

const MARK: Record<Direction, string> = { better: 'better', worse: 'WORSE ', neutral: 'change' };

export function renderScanComparison(c: ScanComparison, paint: { red: (s: string) => string; green: (s: string) => string; dim: (s: string) => string; bold: (s: string) => string }): string {
  const out: string[] = [paint.bold(`Scan changes, ${c.base} -> ${c.next}`)];
  if (!c.changes.length) out.push(paint.dim('  no change'));
  let last = '';
  for (const x of c.changes) {
    if (x.target !== last) out.push(`  ${paint.bold(x.target)}`);
    last = x.target;
    const m = x.direction === 'worse' ? paint.red(MARK.worse) : x.direction === 'better' ? paint.green(MARK.better) : paint.dim(MARK.neutral);
    out.push(`    ${m} ${x.text}`);
  }
  out.push(c.worse ? paint.red(`${c.worse} change${c.worse === 1 ? '' : 's'} for the worse (exit 1)`) : `no change for the worse${c.better ? `, ${c.better} for the better` : ''} (exit 0)`);
  return out.join('\n');
}
