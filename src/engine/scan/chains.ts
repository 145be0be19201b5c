// What a served chain is: each certificate's names and fingerprint, whether each is issued by the
// next (order), whether it reaches a root (completeness: a self-signed certificate, or one whose
// issuer is among Node's Mozilla roots or the --ca file), and the stapled OCSP response's status.
// Trust itself (with hostname, validity) is the certificate handshake's verdict (scan_cert.ts).
import crypto, { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import type { OcspStaple, ServedChain } from './types';

/** Trust anchors by the DER of their subject Name (hex): parsed only when a chain names them as issuer. */
type Anchors = Map<string, { der: Buffer; parsed?: X509Certificate | null }[]>;
let roots: Anchors | undefined;
const caFiles = new Map<string, Anchors>();

/**
 * The DER of a certificate's issuer and subject Names, read by hand (RFC 5280 4.1: tbsCertificate
 * holds an optional [0] version, serialNumber, signature, issuer, validity, subject). Parsing every
 * one of Node's ~140 roots with X509Certificate cost a scan ~20 ms of its main thread, which on
 * loopback is the scan's bottleneck; now only the few a chain points at are parsed. Issuer and
 * subject are matched byte for byte, as Go's CertPool does (RawSubject): CAs write the issuer
 * exactly as their own subject; OpenSSL's canonical comparison would also match differently
 * encoded equal names, which a trust store does not depend on.
 */
export function nameDers(der: Buffer): { issuer: Buffer; subject: Buffer } | undefined {
  // [start of contents, end] of the DER element at i.
  const element = (i: number): [number, number, number] | undefined => {
    if (i + 2 > der.length) return undefined;
    const tag = der[i];
    let len = der[i + 1];
    let at = i + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || at + n > der.length) return undefined;
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + der[at + k];
      at += n;
    }
    return at + len <= der.length ? [tag, at, at + len] : undefined;
  };
  const cert = element(0);
  const tbs = cert && element(cert[1]);
  if (!tbs) return undefined;
  const fields: [number, number, number][] = [];
  for (let i = tbs[1]; i < tbs[2] && fields.length < 6; ) {
    const e = element(i);
    if (!e) return undefined;
    fields.push([i, e[1], e[2]]);
    i = e[2];
  }
  const f = der[fields[0]?.[0]] === 0xa0 ? fields.slice(1) : fields;
  if (f.length < 5) return undefined;
  return { issuer: der.subarray(f[2][0], f[2][2]), subject: der.subarray(f[4][0], f[4][2]) };
}

function indexAnchors(pems: string[]): Anchors {
  const out: Anchors = new Map();
  for (const pem of pems)
    for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g)) {
      const der = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
      const names = nameDers(der);
      // One bad certificate in a bundle is not the scan's business.
      if (!names) continue;
      const key = names.subject.toString('hex');
      out.set(key, [...(out.get(key) ?? []), { der }]);
    }
  return out;
}

function anchors(ca?: string): Anchors[] {
  roots ??= indexAnchors([...tls.rootCertificates]);
  if (!ca) return [roots];
  let extra = caFiles.get(ca);
  if (!extra) {
    try {
      extra = indexAnchors([fs.readFileSync(ca, 'utf8')]);
    } catch {
      extra = new Map();
    }
    caFiles.set(ca, extra);
  }
  return [extra, roots];
}

/** Whether a known anchor issued `c` (same subject as c's issuer, and its key verifies c). */
function anchoredBy(c: X509Certificate, der: Buffer, sets: Anchors[]): boolean {
  const issuer = nameDers(der)?.issuer.toString('hex');
  if (!issuer) return false;
  for (const set of sets)
    for (const a of set.get(issuer) ?? []) {
      if (a.parsed === undefined) {
        try {
          a.parsed = new X509Certificate(a.der);
        } catch {
          a.parsed = null;
        }
      }
      if (a.parsed && issuedBy(c, a.parsed)) return true;
    }
  return false;
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
    !!last && (issuedBy(last, last) || certs.some((c) => issuedBy(c, c)) || certs.some((c, i) => anchoredBy(c, Buffer.from(der[i]), known)));
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
