// What a server most likely prefers, for the first guess of the order merge (eliminate.ts): the
// defaults of the libraries and the profiles most servers are configured from. A wrong guess costs
// the merge a round trip, never a wrong answer: every step of a guess is asked of the server.
import { suiteById, suiteKx } from '../wire/suites';

// OpenSSL's default groups, a guess each: 3.0 has x25519, P-256, x448, P-521, P-384, then the
// FFDHE groups; 3.5 puts the ML-KEM hybrid first and P-384 before P-521.
const GROUPS_30 = [29, 23, 30, 25, 24, 256, 257, 258, 259, 260];
const GROUPS_35 = [0x11ec, 29, 23, 30, 24, 25, 256, 257, 0x11eb, 0x11ed, 258, 259, 260];

// OpenSSL's default TLS 1.3 suites (TLS_AES_256_GCM_SHA384, ChaCha20, TLS_AES_128_GCM_SHA256), then CCM.
const TLS13_SUITES = [0x1302, 0x1303, 0x1301, 0x1304, 0x1305];

// TLS <= 1.2, as Mozilla's server-side profiles order them (intermediate, then old): forward-secret
// AEAD first (ECDHE before DHE), then forward-secret CBC, then RSA key exchange; within each,
// AES-128-GCM, AES-256-GCM, ChaCha20, and for CBC the SHA-2 MAC before SHA-1 at each key size.
const ENC_RANKS: [RegExp, number][] = [
  [/AES_128_GCM/, 0],
  [/AES_256_GCM/, 1],
  [/CHACHA20/, 2],
  [/AES_128_CCM/, 3],
  [/AES_256_CCM/, 4],
  [/_GCM_/, 5],
  [/AES_128_CBC_SHA256$/, 10],
  [/AES_128_CBC_SHA$/, 11],
  [/AES_256_CBC_SHA384$/, 12],
  [/AES_256_CBC_SHA(256)?$/, 13],
  [/CAMELLIA|ARIA|SEED/, 20],
  [/3DES/, 30],
  [/RC4/, 40],
];

function suiteRank12(id: number): number {
  const s = suiteById(id);
  if (!s) return 1000;
  const kx = suiteKx(s);
  const aead = s.flags.has('aead');
  const anon = s.flags.has('anon') || s.flags.has('psk');
  const tier = anon ? 6 : kx === 'ecdhe' ? (aead ? 0 : 2) : kx === 'dhe' ? (aead ? 1 : 3) : kx === 'rsa' ? (aead ? 4 : 5) : 6;
  const enc = ENC_RANKS.find(([re]) => re.test(s.iana))?.[1] ?? 50;
  return tier * 100 + enc;
}

/**
 * TLS <= 1.2 as OpenSSL orders its own lists (DEFAULT, HIGH, ALL: a server with server order and
 * no list of its own, or a list like those): forward-secret before RSA key exchange; AEAD, then
 * CBC with a SHA-2 MAC, then with SHA-1; 256-bit before 128-bit; anonymous after the rest of
 * their group; AES-GCM, ChaCha20, AES-CCM (CCM8 first), ARIA (CBC: AES, Camellia); ECDHE before
 * DHE. Against `openssl ciphers -s -tls1_2` it matches DEFAULT exactly, and HIGH and ALL but for
 * ties between suites of different key types (DHE-DSS and DHE-RSA), which one server rarely has.
 */
function opensslRank12(id: number): number {
  const s = suiteById(id);
  if (!s) return 1e6;
  const tier = s.kx === 'RSA' ? 1 : s.flags.has('psk') ? 2 : s.kx === 'ECDH' || s.kx === 'DH' ? 0 : 3;
  const mac = s.mac === 'AEAD' ? 0 : s.mac === 'SHA256' || s.mac === 'SHA384' ? 1 : s.mac === 'SHA1' ? 2 : 3;
  const small = s.bits >= 256 ? 0 : 1;
  const anon = s.flags.has('anon') ? 1 : 0;
  const enc = /^AESGCM/.test(s.enc) ? 0 : /^CHACHA20/.test(s.enc) ? 1 : /^AESCCM/.test(s.enc) ? 2 : /^ARIA/.test(s.enc) ? 4 : /^AES\(/.test(s.enc) ? 0 : /^Camellia/i.test(s.enc) ? 1 : 6;
  const kx = s.kx === 'ECDH' ? (s.au === 'ECDSA' ? 0 : 1) : s.kx === 'DH' ? (s.au === 'DSS' ? 2 : 3) : 4;
  // CCM: by key exchange first, then CCM8 before CCM.
  const ccm = /^AESCCM\(/.test(s.enc) ? 0.5 : 0;
  return tier * 100_000 + mac * 10_000 + small * 1_000 + anon * 500 + enc * 10 + kx + ccm;
}

const rankIn = (list: number[]) => (id: number) => {
  const i = list.indexOf(id);
  return i < 0 ? list.length : i;
};

/**
 * The orders a server most likely has, each a rank (lower first; ties keep our offer order); the
 * merge guesses from each and asks all the guesses' steps in one round. `kind` is the
 * elimination's name ("ciphers TLSv1.3", "groups TLSv1.2"...).
 */
export function likelyRanks(kind: string): ((id: number) => number)[] {
  if (kind.startsWith('groups')) return [rankIn(GROUPS_30), rankIn(GROUPS_35)];
  if (kind === 'ciphers TLSv1.3') return [rankIn(TLS13_SUITES)];
  if (kind.startsWith('ciphers')) return [suiteRank12, opensslRank12];
  return [];
}
