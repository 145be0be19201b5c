// ClientHello builders: TLS 1.0-1.3 (and SSL 3.0) records with any suites, groups, key shares,
// signature schemes, ALPN, SNI and extra extensions, and the SSL 2.0 CLIENT-HELLO. Bytes only:
// no sockets, no state. A server needs no key exchange from us to show what it accepts, but it
// does validate a key share it picks, so every share here is well formed for its group.
import crypto from 'node:crypto';
import {
  ContentType,
  Ext,
  GROUPS,
  groupInfo,
  HandshakeType,
  SIGNATURE_SCHEMES,
  SSL2_CIPHERS,
  TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
  VERSIONS,
} from './constants';
import { WireError } from './errors';

export interface ClientHelloOptions {
  /** The ClientHello.legacy_version (client_version): 0x0300 SSL 3.0 ... 0x0303 TLS 1.2. */
  clientVersion: number;
  /** Record layer version of the first record (default: min(clientVersion, TLS 1.0), what browsers send). */
  recordVersion?: number;
  /** supported_versions list (TLS 1.3); absent: no extension. */
  supportedVersions?: number[];
  suites: number[];
  /** Appended signalling values (SCSVs), e.g. TLS_FALLBACK_SCSV. Default: TLS_EMPTY_RENEGOTIATION_INFO_SCSV unless `renegotiationInfo`. */
  scsv?: number[];
  /** supported_groups (and ec_point_formats with it); absent: no extension. */
  groups?: number[];
  /** Groups to send a key_share for (must be in `groups`); [] sends an empty key_share (the server answers with a HelloRetryRequest). */
  keyShares?: number[];
  sigAlgs?: number[];
  alpn?: string[];
  sni?: string;
  /** Compression methods (default [0]: null only). */
  compression?: number[];
  /** Add the empty renegotiation_info extension instead of the SCSV. */
  renegotiationInfo?: boolean;
  extendedMasterSecret?: boolean;
  encryptThenMac?: boolean;
  sessionTicket?: boolean;
  statusRequest?: boolean;
  sct?: boolean;
  heartbeat?: boolean;
  /** Extra extensions as they go on the wire, after the others. */
  extensions?: { type: number; data: Buffer }[];
  /** Omit every extension (SSL 3.0 servers may choke on them). */
  noExtensions?: boolean;
  /** 32 bytes; default random. */
  random?: Buffer;
  sessionId?: Buffer;
}

export const DEFAULT_SIG_ALGS = SIGNATURE_SCHEMES.map((s) => s.id);

class Writer {
  #parts: Buffer[] = [];
  u8(v: number): this {
    this.#parts.push(Buffer.from([v & 0xff]));
    return this;
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v & 0xffff);
    this.#parts.push(b);
    return this;
  }
  bytes(b: Buffer): this {
    this.#parts.push(b);
    return this;
  }
  /** Appends `b` prefixed with its length in `n` bytes, checking it fits. */
  vec(n: 1 | 2 | 3, b: Buffer): this {
    const max = 2 ** (8 * n) - 1;
    if (b.length > max) throw new WireError('encode', `field of ${b.length} bytes does not fit a ${n}-byte length`);
    const h = Buffer.alloc(n);
    h.writeUIntBE(b.length, 0, n);
    this.#parts.push(h, b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

function u16list(v: number[]): Buffer {
  const b = Buffer.alloc(v.length * 2);
  v.forEach((x, i) => b.writeUInt16BE(x, i * 2));
  return b;
}

function ext(type: number, data: Buffer): Buffer {
  return new Writer().u16(type).vec(2, data).done();
}

// Random bytes for the hellos' random and session id, drawn 4 KiB at a time: a scan builds
// hundreds of hellos, and one randomBytes call each cost its main thread more than the rest of
// the random's handling (~3 ms a scan on this machine).
let pool = Buffer.alloc(0);
let poolAt = 0;
function freshRandom(n: number): Buffer {
  if (poolAt + n > pool.length) {
    pool = crypto.randomBytes(4096);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

/** The handshake body of a ClientHello (no record header). */
export function clientHelloBody(o: ClientHelloOptions): Buffer {
  const w = new Writer();
  w.u16(o.clientVersion);
  w.bytes(o.random ?? freshRandom(32));
  w.vec(1, o.sessionId ?? (o.supportedVersions ? freshRandom(32) : Buffer.alloc(0)));
  const scsv = o.scsv ?? (o.renegotiationInfo ? [] : [TLS_EMPTY_RENEGOTIATION_INFO_SCSV]);
  w.vec(2, u16list([...o.suites, ...scsv]));
  w.vec(1, Buffer.from(o.compression ?? [0]));
  if (o.noExtensions) return w.done();
  const exts: Buffer[] = [];
  if (o.sni) {
    const name = Buffer.from(o.sni, 'ascii');
    exts.push(ext(Ext.ServerName, new Writer().vec(2, new Writer().u8(0).vec(2, name).done()).done()));
  }
  if (o.groups) {
    exts.push(ext(Ext.SupportedGroups, new Writer().vec(2, u16list(o.groups)).done()));
    exts.push(ext(Ext.EcPointFormats, Buffer.from([1, 0])));
  }
  if (o.clientVersion >= VERSIONS['TLSv1.2'] || o.supportedVersions) {
    exts.push(ext(Ext.SignatureAlgorithms, new Writer().vec(2, u16list(o.sigAlgs ?? DEFAULT_SIG_ALGS)).done()));
  }
  if (o.alpn?.length) {
    const list = new Writer();
    for (const p of o.alpn) list.vec(1, Buffer.from(p, 'ascii'));
    exts.push(ext(Ext.Alpn, new Writer().vec(2, list.done()).done()));
  }
  if (o.statusRequest) exts.push(ext(Ext.StatusRequest, Buffer.from([1, 0, 0, 0, 0])));
  if (o.sct) exts.push(ext(Ext.SignedCertificateTimestamp, Buffer.alloc(0)));
  if (o.heartbeat) exts.push(ext(Ext.Heartbeat, Buffer.from([1])));
  if (o.encryptThenMac) exts.push(ext(Ext.EncryptThenMac, Buffer.alloc(0)));
  if (o.extendedMasterSecret) exts.push(ext(Ext.ExtendedMasterSecret, Buffer.alloc(0)));
  if (o.sessionTicket) exts.push(ext(Ext.SessionTicket, Buffer.alloc(0)));
  if (o.renegotiationInfo) exts.push(ext(Ext.RenegotiationInfo, Buffer.from([0])));
  if (o.supportedVersions) {
    exts.push(ext(Ext.SupportedVersions, new Writer().vec(1, u16list(o.supportedVersions)).done()));
    exts.push(ext(Ext.PskKeyExchangeModes, Buffer.from([1, 1])));
    const shares = new Writer();
    for (const g of o.keyShares ?? []) shares.u16(g).vec(2, keyShareFor(g));
    exts.push(ext(Ext.KeyShare, new Writer().vec(2, shares.done()).done()));
  }
  for (const e of o.extensions ?? []) exts.push(ext(e.type, e.data));
  w.vec(2, Buffer.concat(exts));
  return w.done();
}

/** A ClientHello in one handshake record (or several, if it exceeds 2^14 bytes). */
export function clientHello(o: ClientHelloOptions): Buffer {
  const body = clientHelloBody(o);
  const msg = new Writer().u8(HandshakeType.ClientHello).vec(3, body).done();
  const rv = o.recordVersion ?? Math.min(o.clientVersion, VERSIONS.TLSv1);
  const records: Buffer[] = [];
  for (let off = 0; off < msg.length; off += 16384) {
    const frag = msg.subarray(off, off + 16384);
    records.push(new Writer().u8(ContentType.Handshake).u16(rv).vec(2, frag).done());
  }
  return Buffer.concat(records);
}

/** An SSL 2.0 CLIENT-HELLO (2-byte record header) offering these SSL 2 cipher kinds. */
export function ssl2ClientHello(ciphers: number[] = SSL2_CIPHERS.map((c) => c.id), challenge = crypto.randomBytes(16)): Buffer {
  const specs = Buffer.alloc(ciphers.length * 3);
  ciphers.forEach((c, i) => specs.writeUIntBE(c, i * 3, 3));
  const body = Buffer.concat([
    Buffer.from([1, 0x00, 0x02]),
    u16list([specs.length, 0, challenge.length]),
    specs,
    challenge,
  ]);
  if (body.length > 0x7fff) throw new WireError('encode', 'SSL 2.0 CLIENT-HELLO too long');
  return Buffer.concat([Buffer.from([0x80 | (body.length >> 8), body.length & 0xff]), body]);
}

// ---- key shares --------------------------------------------------------------------------

const shareCache = new Map<number, Buffer>();

/**
 * A well-formed public key for group `id`: a real point for the NIST/brainpool curves (made once
 * with node:crypto), random bytes for X25519/X448, g^2 for the FFDHE groups (in the prime-order
 * subgroup, passes every public-key check), and for ML-KEM an encapsulation key whose
 * coefficients are all below q (the FIPS 203 modulus check a server runs) followed by rho.
 */
export function keyShareFor(id: number): Buffer {
  const cached = shareCache.get(id);
  if (cached) return cached;
  const g = groupInfo(id);
  if (!g || !g.shareLen) throw new WireError('encode', `no TLS 1.3 key share for group 0x${id.toString(16)}`);
  let share: Buffer;
  switch (g.name) {
    case 'x25519':
      share = crypto.randomBytes(32);
      break;
    case 'x448':
      share = crypto.randomBytes(56);
      break;
    case 'secp256r1':
      share = ecPoint('prime256v1');
      break;
    case 'secp384r1':
      share = ecPoint('secp384r1');
      break;
    case 'secp521r1':
      share = ecPoint('secp521r1');
      break;
    case 'brainpoolP256r1tls13':
      share = ecPoint('brainpoolP256r1');
      break;
    case 'brainpoolP384r1tls13':
      share = ecPoint('brainpoolP384r1');
      break;
    case 'brainpoolP512r1tls13':
      share = ecPoint('brainpoolP512r1');
      break;
    case 'X25519MLKEM768':
      share = Buffer.concat([mlkemEk(3), crypto.randomBytes(32)]);
      break;
    case 'SecP256r1MLKEM768':
      share = Buffer.concat([ecPoint('prime256v1'), mlkemEk(3)]);
      break;
    case 'SecP384r1MLKEM1024':
      share = Buffer.concat([ecPoint('secp384r1'), mlkemEk(4)]);
      break;
    case 'MLKEM512':
      share = mlkemEk(2);
      break;
    case 'MLKEM768':
      share = mlkemEk(3);
      break;
    case 'MLKEM1024':
      share = mlkemEk(4);
      break;
    case 'X25519Kyber768Draft00':
      share = Buffer.concat([crypto.randomBytes(32), mlkemEk(3)]);
      break;
    default:
      if (g.kind === 'ffdhe') {
        share = Buffer.alloc(g.shareLen);
        share[share.length - 1] = 4;
        break;
      }
      throw new WireError('encode', `no key share recipe for ${g.name}`);
  }
  if (share.length !== g.shareLen) throw new WireError('encode', `${g.name} share is ${share.length} bytes, expected ${g.shareLen}`);
  shareCache.set(id, share);
  return share;
}

function ecPoint(curve: string): Buffer {
  const ecdh = crypto.createECDH(curve);
  return ecdh.generateKeys() as Buffer;
}

/** ByteEncode12 of k*256 random coefficients < 3329, then a random 32-byte rho (FIPS 203 ek layout). */
function mlkemEk(k: number): Buffer {
  const n = k * 256;
  const out = Buffer.alloc(n * 1.5 + 32);
  const rnd = crypto.randomBytes(n * 2);
  for (let i = 0, o = 0; i < n; i += 2, o += 3) {
    const a = rnd.readUInt16BE(i * 2) % 3329;
    const b = rnd.readUInt16BE(i * 2 + 2) % 3329;
    out[o] = a & 0xff;
    out[o + 1] = (a >> 8) | ((b & 0x0f) << 4);
    out[o + 2] = b >> 4;
  }
  crypto.randomBytes(32).copy(out, n * 1.5);
  return out;
}

/** Every group with a TLS 1.3 key share, in our default offer order. */
export const TLS13_GROUPS = GROUPS.filter((g) => g.shareLen > 0).map((g) => g.id);
