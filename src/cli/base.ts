// What every iocptls command shares: --debug, --io, --openssl, and how failures are shown:
// one line naming the cause and a non-zero exit code; a stack trace only with --debug.
import { Command, Flags, Interfaces } from '@oclif/core';
import { loadOpenSSL, requestedLibssl, type OpenSSL } from '../../native/openssl';
import { ConfigError, IocptlsError } from '../engine/errors';
import { BACKEND_CHOICES, BackendChoice, defaultBackendChoice, resolveBackend } from '../engine/port';
import type { Backend } from '../engine/port/types';

/** Exit codes: 1 the target or the run failed; 2 the command line or a file was wrong. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export abstract class IocptlsCommand extends Command {
  static baseFlags = {
    debug: Flags.boolean({ description: 'show stack traces on errors', default: false, helpGroup: 'GLOBAL' }),
    io: Flags.option({
      description: 'I/O backend [default: IOCPTLS_IO or auto]',
      options: BACKEND_CHOICES as unknown as string[],
      helpGroup: 'GLOBAL',
    })(),
    openssl: Flags.string({
      description: 'path to a libssl to use instead of the OpenSSL inside Node.js [env: IOCPTLS_OPENSSL]',
      helpGroup: 'GLOBAL',
    }),
  };

  /** Loads OpenSSL (from node, --openssl or IOCPTLS_OPENSSL) and picks the I/O backend, announcing a fallback on stderr. */
  protected setupEngine(flags: { io?: string; openssl?: string }): { ssl: OpenSSL; backend: Backend } {
    let ssl: OpenSSL;
    try {
      ssl = loadOpenSSL(requestedLibssl(flags.openssl));
    } catch (e) {
      throw new ConfigError((e as Error).message);
    }
    let resolution;
    try {
      resolution = resolveBackend((flags.io as BackendChoice | undefined) ?? defaultBackendChoice());
    } catch (e) {
      throw new ConfigError((e as Error).message);
    }
    if (resolution.notice) process.stderr.write(resolution.notice + '\n');
    return { ssl, backend: resolution.backend };
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    const debug = process.argv.includes('--debug');
    // oclif's own exits (help, version) pass through untouched.
    if (err.oclif?.exit === 0 || err.message === 'EEXIT: 0') return super.catch(err as never);
    const exit =
      err instanceof ConfigError || isParseError(err) ? EXIT_USAGE : err.oclif?.exit ?? (err instanceof IocptlsError ? EXIT_FAILURE : EXIT_FAILURE);
    const line = firstLine(err.message);
    if (this.jsonEnabled()) {
      // oclif's own parse errors carry no code: they are usage errors like our ConfigError.
      const coded = err instanceof IocptlsError;
      this.logJson({
        error: {
          message: line,
          code: coded ? err.code : exit === EXIT_USAGE ? 'IOCPTLS_ERR_CONFIG' : 'IOCPTLS_ERR',
          reason: coded ? err.reason : exit === EXIT_USAGE ? 'config' : 'error',
        },
      });
    }
    process.stderr.write(`iocptls: ${line}\n`);
    if (debug && err.stack) process.stderr.write(err.stack + '\n');
    process.exitCode = exit;
    return undefined;
  }
}

function isParseError(err: Error): boolean {
  return /^(Expected|Unexpected argument|Nonexistent flag|Missing required|Parsing --|--\S+=.* to be one of|Flag --)/.test(err.message) ||
    err.constructor?.name?.endsWith('FlagError') || err.constructor?.name === 'CLIParseError' ||
    err.constructor?.name === 'RequiredArgsError' || err.constructor?.name === 'UnexpectedArgsError' ||
    err.constructor?.name === 'NonExistentFlagsError' || err.constructor?.name === 'FailedFlagValidationError';
}

function firstLine(s: string): string {
  const l = s.split('\n').map((x) => x.trim()).filter((x) => x && !x.startsWith('See more help'));
  return l.join(' ').replace(/\s+/g, ' ');
}

export type BaseFlags = Interfaces.InferredFlags<typeof IocptlsCommand.baseFlags>;
