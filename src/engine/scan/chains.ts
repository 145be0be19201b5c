// What a served chain is: each certificate's names and fingerprint, whether each is issued by the
// next (order), whether it reaches a root (completeness: a self-signed certificate, or one whose
// issuer is among Node's Mozilla roots or the --ca file), and the stapled OCSP response's status.
// Trust itself (with hostname, validity) is the certificate handshake's verdict (scan_cert.ts).
import crypto, { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import type { OcspStaple, ServedChain } from './types';

let roots: X509Certificate[] | undefined;
const caFiles = new Map<string, X509Certificate[]>();

function pemCertificates(pem: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)) {
    try {
      out.push(new X509Certificate(m[0]));
    } catch {
      // one bad certificate in a bundle is not the scan's business
    }
  }
  return out;
}

function anchors(ca?: string): X509Certificate[] {
  roots ??= tls.rootCertificates.flatMap(pemCertificates);
  if (!ca) return roots;
  let extra = caFiles.get(ca);
  if (!extra) {
    try {
      extra = pemCertificates(fs.readFileSync(ca, 'utf8'));
    } catch {
      extra = [];
    }
    caFiles.set(ca, extra);
  }
  return [...extra, ...roots];
}

const issuedBy = (c: X509Certificate, by: X509Certificate) => c.checkIssued(by) && c.verify(by.publicKey);

/** Fills in certificates, ordered, complete and anchorSent from the DER chain (leaf first). */
export function describeChain(der: Uint8Array[], keyTypes: string[] | undefined, ca?: string): Pick<ServedChain, 'certificates' | 'ordered' | 'complete' | 'anchorSent'> {
  const certs: X509Certificate[] = [];
  for (const d of der) {
    try {
      certs.push(new X509Certificate(Buffer.from(d)));
    } catch {
      return { certificates: [], ordered: false, complete: false };
    }
  }
  const certificates = certs.map((c, i) => ({
    subject: c.subject.replace(/\n/g, ', '),
    issuer: c.issuer.replace(/\n/g, ', '),
    sha256: crypto.createHash('sha256').update(Buffer.from(der[i])).digest('hex'),
    keyType: keyTypes?.[i],
  }));
  let ordered = true;
  for (let i = 0; i + 1 < certs.length; i++) if (!issuedBy(certs[i], certs[i + 1])) ordered = false;
  const last = certs[certs.length - 1];
  const anchorSent = !!last && certs.length > 1 && issuedBy(last, last);
  // Completeness does not depend on order: some certificate sent must be issued by a known root or be one.
  const known = anchors(ca);
  const complete =
    !!last &&
    (issuedBy(last, last) || certs.some((c) => issuedBy(c, c)) || certs.some((c) => known.some((r) => issuedBy(c, r))));
  return { certificates, ordered, complete, anchorSent };
}

const OCSP_STATUS: Record<number, string> = { 0: 'successful', 1: 'malformedRequest', 2: 'internalError', 3: 'tryLater', 5: 'sigRequired', 6: 'unauthorized' };

/** The OCSPResponse's responseStatus (RFC 6960 4.2.1: SEQUENCE { ENUMERATED, ... }), read by hand. */
export function ocspStaple(der: Uint8Array | undefined, protocol?: string): OcspStaple {
  if (!der?.length) return { stapled: false, protocol };
  const b = Buffer.from(der);
  let i = 1;
  if (b[0] !== 0x30 || b.length < 5) return { stapled: true, bytes: b.length, responseStatus: 'unparsable', protocol };
  i += b[1] & 0x80 ? 1 + (b[1] & 0x7f) : 1;
  const status = b[i] === 0x0a && b[i + 1] === 1 ? OCSP_STATUS[b[i + 2]] ?? `status ${b[i + 2]}` : 'unparsable';
  return { stapled: true, bytes: b.length, responseStatus: status, protocol };
}
