// ROBOT (Return Of Bleichenbacher's Oracle Threat, CVE-2017-13099 and vendor CVEs), checked as
// the authors' robot-detect does: with the server's RSA key, five ClientKeyExchanges whose
// PKCS#1 v1.5 plaintexts are a correct one and four broken ones (wrong first bytes, the 0x00
// separator misplaced or missing, a wrong version), each followed by ChangeCipherSpec and a
// Finished the server cannot verify. A server that answers the broken ones differently from the
// correct one (another alert, a close, silence) is an oracle: vulnerable. When all five look the
// same, the other five decide: the same ClientKeyExchanges without ChangeCipherSpec and Finished.
// Differences are asked twice, and only a difference that repeats is a verdict. Ten to twenty
// failed handshakes: safe to send.
import crypto from 'node:crypto';
import { ContentType, VERSIONS, VersionName } from '../wire/constants';

/** HandshakeType client_key_exchange (RFC 5246 7.4). */
const CLIENT_KEY_EXCHANGE = 16;
import { conversation, ConversationResult } from './past_hello';
import type { VulnerabilityCheck } from './types';

export const ROBOT_CVE = ['CVE-2017-13099'];

export interface RsaKey {
  n: bigint;
  e: bigint;
  bytes: number;
}

/** The RSA public key of a DER certificate, or undefined for another key type. */
export function rsaKeyOf(der: Buffer): RsaKey | undefined {
  try {
    const key = new crypto.X509Certificate(der).publicKey;
    if (key.asymmetricKeyType !== 'rsa') return undefined;
    const jwk = key.export({ format: 'jwk' }) as { n: string; e: string };
    const big = (b64: string) => BigInt(`0x${Buffer.from(b64, 'base64url').toString('hex')}`);
    const n = big(jwk.n);
    return { n, e: big(jwk.e), bytes: Buffer.from(jwk.n, 'base64url').length };
  } catch {
    return undefined;
  }
}

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

function nonZero(n: number): Buffer {
  const b = crypto.randomBytes(n);
  for (let i = 0; i < n; i++) while (b[i] === 0) b[i] = crypto.randomBytes(1)[0];
  return b;
}

/** robot-detect's five plaintexts, each the modulus' length. */
export function robotPlaintexts(k: number, version: number): Buffer[] {
  const pad = nonZero(k - 48 - 3);
  const rnd = crypto.randomBytes(46);
  const v = Buffer.from([version >> 8, version & 0xff]);
  return [
    Buffer.concat([Buffer.from([0, 2]), pad, Buffer.from([0]), v, rnd]), // correct
    Buffer.concat([Buffer.from([0x41, 0x17]), pad, Buffer.from([0]), v, rnd]), // wrong first two bytes
    Buffer.concat([Buffer.from([0, 2]), pad, Buffer.from([0x11]), rnd, Buffer.from([0, 0x11])]), // 0x00 in a wrong place
    Buffer.concat([Buffer.from([0, 2]), pad, Buffer.from([0x11, 0x11, 0x11]), rnd]), // no 0x00 separator
    Buffer.concat([Buffer.from([0, 2]), pad, Buffer.from([0, 0x02, 0x02]), rnd]), // wrong version
  ];
}

function encrypt(m: Buffer, key: RsaKey): Buffer {
  const c = modPow(BigInt(`0x${m.toString('hex')}`), key.e, key.n);
  return Buffer.from(c.toString(16).padStart(key.bytes * 2, '0'), 'hex');
}

function record(type: number, version: number, body: Buffer): Buffer {
  const h = Buffer.from([type, version >> 8, version & 0xff, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([h, body]);
}

/**
 * ClientKeyExchange for one encrypted premaster secret, then either ChangeCipherSpec and a Finished
 * nobody can verify, or (without them) one application-data record. robot-detect sends the
 * ClientKeyExchange alone and waits: a server that does not tell the secrets apart then stays
 * silent for all five, and only a timer ends the wait (a second a probe, the slowest part of a
 * scan). The record after it is read only once the ClientKeyExchange has been handled, so an
 * oracle still answers the malformed ones first, while a server that waits for the rest of the
 * handshake answers at once (OpenSSL: unexpected_message), for all five alike.
 */
export function robotFlight(ciphertext: Buffer, version: number, withCcs: boolean): Buffer {
  const body = Buffer.concat([Buffer.from([ciphertext.length >> 8, ciphertext.length & 0xff]), ciphertext]);
  const cke = Buffer.concat([Buffer.from([CLIENT_KEY_EXCHANGE, 0, body.length >> 8, body.length & 0xff]), body]);
  const parts = [record(ContentType.Handshake, version, cke)];
  if (withCcs) parts.push(record(ContentType.ChangeCipherSpec, version, Buffer.from([1])), record(ContentType.Handshake, version, crypto.randomBytes(64)));
  else parts.push(record(ContentType.ApplicationData, version, crypto.randomBytes(32)));
  return Buffer.concat(parts);
}

/** What the server did after our flight, as a comparable string. */
export function answerOf(r: ConversationResult): string {
  if (r.kind !== 'answer') return `no-flight:${r.kind}`;
  const a = r.replies[0];
  if (!a) return 'none';
  const parts = a.alerts.map((x) => `alert:${x.name}`);
  const other = a.types.filter((t) => t !== ContentType.Alert);
  if (other.length) parts.push(`records:${other.join(',')}`);
  if (a.closed) parts.push('closed');
  if (a.silent) parts.push('silent');
  return parts.join('+') || 'none';
}

export interface RobotOptions {
  host: string;
  port: number;
  timeoutMs: number;
  version: VersionName;
  /** A ClientHello offering only RSA key exchange suites. */
  hello: () => Buffer;
  key: RsaKey;
  /** Runs one connection (the host's limiter). */
  limit<T>(fn: () => Promise<T>): Promise<T>;
}

export async function robotProbe(o: RobotOptions): Promise<VulnerabilityCheck & { answers?: string[] }> {
  const base = { method: 'probed' as const, cve: ROBOT_CVE };
  const v = VERSIONS[o.version];
  const round = async (withCcs: boolean) => {
    const texts = robotPlaintexts(o.key.bytes, v);
    return Promise.all(
      texts.map((m) =>
        o.limit(() =>
          conversation({ host: o.host, port: o.port, timeoutMs: o.timeoutMs, hello: o.hello(), steps: [robotFlight(encrypt(m, o.key), v, withCcs)], stepWaitMs: Math.min(o.timeoutMs, 1000) }).then(answerOf)
        )
      )
    );
  };
  // Both sets at once: the second decides only when the first finds no difference, which is
  // nearly always, so asking for it later would only add its time to the scan's.
  const sets = await Promise.all([round(true), round(false)]);
  for (const withCcs of [true, false]) {
    const a = sets[withCcs ? 0 : 1];
    const how = withCcs ? 'ClientKeyExchange, ChangeCipherSpec, Finished' : 'ClientKeyExchange without ChangeCipherSpec';
    if (a.some((x) => x.startsWith('no-flight'))) return { ...base, status: 'unknown', detail: `a probe got no first flight (${a.join(', ')})`, answers: a };
    if (new Set(a).size === 1) {
      if (withCcs) continue;
      return { ...base, status: 'not-vulnerable', detail: `the same answer (${a[0]}) to a correct and four malformed PKCS#1 premaster secrets, with and without ChangeCipherSpec and Finished`, answers: a };
    }
    // A difference: only one that repeats is an oracle (a loaded server may just have been slow once).
    const again = await round(withCcs);
    if (again.join('|') === a.join('|'))
      return { ...base, status: 'vulnerable', detail: `the server answers malformed RSA premaster secrets differently (${how}: ${a.join(' / ')}): a Bleichenbacher oracle`, answers: a };
    return { ...base, status: 'unknown', detail: `answers differ but not the same way twice (${a.join(' / ')}, then ${again.join(' / ')})`, answers: a };
  }
  return { ...base, status: 'unknown', detail: 'no verdict' };
}
