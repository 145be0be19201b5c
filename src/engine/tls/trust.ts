// Where a client's trusted roots come from. Node's bundled OpenSSL looks in its own compiled-in
// OPENSSLDIR, which is not where every distribution keeps its CA bundle, so we choose explicitly:
// the system bundle when one of the well-known files exists, else Node's built-in Mozilla roots.
import fs from 'node:fs';

const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Alpine, Arch
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/ssl/cert.pem', // macOS, some BSDs
];

export interface TrustSource {
  /** 'file' (--ca), 'system' bundle, or 'node' (tls.rootCertificates). */
  kind: 'file' | 'system' | 'node';
  /** The file, or the PEM text for 'node'. */
  path?: string;
  pem?: string;
  describe: string;
}

export function resolveTrust(caFile?: string): TrustSource {
  if (caFile) return { kind: 'file', path: caFile, describe: `--ca ${caFile}` };
  for (const p of SYSTEM_BUNDLES) {
    if (fs.existsSync(p)) return { kind: 'system', path: p, describe: `system bundle ${p}` };
  }
  // node:tls only here: loading it costs every CLI start and every worker thread ~20-70 ms, and
  // almost every machine has a system bundle.
  const tls = require('node:tls') as typeof import('node:tls');
  return {
    kind: 'node',
    pem: tls.rootCertificates.join('\n'),
    describe: `Node.js built-in Mozilla roots (${tls.rootCertificates.length} certificates)`,
  };
}
