// What every iocptls command shares: --debug, --io, --openssl, and how failures are shown:
// one line naming the cause and a non-zero exit code; a stack trace only with --debug.
import { Command, Flags, Interfaces } from '@oclif/core';
import { ConfigError, IocptlsError } from '../engine/errors';
import { BACKEND_CHOICES, BackendChoice, defaultBackendChoice } from '../engine/backend_choice';
import type { Backend, LoadedOpenSSL } from '../engine/setup';

/** Exit codes: 1 the target or the run failed; 2 the command line or a file was wrong. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * What every command shares, including those that never touch the engine (compare, cert): --debug
 * and how failures are shown: one line `iocptls: <cause>` on stderr (and an error object under
 * --json), exit code 2 for a bad command line or file (oclif's own parse errors included), 1 for
 * a failed target or run; a stack trace only with --debug.
 */
export abstract class PlainCommand extends Command {
  static baseFlags = {
    debug: Flags.boolean({ description: 'show stack traces on errors', default: false, helpGroup: 'GLOBAL' }),
  };

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    const debug = process.argv.includes('--debug');
    // oclif's own exits (help, version) pass through untouched.
    if (err.oclif?.exit === 0 || err.message === 'EEXIT: 0') return super.catch(err as never);
    const usage = err instanceof ConfigError || isParseError(err) || err.oclif?.exit === EXIT_USAGE;
    const exit = usage ? EXIT_USAGE : err.oclif?.exit ?? EXIT_FAILURE;
    const line = errorLine(err);
    if (this.jsonEnabled()) {
      // oclif's own parse errors carry no code: they are usage errors like our ConfigError.
      const coded = err instanceof IocptlsError;
      this.logJson({
        error: {
          message: line,
          code: coded ? err.code : usage ? 'IOCPTLS_ERR_CONFIG' : 'IOCPTLS_ERR',
          reason: coded ? err.reason : usage ? 'config' : 'error',
        },
      });
    }
    process.stderr.write(`iocptls: ${line}\n`);
    if (debug && err.stack) process.stderr.write(err.stack + '\n');
    process.exitCode = exit;
    return undefined;
  }
}

/** Commands that run the engine: --io and --openssl as well. */
export abstract class IocptlsCommand extends PlainCommand {
  static baseFlags = {
    ...PlainCommand.baseFlags,
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
  protected setupEngine(flags: { io?: string; openssl?: string }): { ssl: LoadedOpenSSL; backend: Backend } {
    // Loaded here, not at the top: a command line that fails its checks, --help, and the commands
    // that never get here exit without loading koffi, OpenSSL and the ports (20-60 ms of CPU a start).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { useOpenSSL, resolveBackend } = require('../engine/setup') as typeof import('../engine/setup');
    let ssl: LoadedOpenSSL;
    try {
      ssl = useOpenSSL(flags.openssl);
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
}

function isParseError(err: Error): boolean {
  return /^(Expected|Unexpected argument|Nonexistent flag|Missing required|Missing \d+ required|Parsing --|--\S+=.* to be one of|Flag --|The following error)/.test(err.message) ||
    err.constructor?.name?.endsWith('FlagError') || err.constructor?.name === 'CLIParseError' ||
    err.constructor?.name === 'RequiredArgsError' || err.constructor?.name === 'UnexpectedArgsError' ||
    err.constructor?.name === 'NonExistentFlagsError' || err.constructor?.name === 'FailedFlagValidationError';
}

/**
 * One line for any error. oclif's parse errors are several lines (a usage list, "Parsing --x" then
 * the reason, "See more help"): they are said again in one line, naming what is missing or wrong.
 */
export function errorLine(err: Error & { args?: { name?: string; description?: string }[] }): string {
  const plain = err.message.replace(/\x1b\[[0-9;]*m/g, '');
  if (err.constructor?.name === 'RequiredArgsError' && err.args?.length) {
    const names = err.args.map((a) => a.name ?? '?');
    return `missing argument${names.length > 1 ? 's' : ''} ${names.join(' and ')} (${err.args.map((a) => a.description).filter(Boolean).join('; ')}); see --help`;
  }
  // "Parsing --threshold \n\t<reason>\nSee more help": the reason says it all.
  const parsing = /^Parsing (--\S+)\s*\n\s*([^\n]+)/.exec(plain);
  if (parsing) return parsing[2].includes(parsing[1]) ? parsing[2].trim() : `${parsing[1]}: ${parsing[2].trim()}`;
  return firstLine(plain);
}

function firstLine(s: string): string {
  const l = s.split('\n').map((x) => x.trim()).filter((x) => x && !x.startsWith('See more help'));
  return l.join(' ').replace(/\s+/g, ' ');
}

export type BaseFlags = Interfaces.InferredFlags<typeof IocptlsCommand.baseFlags>;
