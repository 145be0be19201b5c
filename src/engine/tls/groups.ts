// Key exchange groups by name: what a connection negotiated, said the way OpenSSL says it
// (X25519MLKEM768, SecP256r1MLKEM768, ...), and --groups lists checked against the OpenSSL in
// use before anything connects, with one line naming the group it lacks.
import * as o from '../../../native/openssl';
import { ConfigError } from '../errors';
import { opensslAtLeast } from '../openssl_info';
import { drainErrorQueue } from './openssl_errors';

/**
 * TLS SupportedGroups code points (IANA registry) and OpenSSL's TLS name for each: the fallback
 * when the loaded OpenSSL has no name function (both SSL_get0_group_name and SSL_group_to_name
 * missing) or does not know a group it was handed by a provider.
 */
export const IANA_GROUPS: Readonly<Record<number, string>> = {
  0x0017: 'secp256r1',
  0x0018: 'secp384r1',
  0x0019: 'secp521r1',
  0x001a: 'brainpoolP256r1',
  0x001b: 'brainpoolP384r1',
  0x001c: 'brainpoolP512r1',
  0x001d: 'x25519',
  0x001e: 'x448',
  0x001f: 'brainpoolP256r1tls13',
  0x0020: 'brainpoolP384r1tls13',
  0x0021: 'brainpoolP512r1tls13',
  0x0100: 'ffdhe2048',
  0x0101: 'ffdhe3072',
  0x0102: 'ffdhe4096',
  0x0103: 'ffdhe6144',
  0x0104: 'ffdhe8192',
  0x0200: 'MLKEM512',
  0x0201: 'MLKEM768',
  0x0202: 'MLKEM1024',
  0x11eb: 'SecP256r1MLKEM768',
  0x11ec: 'X25519MLKEM768',
  0x11ed: 'SecP384r1MLKEM1024',
  0x6399: 'X25519Kyber768Draft00',
};

// OpenSSL's TLS names for the classic curves are lower case RFC names (x25519, secp256r1); the
// report uses the names people type and read (X25519, P-256), which OpenSSL accepts as well.
// Every other name (the ML-KEM hybrids, ffdhe*, brainpool*) is shown exactly as OpenSSL spells it.
const DISPLAY: Readonly<Record<string, string>> = {
  x25519: 'X25519',
  x448: 'X448',
  secp256r1: 'P-256',
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** The name a report shows for one of OpenSSL's group names. */
export function displayGroup(name: string): string {
  return DISPLAY[name.toLowerCase()] ?? name;
}

/** Whether a group does its key exchange with ML-KEM (alone or in a hybrid). */
export function isPostQuantum(name: string): boolean {
  return /MLKEM|Kyber/i.test(name);
}

/** The group this connection's key exchange used (for a resumed TLS 1.2 session, its session's), or undefined (RSA key exchange). */
export function negotiatedGroup(s: o.OpenSSL, ssl: bigint): string | undefined {
  // 3.2+: the name straight from the connection; the only way to name a group that has no NID.
  if (s.SSL_get0_group_name) {
    const name = s.SSL_get0_group_name(ssl) as string | null;
    if (name) return displayGroup(name);
  }
  const id = Number(s.SSL_ctrl(ssl, o.SSL_CTRL_GET_NEGOTIATED_GROUP, 0, null));
  if (id <= 0) return undefined;
  // A bench asks this once per handshake: an id's name never changes, so it is looked up (a
  // native string made into a JS one) and lower-cased once per thread, not per handshake.
  const known = namesById.get(id);
  if (known !== undefined) return known;
  const name = groupNameById(s, ssl, id);
  namesById.set(id, name);
  return name;
}

/** Display names by SSL_get_negotiated_group result (3.0/3.1), for this thread. */
const namesById = new Map<number, string>();

function groupNameById(s: o.OpenSSL, ssl: bigint, id: number): string {
  // 3.0/3.1: the name from SSL_get_negotiated_group's result (a NID, or a code point with
  // TLSEXT_nid_unknown set for a group without one).
  if (s.SSL_group_to_name) {
    const name = s.SSL_group_to_name(ssl, id) as string | null;
    if (name) return displayGroup(name);
  }
  if (id & o.TLSEXT_nid_unknown) {
    const codePoint = id & 0xffff;
    const known = IANA_GROUPS[codePoint];
    return known ? displayGroup(known) : `0x${codePoint.toString(16).padStart(4, '0')}`;
  }
  return displayGroup(s.OBJ_nid2sn(id) as string);
}

/**
 * A --groups value as OpenSSL takes it: commas accepted as separators (like every other list
 * flag here) and turned into OpenSSL's colons. OpenSSL 3.5's own syntax ('?' for optional, '*'
 * for a key share, '/' between preference tuples, DEFAULT) passes through unchanged.
 */
export function groupsList(value: string): string {
  return value
    .split(/[,:]/)
    .map((g) => g.trim())
    .filter(Boolean)
    .join(':');
}

/**
 * Checks each group of a --groups value against the loaded OpenSSL and returns the list in
 * OpenSSL's syntax. Throws a ConfigError naming the first group it does not have.
 */
export function checkGroups(s: o.OpenSSL, value: string): string {
  const list = groupsList(value);
  if (!list) throw new ConfigError('--groups is empty');
  const ctx = s.SSL_CTX_new(s.TLS_client_method());
  if (!ctx) throw new ConfigError('--groups: SSL_CTX_new failed');
  try {
    for (const token of list.split(/[:/]/)) {
      // '?name' asks OpenSSL to skip a group it lacks: nothing to check.
      if (!token || token.startsWith('?')) continue;
      const name = token.replace(/^[*-]+/, '');
      if (!name || (name.toUpperCase() === 'DEFAULT' && opensslAtLeast(3, 5, s))) continue;
      if (!s.SSL_CTX_ctrl_str(ctx, o.SSL_CTRL_SET_GROUPS_LIST, 0, name)) {
        drainErrorQueue(s);
        throw new ConfigError(missingGroupMessage(s, name));
      }
    }
    if (!s.SSL_CTX_ctrl_str(ctx, o.SSL_CTRL_SET_GROUPS_LIST, 0, list)) {
      const why = drainErrorQueue(s)[0];
      throw new ConfigError(`--groups '${value}' is not a valid group list${why ? `: ${why}` : ''}`);
    }
  } finally {
    s.SSL_CTX_free(ctx);
  }
  return list;
}

function missingGroupMessage(s: o.OpenSSL, name: string): string {
  const version = s.version.replace(/^OpenSSL\s+/, '').split(' ')[0];
  const known = Object.values(IANA_GROUPS).some((g) => g.toLowerCase() === name.toLowerCase());
  if (isPostQuantum(name) && known)
    return `--groups: ${name} is not available in OpenSSL ${version} (ML-KEM groups need OpenSSL 3.5 or later, as bundled with Node.js 22 and 24)`;
  if (known) return `--groups: ${name} is not available in OpenSSL ${version}`;
  return `--groups: unknown group '${name}' (OpenSSL ${version} knows e.g. ${opensslAtLeast(3, 5, s) ? 'X25519MLKEM768, ' : ''}X25519, P-256, P-384)`;
}
