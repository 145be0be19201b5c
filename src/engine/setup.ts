// What a command chooses before it calls an engine entry point: the OpenSSL to load (Node's own,
// --openssl or IOCPTLS_OPENSSL) and the I/O backend (--io, IOCPTLS_IO or auto). Commands and
// their flag helpers (src/cli) come here rather than to native/ or engine/port/ (DESIGN.md).
import { loadOpenSSL, openssl, requestedLibssl } from '../../native/openssl';
import { checkGroups } from './tls/groups';

export { BACKEND_CHOICES, defaultBackendChoice, resolveBackend, type BackendChoice, type BackendResolution } from './port';
export type { Backend } from './port/types';

/** Which OpenSSL a process runs on: its own version string and where it was loaded from ('node' or a path). */
export interface LoadedOpenSSL {
  version: string;
  source: string;
}

/** Loads the OpenSSL this process uses: `flag` (--openssl), else IOCPTLS_OPENSSL, else Node's own. Throws with a line for people. */
export function useOpenSSL(flag?: string): LoadedOpenSSL {
  const s = loadOpenSSL(requestedLibssl(flag));
  return { version: s.version, source: s.source };
}

/** A --groups list checked against the loaded OpenSSL (call after useOpenSSL), in OpenSSL's syntax. */
export function checkGroupsFlag(value: string): string {
  return checkGroups(openssl(), value);
}
