// The server side of a scan conversation, parsed incrementally: feed() the bytes as they come,
// get events (ServerHello, Certificate, ServerKeyExchange, alerts, SSL 2.0 SERVER-HELLO...) or
// nothing yet. Every length is checked against its container; anything that does not parse is a
// WireError, and after one the reader is dead (sticky, like rustls). Sans-I/O: no sockets here.
import { ContentType, DOWNGRADE_TLS11, DOWNGRADE_TLS12, Ext, HandshakeType, HRR_RANDOM, alertName } from './constants';
import { WireError } from './errors';
import { suiteById, suiteKx } from './suites';

/** Largest record a peer may send (RFC 8446 5.2: 2^14 + 256 for TLS 1.3, 2^14 + 2048 before). */
export const MAX_RECORD = 16384 + 2048;
/** Largest handshake message we reassemble (a long certificate chain fits comfortably). */
export const MAX_HANDSHAKE = 256 * 1024;

export interface ServerHello {
  /** legacy_version of the ServerHello. */
  legacyVersion: number;
  /** The version actually negotiated: supported_versions if present, else legacyVersion. */
  version: number;
  random: Buffer;
  sessionId: Buffer;
  suite: number;
  compression: number;
  /** Extension types in the order sent. */
  extensionTypes: number[];
  /** Raw extension bodies by type. */
  extensions: Map<number, Buffer>;
  /** A HelloRetryRequest (the special random). */
  hrr: boolean;
  /** key_share's group (the server's share in a ServerHello, the group it asks for in an HRR). */
  keyShareGroup?: number;
  alpn?: string;
  /** RFC 8446 4.1.3 downgrade sentinel in the random: 'tls12' or 'tls11'. */
  downgrade?: 'tls12' | 'tls11';
  /** Version of the record that carried it. */
  recordVersion: number;
}

export interface ServerKeyExchange {
  kind: 'ecdhe' | 'dhe';
  /** ECDHE: the named group. */
  group?: number;
  /** DHE: bits of p. */
  dhBits?: number;
  /** TLS 1.2: the SignatureScheme of the signature. */
  sigAlg?: number;
}

export interface Ssl2ServerHello {
  sessionIdHit: boolean;
  certificateType: number;
  version: number;
  certificate: Buffer;
  ciphers: number[];
}

export type ServerEvent =
  | { type: 'serverHello'; hello: ServerHello }
  | { type: 'alert'; level: number; description: number; name: string }
  | { type: 'certificate'; chain: Buffer[] }
  | { type: 'certificateStatus'; ocsp: Buffer }
  | { type: 'serverKeyExchange'; ske: ServerKeyExchange }
  | { type: 'certificateRequest' }
  | { type: 'serverHelloDone' }
  /** A record we cannot read (TLS 1.3 encrypted flight, ChangeCipherSpec): the plaintext part is over. */
  | { type: 'encrypted'; contentType: number }
  | { type: 'ssl2ServerHello'; hello: Ssl2ServerHello }
  | { type: 'ssl2Error'; code: number };

/** Big-endian cursor with strict bounds. */
class Cursor {
  off = 0;
  constructor(
    readonly buf: Buffer,
    readonly where: string
  ) {}
  get left(): number {
    return this.buf.length - this.off;
  }
  need(n: number): void {
    if (n > this.left) throw new WireError(this.where, `needs ${n} bytes, ${this.left} left`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.off++];
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }
  u24(): number {
    this.need(3);
    const v = this.buf.readUIntBE(this.off, 3);
    this.off += 3;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
  vec(n: 1 | 2 | 3): Buffer {
    const len = n === 1 ? this.u8() : n === 2 ? this.u16() : this.u24();
    return this.bytes(len);
  }
  end(): void {
    if (this.left) throw new WireError(this.where, `${this.left} trailing bytes`);
  }
}

export class ServerReader {
  #buf: Buffer = Buffer.alloc(0);
  #hs: Buffer = Buffer.alloc(0);
  #error?: WireError;
  #ssl2?: boolean;
  #hello?: ServerHello;
  /** Nothing more of interest can come (an alert, an SSL 2 answer, encrypted records). */
  finished = false;

  /** Bytes received but not yet a whole record or message: non-zero when a peer closes mid-record is a truncation. */
  get buffered(): number {
    return this.#buf.length + this.#hs.length;
  }

  get serverHello(): ServerHello | undefined {
    return this.#hello;
  }

  /** Parses what `data` completes; returns the events it produced (maybe none: need more). */
  feed(data: Uint8Array): ServerEvent[] {
    if (this.#error) throw this.#error;
    try {
      return this.#feed(data);
    } catch (e) {
      this.#error = e instanceof WireError ? e : new WireError('record', String((e as Error)?.message ?? e));
      throw this.#error;
    }
  }

  #feed(data: Uint8Array): ServerEvent[] {
    const out: ServerEvent[] = [];
    if (this.finished) return out;
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, data]) : Buffer.from(data);
    if (this.#ssl2 === undefined && this.#buf.length) this.#ssl2 = (this.#buf[0] & 0x80) !== 0;
    if (this.#ssl2) return this.#feedSsl2(out);
    while (!this.finished && this.#buf.length >= 5) {
      const type = this.#buf[0];
      const version = this.#buf.readUInt16BE(1);
      const len = this.#buf.readUInt16BE(3);
      if (type < ContentType.ChangeCipherSpec || type > ContentType.Heartbeat) throw new WireError('record', `content type ${type}`);
      if (version >> 8 !== 3) throw new WireError('record', `record version 0x${version.toString(16)}`);
      if (len > MAX_RECORD) throw new WireError('record', `record of ${len} bytes`);
      if (this.#buf.length < 5 + len) break;
      const frag = this.#buf.subarray(5, 5 + len);
      this.#buf = this.#buf.subarray(5 + len);
      this.#record(type, version, frag, out);
    }
    return out;
  }

  #record(type: number, version: number, frag: Buffer, out: ServerEvent[]): void {
    if (type === ContentType.Alert) {
      if (this.#hs.length) throw new WireError('record', 'alert inside a fragmented handshake message');
      // A TLS 1.3 server's alerts after its ServerHello are encrypted: not ours to read.
      if (this.#hello && this.#hello.version === 0x0304 && !this.#hello.hrr) {
        out.push({ type: 'encrypted', contentType: type });
        this.finished = true;
        return;
      }
      if (frag.length !== 2) throw new WireError('alert', `alert of ${frag.length} bytes`);
      out.push({ type: 'alert', level: frag[0], description: frag[1], name: alertName(frag[1]) });
      this.finished = true;
      return;
    }
    if (type !== ContentType.Handshake) {
      if (!this.#hello) throw new WireError('record', `content type ${type} before the ServerHello`);
      out.push({ type: 'encrypted', contentType: type });
      this.finished = true;
      return;
    }
    if (frag.length === 0) throw new WireError('record', 'empty handshake record');
    if (this.#hello && this.#hello.version === 0x0304 && !this.#hello.hrr) {
      // After a TLS 1.3 ServerHello, handshake records are encrypted (as application_data); a
      // plaintext one here is a protocol error we report rather than read.
      throw new WireError('handshake', 'plaintext handshake record after a TLS 1.3 ServerHello');
    }
    this.#hs = this.#hs.length ? Buffer.concat([this.#hs, frag]) : frag;
    while (!this.finished && this.#hs.length >= 4) {
      const mtype = this.#hs[0];
      const mlen = this.#hs.readUIntBE(1, 3);
      if (mlen > MAX_HANDSHAKE) throw new WireError('handshake', `message of ${mlen} bytes`);
      if (this.#hs.length < 4 + mlen) break;
      const body = this.#hs.subarray(4, 4 + mlen);
      this.#hs = this.#hs.subarray(4 + mlen);
      this.#message(mtype, body, version, out);
    }
  }

  #message(mtype: number, body: Buffer, recordVersion: number, out: ServerEvent[]): void {
    if (!this.#hello || this.#hello.hrr) {
      if (mtype !== HandshakeType.ServerHello) throw new WireError('handshake', `message type ${mtype} before the ServerHello`);
      const hello = parseServerHello(body, recordVersion);
      if (this.#hello?.hrr && hello.hrr) throw new WireError('server_hello', 'a second HelloRetryRequest');
      this.#hello = hello;
      out.push({ type: 'serverHello', hello });
      // We stop at an HRR (our probes never answer it) and at a TLS 1.3 ServerHello (the rest is encrypted).
      if (hello.hrr || hello.version === 0x0304) this.finished = true;
      return;
    }
    switch (mtype) {
      case HandshakeType.Certificate:
        out.push({ type: 'certificate', chain: parseCertificate12(body) });
        return;
      case HandshakeType.CertificateStatus: {
        const c = new Cursor(body, 'certificate_status');
        if (c.u8() !== 1) throw new WireError('certificate_status', 'status type is not ocsp');
        const ocsp = c.vec(3);
        c.end();
        out.push({ type: 'certificateStatus', ocsp });
        return;
      }
      case HandshakeType.ServerKeyExchange: {
        const kx = suiteKx(suiteById(this.#hello.suite));
        if (kx === 'ecdhe' || kx === 'dhe') out.push({ type: 'serverKeyExchange', ske: parseServerKeyExchange(body, kx, this.#hello.version) });
        return;
      }
      case HandshakeType.CertificateRequest:
        out.push({ type: 'certificateRequest' });
        return;
      case HandshakeType.ServerHelloDone:
        if (body.length) throw new WireError('handshake', 'ServerHelloDone with a body');
        out.push({ type: 'serverHelloDone' });
        this.finished = true;
        return;
      case HandshakeType.ServerHello:
        throw new WireError('handshake', 'a second ServerHello');
      default:
        // NewSessionTicket, Finished under an abbreviated handshake... not ours; the plaintext part is over.
        this.finished = true;
        out.push({ type: 'encrypted', contentType: ContentType.Handshake });
    }
  }

  #feedSsl2(out: ServerEvent[]): ServerEvent[] {
    if (this.#buf.length < 2) return out;
    const len = ((this.#buf[0] & 0x7f) << 8) | this.#buf[1];
    if (len < 1) throw new WireError('ssl2', 'empty SSL 2.0 record');
    if (this.#buf.length < 2 + len) return out;
    const c = new Cursor(this.#buf.subarray(2, 2 + len), 'ssl2');
    this.finished = true;
    const type = c.u8();
    if (type === 0) {
      out.push({ type: 'ssl2Error', code: c.u16() });
      return out;
    }
    if (type !== 4) throw new WireError('ssl2', `message type ${type}`);
    const sessionIdHit = c.u8() !== 0;
    const certificateType = c.u8();
    const version = c.u16();
    const certLen = c.u16();
    const specLen = c.u16();
    const connIdLen = c.u16();
    if (specLen % 3) throw new WireError('ssl2', `cipher specs of ${specLen} bytes`);
    const certificate = c.bytes(certLen);
    const specs = c.bytes(specLen);
    c.bytes(connIdLen);
    c.end();
    const ciphers: number[] = [];
    for (let i = 0; i < specs.length; i += 3) ciphers.push(specs.readUIntBE(i, 3));
    out.push({ type: 'ssl2ServerHello', hello: { sessionIdHit, certificateType, version, certificate, ciphers } });
    return out;
  }
}

export function parseServerHello(body: Buffer, recordVersion = 0x0303): ServerHello {
  const c = new Cursor(body, 'server_hello');
  const legacyVersion = c.u16();
  if (legacyVersion >> 8 !== 3) throw new WireError('server_hello', `version 0x${legacyVersion.toString(16)}`);
  const random = c.bytes(32);
  const sessionId = c.vec(1);
  if (sessionId.length > 32) throw new WireError('server_hello', `session id of ${sessionId.length} bytes`);
  const suite = c.u16();
  const compression = c.u8();
  const extensions = new Map<number, Buffer>();
  const extensionTypes: number[] = [];
  if (c.left) {
    const e = new Cursor(c.vec(2), 'server_hello');
    while (e.left) {
      const t = e.u16();
      const d = e.vec(2);
      if (extensions.has(t)) throw new WireError('server_hello', `extension 0x${t.toString(16)} twice`);
      extensions.set(t, d);
      extensionTypes.push(t);
    }
  }
  c.end();
  const hrr = random.equals(HRR_RANDOM);
  let version = legacyVersion;
  const sv = extensions.get(Ext.SupportedVersions);
  if (sv) {
    if (sv.length !== 2) throw new WireError('server_hello', `supported_versions of ${sv.length} bytes`);
    version = sv.readUInt16BE(0);
  }
  let keyShareGroup: number | undefined;
  const ks = extensions.get(Ext.KeyShare);
  if (ks) {
    const k = new Cursor(ks, 'key_share');
    keyShareGroup = k.u16();
    if (!hrr) {
      const key = k.vec(2);
      if (!key.length) throw new WireError('key_share', 'empty key exchange');
    }
    k.end();
  }
  let alpn: string | undefined;
  const al = extensions.get(Ext.Alpn);
  if (al) {
    const a = new Cursor(al, 'alpn');
    const list = new Cursor(a.vec(2), 'alpn');
    a.end();
    const p = list.vec(1);
    list.end();
    if (!p.length) throw new WireError('alpn', 'empty protocol name');
    alpn = p.toString('latin1');
  }
  const tail = random.subarray(24);
  const downgrade = tail.equals(DOWNGRADE_TLS12) ? 'tls12' : tail.equals(DOWNGRADE_TLS11) ? 'tls11' : undefined;
  return { legacyVersion, version, random, sessionId, suite, compression, extensionTypes, extensions, hrr, keyShareGroup, alpn, downgrade, recordVersion };
}

/** A TLS <= 1.2 Certificate message: the DER certificates, leaf first. */
export function parseCertificate12(body: Buffer): Buffer[] {
  const c = new Cursor(body, 'certificate');
  const list = new Cursor(c.vec(3), 'certificate');
  c.end();
  const chain: Buffer[] = [];
  while (list.left) {
    const der = list.vec(3);
    if (!der.length) throw new WireError('certificate', 'empty certificate');
    chain.push(Buffer.from(der));
  }
  return chain;
}

export function parseServerKeyExchange(body: Buffer, kind: 'ecdhe' | 'dhe', version: number): ServerKeyExchange {
  const c = new Cursor(body, 'server_key_exchange');
  const ske: ServerKeyExchange = { kind };
  if (kind === 'ecdhe') {
    const curveType = c.u8();
    if (curveType !== 3) throw new WireError('server_key_exchange', `curve type ${curveType} (only named_curve is allowed)`);
    ske.group = c.u16();
    const point = c.vec(1);
    if (!point.length) throw new WireError('server_key_exchange', 'empty public point');
  } else {
    const p = c.vec(2);
    const g = c.vec(2);
    const ys = c.vec(2);
    if (!p.length || !g.length || !ys.length) throw new WireError('server_key_exchange', 'empty DH parameter');
    let i = 0;
    while (i < p.length && p[i] === 0) i++;
    ske.dhBits = i === p.length ? 0 : (p.length - i - 1) * 8 + (32 - Math.clz32(p[i]));
  }
  // Anonymous suites carry no signature; TLS 1.2 signatures start with their SignatureScheme.
  if (c.left && version >= 0x0303) {
    ske.sigAlg = c.u16();
    c.vec(2);
  } else if (c.left) {
    c.vec(2);
  }
  c.end();
  return ske;
}
