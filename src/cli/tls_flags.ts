// TLS flags shared by connect, serve and bench, and their translation to context options.
import { Flags } from '@oclif/core';
import type { TlsContextOptions, TlsVersion } from '../engine/tls/context';

const VERSIONS = ['1.2', '1.3'] as const;

export const tlsFlags = {
  'tls-min': Flags.option({ description: 'lowest TLS version', options: VERSIONS })(),
  'tls-max': Flags.option({ description: 'highest TLS version', options: VERSIONS })(),
  ciphers: Flags.string({ description: 'TLS 1.2 cipher list (OpenSSL syntax)' }),
  ciphersuites: Flags.string({ description: 'TLS 1.3 ciphersuites (OpenSSL syntax)' }),
  groups: Flags.string({ description: 'key exchange groups in order of preference, e.g. X25519MLKEM768,X25519,P-256 (OpenSSL names; commas or colons)' }),
  alpn: Flags.string({ description: 'ALPN protocols, comma-separated, e.g. h2,http/1.1' }),
};

export interface TlsFlagValues {
  'tls-min'?: string;
  'tls-max'?: string;
  ciphers?: string;
  ciphersuites?: string;
  groups?: string;
  alpn?: string;
}

/** The flags as context options; checks --groups against the loaded OpenSSL (call after setupEngine). */
export function tlsOptionsFromFlags(f: TlsFlagValues): Partial<TlsContextOptions> {
  return {
    minVersion: f['tls-min'] as TlsVersion | undefined,
    maxVersion: f['tls-max'] as TlsVersion | undefined,
    ciphers: f.ciphers,
    ciphersuites: f.ciphersuites,
    // setupEngine has loaded the engine by now; a command line that fails earlier never does.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    groups: f.groups !== undefined ? (require('../engine/setup') as typeof import('../engine/setup')).checkGroupsFlag(f.groups) : undefined,
    alpn: f.alpn
      ? f.alpn
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
  };
}
