// The `connect` report: a JSON document of what was negotiated, and its rendering for humans.
import crypto from 'node:crypto';
import type { ProbeResult } from '../engine/apps/probe';
import type { HandshakeBytes, NegotiatedInfo } from '../engine/tls/session';
import { paint } from './ansi';
import { OpensslInfo, ToolInfo } from './facts';

export interface CertificateFacts {
  subject: string;
  issuer: string;
  subjectAltNames: string[];
  keyType: string;
  keyBits?: number;
  curve?: string;
  signatureAlgorithm?: string;
  validFrom: string;
  validTo: string;
  daysLeft: number;
  fingerprint256: string;
}

export interface ConnectDocument {
  schema: 'iocptls.connect/1';
  tool: ToolInfo;
  /** The Node.js that ran it (process.version), whose bundled OpenSSL is the default one. */
  node: string;
  openssl: OpensslInfo;
  backend: string;
  target: { host: string; port: number; ip: string };
  timings: { dnsMs: number; connectMs: number; handshakeMs: number; ttfbMs?: number };
  /** TLS record bytes (headers included) this client sent and received until its handshake completed; docs/result-schema.md. */
  handshakeBytes: HandshakeBytes;
  negotiated: NegotiatedInfo & { sniSent?: string };
  sessionTickets: number;
  certificates: CertificateFacts[];
  verification: { enforced: boolean; ok: boolean; result: string; hostname?: string; trust?: string };
  data?: { sent: number; received: number; closedBy: 'us' | 'peer' };
  /** handshakeMs is null for a reconnect that failed before its handshake completed. */
  reconnect?: {
    attempts: number;
    resumed: number;
    handshakeMs: (number | null)[];
    /** Per reconnect, as handshakeBytes (null for one that failed before its handshake completed). */
    handshakeBytes: (HandshakeBytes | null)[];
    failed: number;
    errors?: string[];
  };
}

/**
 * What a report says about one certificate. The key type comes from the engine's OpenSSL when
 * given (Node 22's crypto does not name ML-DSA keys; Node 24's does, as 'ml-dsa-65'); sizes and
 * curves from Node's crypto.
 */
export function certificateFacts(der: Buffer, signatureAlgorithm?: string, keyType?: string): CertificateFacts {
  const x = new crypto.X509Certificate(der);
  const key = x.publicKey;
  const d = key.asymmetricKeyDetails ?? {};
  const validTo = new Date(x.validTo);
  return {
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    subjectAltNames: x.subjectAltName ? x.subjectAltName.split(', ') : [],
    keyType: (keyType ?? key.asymmetricKeyType ?? 'unknown').toUpperCase(),
    keyBits: d.modulusLength ?? curveBits(d.namedCurve) ?? (key.asymmetricKeyType === 'ed25519' ? 256 : undefined),
    curve: d.namedCurve,
    signatureAlgorithm,
    validFrom: new Date(x.validFrom).toISOString(),
    validTo: validTo.toISOString(),
    daysLeft: Math.floor((validTo.getTime() - Date.now()) / 86_400_000),
    fingerprint256: x.fingerprint256,
  };
}

function curveBits(curve?: string): number | undefined {
  if (!curve) return undefined;
  const m = /(\d{3})/.exec(curve);
  return m ? Number(m[1]) : undefined;
}

const SIGNATURE_TYPES: Record<string, string> = {
  'id-ecPublicKey': 'ECDSA',
  rsaEncryption: 'RSA-PKCS#1',
  'RSASSA-PSS': 'RSA-PSS',
  ED25519: 'Ed25519',
  ED448: 'Ed448',
};

export function describePeerSignature(n: NegotiatedInfo): string | undefined {
  if (!n.peerSignatureType) return undefined;
  const t = SIGNATURE_TYPES[n.peerSignatureType] ?? n.peerSignatureType;
  return n.peerSignatureDigest && n.peerSignatureDigest !== 'UNDEF' ? `${t} with ${n.peerSignatureDigest}` : t;
}

export function buildConnectDocument(a: {
  tool: ToolInfo;
  openssl: OpensslInfo;
  backend: string;
  target: { host: string; port: number; ip: string };
  dnsMs: number;
  sniSent?: string;
  probe: ProbeResult;
  verifyEnforced: boolean;
  verifyHost?: string;
  trust?: string;
  exchanged: boolean;
}): ConnectDocument {
  const p = a.probe;
  const doc: ConnectDocument = {
    schema: 'iocptls.connect/1',
    tool: a.tool,
    node: process.version,
    openssl: a.openssl,
    backend: a.backend,
    target: a.target,
    timings: { dnsMs: round(a.dnsMs), connectMs: round(p.connectMs), handshakeMs: round(p.handshakeMs), ttfbMs: p.ttfbMs !== undefined ? round(p.ttfbMs) : undefined },
    handshakeBytes: p.handshakeBytes,
    negotiated: { ...p.negotiated, sniSent: a.sniSent },
    sessionTickets: p.tickets,
    certificates: p.chainDer.map((der, i) => certificateFacts(der, p.chainSignatureAlgorithms[i], p.chainKeyTypes[i])),
    verification: {
      enforced: a.verifyEnforced,
      ok: a.trust ? p.verify.ok : false,
      result: a.trust ? p.verify.message : 'not checked',
      hostname: a.trust ? a.verifyHost : undefined,
      trust: a.trust,
    },
  };
  if (a.exchanged) doc.data = { sent: p.bytesSent, received: p.bytesReceived, closedBy: p.closedBy };
  if (p.reconnects.length) {
    doc.reconnect = {
      attempts: p.reconnects.length,
      resumed: p.reconnects.filter((r) => r.negotiated?.resumed).length,
      failed: p.reconnects.filter((r) => r.error).length,
      handshakeMs: p.reconnects.map((r) => (r.negotiated ? round(r.handshakeMs) : null)),
      handshakeBytes: p.reconnects.map((r) => r.handshakeBytes ?? null),
    };
    const errors = p.reconnects.filter((r) => r.error).map((r) => r.error!.message);
    if (errors.length) doc.reconnect.errors = errors;
  }
  return doc;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function ms(v: number | undefined): string {
  if (v === undefined) return '-';
  return v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(1)} ms`;
}

export function renderConnect(d: ConnectDocument, color: boolean): string {
  const p = paint(color);
  const out: string[] = [];
  const row = (k: string, v: string) => out.push(`  ${k.padEnd(16)}${v}`);
  const t = d.target;
  const where = t.ip === t.host ? `${t.host}:${t.port}` : `${t.host}:${t.port} (${t.ip})`;
  const node = `Node.js ${d.node}`;
  out.push(
    p.bold(`Connected to ${where}`) +
      p.dim(` via ${d.backend}, ${d.openssl.version}${d.openssl.source === 'node' ? ` (inside ${node})` : ` (${d.openssl.path}; ${node})`}`)
  );
  out.push('');
  out.push(p.bold('Timings'));
  if (d.timings.dnsMs) row('DNS', ms(d.timings.dnsMs));
  row('TCP connect', ms(d.timings.connectMs));
  row('TLS handshake', ms(d.timings.handshakeMs));
  row('Handshake size', `${d.handshakeBytes.sent} B sent, ${d.handshakeBytes.received} B received (TLS records)`);
  if (d.timings.ttfbMs !== undefined) row('First byte', ms(d.timings.ttfbMs));
  out.push('');
  out.push(p.bold('Negotiated'));
  const n = d.negotiated;
  row('Protocol', n.protocol);
  row('Cipher', n.cipher ?? '-');
  row('Key exchange', n.group ?? '-');
  row('Peer signature', describePeerSignature(n) ?? '-');
  row('ALPN', n.alpn ?? 'none');
  row('SNI sent', n.sniSent ?? 'none');
  row('Session ticket', d.sessionTickets > 0 ? `yes (${d.sessionTickets})` : 'none received');
  row('Resumed', n.resumed ? 'yes' : 'no');
  out.push('');
  out.push(p.bold('Certificate chain (as sent by the server)'));
  d.certificates.forEach((c, i) => {
    const pre = `  ${i} `;
    const cont = '    ';
    out.push(`${pre}${p.cyan('subject')}  ${c.subject}`);
    out.push(`${cont}issuer   ${c.issuer}`);
    if (c.subjectAltNames.length) out.push(`${cont}SANs     ${c.subjectAltNames.join(', ')}`);
    out.push(`${cont}key      ${c.keyType}${c.curve ? ` ${c.curve}` : ''}${c.keyBits ? ` (${c.keyBits} bits)` : ''}`);
    if (c.signatureAlgorithm) out.push(`${cont}signed   ${c.signatureAlgorithm}`);
    const left = c.daysLeft < 0 ? p.red(`expired ${-c.daysLeft} days ago`) : c.daysLeft < 30 ? p.yellow(`${c.daysLeft} days left`) : `${c.daysLeft} days left`;
    out.push(`${cont}valid    ${c.validFrom.slice(0, 10)} to ${c.validTo.slice(0, 10)} (${left})`);
    out.push(`${cont}sha256   ${c.fingerprint256}`);
  });
  out.push('');
  const v = d.verification;
  if (!v.trust) out.push(`${p.bold('Verification')}  ${p.yellow('not checked (--insecure)')}`);
  else {
    const verdict = v.ok ? p.green('OK') : p.red(`FAILED: ${v.result}`);
    const suffix = v.enforced ? '' : p.yellow(' (not enforced: --insecure)');
    out.push(`${p.bold('Verification')}  ${verdict}${v.hostname ? `, hostname ${v.hostname}` : ''}${suffix}`);
    out.push(p.dim(`  trust: ${v.trust}`));
  }
  if (d.data) out.push(`${p.bold('Data')}  sent ${d.data.sent} bytes, received ${d.data.received} bytes, closed by ${d.data.closedBy}`);
  if (d.reconnect) {
    const r = d.reconnect;
    out.push(
      `${p.bold('Resumption')}  ${r.resumed}/${r.attempts} reconnects resumed${r.failed ? p.red(`, ${r.failed} failed`) : ''}` +
        p.dim(`  (handshakes: ${r.handshakeMs.map((x) => (x === null ? 'failed' : ms(x))).join(', ')})`)
    );
    const bytes = r.handshakeBytes.filter((b): b is HandshakeBytes => b !== null);
    if (bytes.length)
      out.push(
        p.dim(`  handshake bytes per reconnect: ${r.handshakeBytes.map((b) => (b ? `${b.sent}/${b.received}` : 'failed')).join(', ')} (sent/received)`)
    );
    for (const e of [...new Set(r.errors ?? [])]) out.push(p.red(`  failed: ${e}`));
  }
  return out.join('\n');
}
