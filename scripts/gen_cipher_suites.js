#!/usr/bin/env node
// Generates src/engine/wire/cipher_suites.ts, the scan's table of TLS cipher suites, from
// `openssl ciphers -V -stdname 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'` (IANA id, IANA name, OpenSSL name,
// version, Kx, Au, Enc, Mac) plus the LEGACY lines below in the same format: the suites an OpenSSL
// 3 build no longer lists (export, RC4, DES/3DES, IDEA, RC2, fixed DH, CCM TLS 1.3), which a scan
// must still offer because old servers accept them. Their ids and names are IANA's registry
// (https://www.iana.org/assignments/tls-parameters/, "TLS Cipher Suites") and OpenSSL 1.0.2's names.
// Run by hand when the table should change: node scripts/gen_cipher_suites.js [openssl binary]
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const LEGACY = `
0x13,0x04 - TLS_AES_128_CCM_SHA256 - TLS_AES_128_CCM_SHA256 TLSv1.3 Kx=any Au=any Enc=AESCCM(128) Mac=AEAD
0x13,0x05 - TLS_AES_128_CCM_8_SHA256 - TLS_AES_128_CCM_8_SHA256 TLSv1.3 Kx=any Au=any Enc=AESCCM8(128) Mac=AEAD
0x00,0x03 - TLS_RSA_EXPORT_WITH_RC4_40_MD5 - EXP-RC4-MD5 SSLv3 Kx=RSA(512) Au=RSA Enc=RC4(40) Mac=MD5
0x00,0x04 - TLS_RSA_WITH_RC4_128_MD5 - RC4-MD5 SSLv3 Kx=RSA Au=RSA Enc=RC4(128) Mac=MD5
0x00,0x05 - TLS_RSA_WITH_RC4_128_SHA - RC4-SHA SSLv3 Kx=RSA Au=RSA Enc=RC4(128) Mac=SHA1
0x00,0x06 - TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5 - EXP-RC2-CBC-MD5 SSLv3 Kx=RSA(512) Au=RSA Enc=RC2(40) Mac=MD5
0x00,0x07 - TLS_RSA_WITH_IDEA_CBC_SHA - IDEA-CBC-SHA SSLv3 Kx=RSA Au=RSA Enc=IDEA(128) Mac=SHA1
0x00,0x08 - TLS_RSA_EXPORT_WITH_DES40_CBC_SHA - EXP-DES-CBC-SHA SSLv3 Kx=RSA(512) Au=RSA Enc=DES(40) Mac=SHA1
0x00,0x09 - TLS_RSA_WITH_DES_CBC_SHA - DES-CBC-SHA SSLv3 Kx=RSA Au=RSA Enc=DES(56) Mac=SHA1
0x00,0x0A - TLS_RSA_WITH_3DES_EDE_CBC_SHA - DES-CBC3-SHA SSLv3 Kx=RSA Au=RSA Enc=3DES(168) Mac=SHA1
0x00,0x0B - TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA - EXP-DH-DSS-DES-CBC-SHA SSLv3 Kx=DH/DSS Au=DH Enc=DES(40) Mac=SHA1
0x00,0x0C - TLS_DH_DSS_WITH_DES_CBC_SHA - DH-DSS-DES-CBC-SHA SSLv3 Kx=DH/DSS Au=DH Enc=DES(56) Mac=SHA1
0x00,0x0D - TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA - DH-DSS-DES-CBC3-SHA SSLv3 Kx=DH/DSS Au=DH Enc=3DES(168) Mac=SHA1
0x00,0x0E - TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA - EXP-DH-RSA-DES-CBC-SHA SSLv3 Kx=DH/RSA Au=DH Enc=DES(40) Mac=SHA1
0x00,0x0F - TLS_DH_RSA_WITH_DES_CBC_SHA - DH-RSA-DES-CBC-SHA SSLv3 Kx=DH/RSA Au=DH Enc=DES(56) Mac=SHA1
0x00,0x10 - TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA - DH-RSA-DES-CBC3-SHA SSLv3 Kx=DH/RSA Au=DH Enc=3DES(168) Mac=SHA1
0x00,0x11 - TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA - EXP-EDH-DSS-DES-CBC-SHA SSLv3 Kx=DH(512) Au=DSS Enc=DES(40) Mac=SHA1
0x00,0x12 - TLS_DHE_DSS_WITH_DES_CBC_SHA - EDH-DSS-DES-CBC-SHA SSLv3 Kx=DH Au=DSS Enc=DES(56) Mac=SHA1
0x00,0x13 - TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA - EDH-DSS-DES-CBC3-SHA SSLv3 Kx=DH Au=DSS Enc=3DES(168) Mac=SHA1
0x00,0x14 - TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA - EXP-EDH-RSA-DES-CBC-SHA SSLv3 Kx=DH(512) Au=RSA Enc=DES(40) Mac=SHA1
0x00,0x15 - TLS_DHE_RSA_WITH_DES_CBC_SHA - EDH-RSA-DES-CBC-SHA SSLv3 Kx=DH Au=RSA Enc=DES(56) Mac=SHA1
0x00,0x16 - TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA - EDH-RSA-DES-CBC3-SHA SSLv3 Kx=DH Au=RSA Enc=3DES(168) Mac=SHA1
0x00,0x17 - TLS_DH_anon_EXPORT_WITH_RC4_40_MD5 - EXP-ADH-RC4-MD5 SSLv3 Kx=DH(512) Au=None Enc=RC4(40) Mac=MD5
0x00,0x18 - TLS_DH_anon_WITH_RC4_128_MD5 - ADH-RC4-MD5 SSLv3 Kx=DH Au=None Enc=RC4(128) Mac=MD5
0x00,0x19 - TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA - EXP-ADH-DES-CBC-SHA SSLv3 Kx=DH(512) Au=None Enc=DES(40) Mac=SHA1
0x00,0x1A - TLS_DH_anon_WITH_DES_CBC_SHA - ADH-DES-CBC-SHA SSLv3 Kx=DH Au=None Enc=DES(56) Mac=SHA1
0x00,0x1B - TLS_DH_anon_WITH_3DES_EDE_CBC_SHA - ADH-DES-CBC3-SHA SSLv3 Kx=DH Au=None Enc=3DES(168) Mac=SHA1
0x00,0x62 - TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA - EXP1024-DES-CBC-SHA SSLv3 Kx=RSA(1024) Au=RSA Enc=DES(56) Mac=SHA1
0x00,0x63 - TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA - EXP1024-DHE-DSS-DES-CBC-SHA SSLv3 Kx=DH(1024) Au=DSS Enc=DES(56) Mac=SHA1
0x00,0x64 - TLS_RSA_EXPORT1024_WITH_RC4_56_SHA - EXP1024-RC4-SHA SSLv3 Kx=RSA(1024) Au=RSA Enc=RC4(56) Mac=SHA1
0x00,0x65 - TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA - EXP1024-DHE-DSS-RC4-SHA SSLv3 Kx=DH(1024) Au=DSS Enc=RC4(56) Mac=SHA1
0x00,0x66 - TLS_DHE_DSS_WITH_RC4_128_SHA - DHE-DSS-RC4-SHA SSLv3 Kx=DH Au=DSS Enc=RC4(128) Mac=SHA1
0x00,0x8A - TLS_PSK_WITH_RC4_128_SHA - PSK-RC4-SHA SSLv3 Kx=PSK Au=PSK Enc=RC4(128) Mac=SHA1
0x00,0x8B - TLS_PSK_WITH_3DES_EDE_CBC_SHA - PSK-3DES-EDE-CBC-SHA SSLv3 Kx=PSK Au=PSK Enc=3DES(168) Mac=SHA1
0x00,0x8E - TLS_DHE_PSK_WITH_RC4_128_SHA - DHE-PSK-RC4-SHA SSLv3 Kx=DHEPSK Au=PSK Enc=RC4(128) Mac=SHA1
0x00,0x8F - TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA - DHE-PSK-3DES-EDE-CBC-SHA SSLv3 Kx=DHEPSK Au=PSK Enc=3DES(168) Mac=SHA1
0x00,0x92 - TLS_RSA_PSK_WITH_RC4_128_SHA - RSA-PSK-RC4-SHA SSLv3 Kx=RSAPSK Au=RSA Enc=RC4(128) Mac=SHA1
0x00,0x93 - TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA - RSA-PSK-3DES-EDE-CBC-SHA SSLv3 Kx=RSAPSK Au=RSA Enc=3DES(168) Mac=SHA1
0x00,0x96 - TLS_RSA_WITH_SEED_CBC_SHA - SEED-SHA SSLv3 Kx=RSA Au=RSA Enc=SEED(128) Mac=SHA1
0x00,0x99 - TLS_DHE_DSS_WITH_SEED_CBC_SHA - DHE-DSS-SEED-SHA SSLv3 Kx=DH Au=DSS Enc=SEED(128) Mac=SHA1
0x00,0x9A - TLS_DHE_RSA_WITH_SEED_CBC_SHA - DHE-RSA-SEED-SHA SSLv3 Kx=DH Au=RSA Enc=SEED(128) Mac=SHA1
0x00,0x9B - TLS_DH_anon_WITH_SEED_CBC_SHA - ADH-SEED-SHA SSLv3 Kx=DH Au=None Enc=SEED(128) Mac=SHA1
0xC0,0x02 - TLS_ECDH_ECDSA_WITH_RC4_128_SHA - ECDH-ECDSA-RC4-SHA SSLv3 Kx=ECDH/ECDSA Au=ECDH Enc=RC4(128) Mac=SHA1
0xC0,0x03 - TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA - ECDH-ECDSA-DES-CBC3-SHA SSLv3 Kx=ECDH/ECDSA Au=ECDH Enc=3DES(168) Mac=SHA1
0xC0,0x04 - TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA - ECDH-ECDSA-AES128-SHA SSLv3 Kx=ECDH/ECDSA Au=ECDH Enc=AES(128) Mac=SHA1
0xC0,0x05 - TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA - ECDH-ECDSA-AES256-SHA SSLv3 Kx=ECDH/ECDSA Au=ECDH Enc=AES(256) Mac=SHA1
0xC0,0x07 - TLS_ECDHE_ECDSA_WITH_RC4_128_SHA - ECDHE-ECDSA-RC4-SHA SSLv3 Kx=ECDH Au=ECDSA Enc=RC4(128) Mac=SHA1
0xC0,0x08 - TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA - ECDHE-ECDSA-DES-CBC3-SHA SSLv3 Kx=ECDH Au=ECDSA Enc=3DES(168) Mac=SHA1
0xC0,0x0C - TLS_ECDH_RSA_WITH_RC4_128_SHA - ECDH-RSA-RC4-SHA SSLv3 Kx=ECDH/RSA Au=ECDH Enc=RC4(128) Mac=SHA1
0xC0,0x0D - TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA - ECDH-RSA-DES-CBC3-SHA SSLv3 Kx=ECDH/RSA Au=ECDH Enc=3DES(168) Mac=SHA1
0xC0,0x0E - TLS_ECDH_RSA_WITH_AES_128_CBC_SHA - ECDH-RSA-AES128-SHA SSLv3 Kx=ECDH/RSA Au=ECDH Enc=AES(128) Mac=SHA1
0xC0,0x0F - TLS_ECDH_RSA_WITH_AES_256_CBC_SHA - ECDH-RSA-AES256-SHA SSLv3 Kx=ECDH/RSA Au=ECDH Enc=AES(256) Mac=SHA1
0xC0,0x11 - TLS_ECDHE_RSA_WITH_RC4_128_SHA - ECDHE-RSA-RC4-SHA SSLv3 Kx=ECDH Au=RSA Enc=RC4(128) Mac=SHA1
0xC0,0x12 - TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA - ECDHE-RSA-DES-CBC3-SHA SSLv3 Kx=ECDH Au=RSA Enc=3DES(168) Mac=SHA1
0xC0,0x16 - TLS_ECDH_anon_WITH_RC4_128_SHA - AECDH-RC4-SHA SSLv3 Kx=ECDH Au=None Enc=RC4(128) Mac=SHA1
0xC0,0x17 - TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA - AECDH-DES-CBC3-SHA SSLv3 Kx=ECDH Au=None Enc=3DES(168) Mac=SHA1
0xC0,0x1A - TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA - SRP-3DES-EDE-CBC-SHA SSLv3 Kx=SRP Au=SRP Enc=3DES(168) Mac=SHA1
0xC0,0x33 - TLS_ECDHE_PSK_WITH_RC4_128_SHA - ECDHE-PSK-RC4-SHA SSLv3 Kx=ECDHEPSK Au=PSK Enc=RC4(128) Mac=SHA1
0xC0,0x34 - TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA - ECDHE-PSK-3DES-EDE-CBC-SHA SSLv3 Kx=ECDHEPSK Au=PSK Enc=3DES(168) Mac=SHA1
0xC0,0x25 - TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256 - ECDH-ECDSA-AES128-SHA256 TLSv1.2 Kx=ECDH/ECDSA Au=ECDH Enc=AES(128) Mac=SHA256
0xC0,0x2D - TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256 - ECDH-ECDSA-AES128-GCM-SHA256 TLSv1.2 Kx=ECDH/ECDSA Au=ECDH Enc=AESGCM(128) Mac=AEAD
0xC0,0x31 - TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256 - ECDH-RSA-AES128-GCM-SHA256 TLSv1.2 Kx=ECDH/RSA Au=ECDH Enc=AESGCM(128) Mac=AEAD
`;

const openssl = process.argv[2] || 'openssl';
const out = execFileSync(openssl, ['ciphers', '-V', '-stdname', 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'], { encoding: 'utf8' });
const rows = new Map();
const re = /^\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)\s+- (\S+)\s+(\S+)\s+Kx=(\S+)\s+Au=(\S+)\s+Enc=(\S+)\s+Mac=(\S+)/i;
for (const [source, text] of [['openssl', out], ['legacy', LEGACY]]) {
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const id = parseInt(m[1] + m[2], 16);
    if (rows.has(id)) continue; // OpenSSL's own line wins
    const [, , , iana, ossl, ver, kx, au, enc, mac] = m;
    const version = { SSLv3: 'SSLv3', TLSv1: 'SSLv3', 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3' }[ver];
    if (!version) throw new Error(`unknown version ${ver} in ${line}`);
    const bits = Number((/\((\d+)\)/.exec(enc) || [])[1] || 0);
    const flags = [];
    if (/EXPORT/.test(iana)) flags.push('export');
    if (enc === 'None') flags.push('null');
    if (au === 'None' || /_anon_/.test(iana)) flags.push('anon');
    if (/^RC4/.test(enc)) flags.push('rc4');
    if (/^3DES/.test(enc)) flags.push('3des');
    if (/^DES/.test(enc)) flags.push('des');
    if (/_CBC_/.test(iana)) flags.push('cbc');
    if (/PSK|SRP/.test(kx)) flags.push('psk');
    if (/^TLS_(ECDHE|DHE)_/.test(iana) || version === 'TLSv1.3') flags.push('pfs');
    if (mac === 'AEAD') flags.push('aead');
    rows.set(id, { id, iana, openssl: ossl, version, kx, au, enc, mac, bits, flags, source });
  }
}
const list = [...rows.values()].sort((a, b) => a.id - b.id);
const file = path.join(__dirname, '..', 'src', 'engine', 'wire', 'cipher_suites.ts');
const lines = list.map(
  (r) =>
    `  [0x${r.id.toString(16).padStart(4, '0')}, '${r.iana}', '${r.openssl}', '${r.version}', '${r.kx}', '${r.au}', '${r.enc}', '${r.mac}', ${r.bits}, '${r.flags.join(',')}'],`
);
fs.writeFileSync(
  file,
  `// GENERATED by scripts/gen_cipher_suites.js from \`openssl ciphers -V -stdname\` (${execFileSync(openssl, ['version'], { encoding: 'utf8' }).trim()})
// plus the legacy suites listed in that script (IANA ids and names). Do not edit by hand.
// Columns: IANA id, IANA name, OpenSSL name, lowest version, Kx, Au, Enc, Mac, cipher bits, flags.
export type SuiteRow = readonly [number, string, string, 'SSLv3' | 'TLSv1.2' | 'TLSv1.3', string, string, string, string, number, string];

export const SUITE_ROWS: readonly SuiteRow[] = [
${lines.join('\n')}
];
`
);
console.log(`wrote ${list.length} suites to ${path.relative(process.cwd(), file)}`);
