// What the report says about the OpenSSL in use: the version string the loaded library itself
// returns (not the one Node was built with), where it came from, and its build date.
import { openssl, type OpenSSL } from '../../native/openssl';
import type { OpensslInfo } from '../report/facts';

const OPENSSL_BUILT_ON = 2;

export function opensslInfo(): OpensslInfo {
  const s = openssl();
  const builtOn = String(s.OpenSSL_version(OPENSSL_BUILT_ON)).replace(/^built on:\s*/, '');
  return {
    version: s.version,
    source: s.source === 'node' ? 'node' : 'path',
    path: s.source === 'node' ? null : s.source,
    builtOn,
  };
}

/** Whether the loaded OpenSSL is at least major.minor (e.g. 3.5 for ML-KEM groups and ML-DSA keys). */
export function opensslAtLeast(major: number, minor: number, s: OpenSSL = openssl()): boolean {
  const r = s.release;
  return r.major > major || (r.major === major && r.minor >= minor);
}
