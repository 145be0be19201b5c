// Facts about the tool and the machine that every result document carries, so that two
// runs compared later can be told apart (different CPU, different OpenSSL...).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ToolInfo {
  name: string;
  version: string;
}

export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs (os.availableParallelism). */
  cores: number;
  platform: string;
  arch: string;
  /** Node.js version, e.g. 'v20.20.2'. */
  node: string;
}

export interface OpensslInfo {
  /** OpenSSL_version(OPENSSL_VERSION), e.g. 'OpenSSL 3.0.15+quic 3 Sep 2024'. */
  version: string;
  /** 'node': the OpenSSL inside the running node binary; 'path': a libssl loaded from `path`. */
  source: 'node' | 'path';
  /** The libssl file loaded, when source is 'path'. */
  path: string | null;
  /** OpenSSL_version(OPENSSL_BUILT_ON), when known. */
  builtOn: string | null;
}

let cachedTool: ToolInfo | undefined;

/** name and version from package.json (found from dist/src/report or src/report alike). */
export function toolInfo(): ToolInfo {
  if (cachedTool) return cachedTool;
  for (const up of ['../../..', '../..']) {
    const file = path.join(__dirname, up, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'iocptls') return (cachedTool = { name: pkg.name, version: pkg.version ?? '0.0.0' });
    } catch {
      // try the next candidate
    }
  }
  return (cachedTool = { name: 'iocptls', version: '0.0.0' });
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() || 'unknown',
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    platform: process.platform,
    arch: process.arch,
    node: process.version,
  };
}

/**
 * What we know about node's own OpenSSL without touching native code. The engine, which
 * calls OpenSSL_version(), should pass its own OpensslInfo instead whenever it can.
 */
export function nodeOpensslInfo(): OpensslInfo {
  return { version: `OpenSSL ${process.versions.openssl}`, source: 'node', path: null, builtOn: null };
}
