// The cipher suite table as objects: lookups by IANA id and the lists a scan offers per version.
import { SUITE_ROWS } from './cipher_suites';
import type { VersionName } from './constants';

export type SuiteFlag = 'export' | 'null' | 'anon' | 'rc4' | '3des' | 'des' | 'cbc' | 'psk' | 'pfs' | 'aead';

export interface CipherSuite {
  id: number;
  iana: string;
  openssl: string;
  /** The lowest version it is defined for: SSLv3 (also TLS 1.0-1.2), TLSv1.2 (1.2 only), TLSv1.3 (1.3 only). */
  minVersion: 'SSLv3' | 'TLSv1.2' | 'TLSv1.3';
  kx: string;
  au: string;
  enc: string;
  mac: string;
  bits: number;
  flags: ReadonlySet<SuiteFlag>;
}

export const SUITES: readonly CipherSuite[] = SUITE_ROWS.map(([id, iana, openssl, minVersion, kx, au, enc, mac, bits, flags]) => ({
  id,
  iana,
  openssl,
  minVersion,
  kx,
  au,
  enc,
  mac,
  bits,
  flags: new Set(flags ? (flags.split(',') as SuiteFlag[]) : []),
}));

const BY_ID = new Map(SUITES.map((s) => [s.id, s]));

export function suiteById(id: number): CipherSuite | undefined {
  return BY_ID.get(id);
}

export function suiteName(id: number): string {
  return BY_ID.get(id)?.iana ?? `0x${id.toString(16).padStart(4, '0')}`;
}

const FOR_VERSION = new Map<VersionName, readonly CipherSuite[]>();

/**
 * The suites a ClientHello for this version can offer (TLS 1.2-only suites from 1.2 on, 1.3 suites
 * only in 1.3). One list per version, kept: a scan asks for one with nearly every ClientHello.
 */
export function suitesFor(version: VersionName): readonly CipherSuite[] {
  let list = FOR_VERSION.get(version);
  if (!list) {
    const tls12 = version === 'TLSv1.2';
    list = Object.freeze(
      version === 'SSLv2'
        ? []
        : version === 'TLSv1.3'
          ? SUITES.filter((s) => s.minVersion === 'TLSv1.3')
          : SUITES.filter((s) => s.minVersion === 'SSLv3' || (tls12 && s.minVersion === 'TLSv1.2'))
    );
    FOR_VERSION.set(version, list);
  }
  return list;
}

/** Key exchange family of a suite, for choosing what to read from a ServerKeyExchange. */
export function suiteKx(s: CipherSuite | undefined): 'ecdhe' | 'dhe' | 'rsa' | 'other' | 'tls13' {
  if (!s) return 'other';
  if (s.minVersion === 'TLSv1.3') return 'tls13';
  if (/^TLS_(ECDHE|ECDH_anon)_/.test(s.iana)) return 'ecdhe';
  if (/^TLS_(DHE|DH_anon)_/.test(s.iana)) return 'dhe';
  if (/^TLS_RSA_/.test(s.iana)) return 'rsa';
  return 'other';
}
