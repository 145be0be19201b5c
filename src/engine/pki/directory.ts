// What `iocptls cert` issues into a directory: a new or given CA plus one leaf, as a document
// and the files to write. No file is touched here.
import crypto from 'node:crypto';
import path from 'node:path';
import { checkCA, createCA, createLeaf, type CertificateAuthority, type IssuedCertificate } from './certificates';
import { type PkiFile } from './files';
import { type KeyType } from './keys';

// A CA made alongside a leaf outlives it, so more leaves can be signed with it later.
const NEW_CA_MIN_DAYS = 3650;

export interface DirectoryRequest {
  dir: string;
  /** Sign with this CA instead of creating one; paths are only used for the report. */
  existingCA?: CertificateAuthority & { certFile: string; keyFile: string };
  keyType: KeyType;
  sans: string[];
  days: number;
  client: boolean;
  name: string;
}

export interface CertificateReport {
  certFile: string;
  keyFile: string;
  subject: string;
  issuer: string;
  serialNumber: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
  keyType: KeyType;
  extendedKeyUsage: 'serverAuth' | 'clientAuth' | null;
  fingerprint256: string;
}

export interface DirectoryDocument {
  dir: string;
  ca: { created: boolean; certFile: string; keyFile: string; subject: string; fingerprint256: string };
  leaf: CertificateReport;
}

/** The files issueDirectory will produce for `req`, known before any key is generated. */
export function plannedPaths(req: Pick<DirectoryRequest, 'dir' | 'existingCA' | 'name'>): string[] {
  const dir = path.resolve(req.dir);
  const leaf = [path.join(dir, `${req.name}.pem`), path.join(dir, `${req.name}.key`)];
  return req.existingCA ? leaf : [path.join(dir, 'ca.pem'), path.join(dir, 'ca.key'), ...leaf];
}

export function issueDirectory(req: DirectoryRequest): { document: DirectoryDocument; files: PkiFile[] } {
  const dir = path.resolve(req.dir);
  const files: PkiFile[] = [];
  let ca: CertificateAuthority;
  let caReport: DirectoryDocument['ca'];
  if (req.existingCA) {
    ca = req.existingCA;
    const described = checkCA(ca);
    caReport = { created: false, certFile: req.existingCA.certFile, keyFile: req.existingCA.keyFile, ...described };
  } else {
    // A per-CA suffix keeps two generated CAs from sharing a subject, which confuses chain building.
    const cn = `iocptls test CA ${crypto.randomBytes(4).toString('hex')}`;
    const created = createCA({ cn, days: Math.max(req.days, NEW_CA_MIN_DAYS), keyType: req.keyType });
    ca = created;
    const certFile = path.join(dir, 'ca.pem');
    const keyFile = path.join(dir, 'ca.key');
    files.push({ path: certFile, contents: created.certPem, secret: false }, { path: keyFile, contents: created.keyPem, secret: true });
    caReport = { created: true, certFile, keyFile, subject: created.subject, fingerprint256: created.fingerprint256 };
  }
  const leaf = createLeaf({ ca, sans: req.sans, days: req.days, keyType: req.keyType, client: req.client });
  const certFile = path.join(dir, `${req.name}.pem`);
  const keyFile = path.join(dir, `${req.name}.key`);
  files.push({ path: certFile, contents: leaf.certPem, secret: false }, { path: keyFile, contents: leaf.keyPem, secret: true });
  return { document: { dir, ca: caReport, leaf: report(leaf, certFile, keyFile) }, files };
}

function report(c: IssuedCertificate, certFile: string, keyFile: string): CertificateReport {
  return {
    certFile,
    keyFile,
    subject: c.subject,
    issuer: c.issuer,
    serialNumber: c.serialNumber,
    sans: c.sans,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    keyType: c.keyType,
    extendedKeyUsage: c.profile === 'client' ? 'clientAuth' : c.profile === 'server' ? 'serverAuth' : null,
    fingerprint256: c.fingerprint256,
  };
}
