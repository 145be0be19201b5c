// bench ab: two configurations of the same handshake benchmark — two targets, or one target with
// different flags — measured in alternating rounds (A B B A A B B A ...) in one process, then
// compared exactly as `compare` compares two documents. Alternating the order makes a drift that
// is linear in time (the machine's load rising, thermal state) land on both sides equally.
import { Parser } from '@oclif/core';
import { BenchControl, BenchOptions, BenchRun, combineRuns, runBench, startEmbeddedServer } from '../engine/bench';
import { ConfigError } from '../engine/errors';
import { runInterleaved } from '../engine/interleave';
import type { RunningServer } from '../engine/server';
import { totalErrors } from '../engine/stats/counters';
import { AB_SCHEMA, AbDocument, AbSideName, AbSlot } from '../report/ab';
import { compareResults, exitCodeFor, InconclusiveMode } from '../report/compare';
import { machineInfo, OpensslInfo, toolInfo } from '../report/facts';
import type { ResultDocument } from '../report/result';
import { opensslInfo } from '../engine/openssl_info';
import { errorLine, IocptlsCommand } from './base';
import { commonBenchFlags } from './bench_command';
import { handshakeFlags } from './handshake_flags';

/**
 * Flags that may differ between the sides (--a-flags / --b-flags): everything that shapes one
 * side's load or TLS. The run's own shape (rounds, pauses, outputs) and what must be the same for
 * both (--io, --openssl: one engine per process) are set once on the command line.
 */
const NOT_PER_SIDE: readonly string[] = ['rounds', 'round-pause', 'duration', 'warmup', 'hgrm', 'plot', 'html', 'shard', 'start-at', 'rendezvous', 'rendezvous-bind', 'rendezvous-timeout', 'count'];

// --openssl may differ: each side's worker threads (client and embedded server) load their own.
const sideFlagDefinitions = { ...commonBenchFlags, ...handshakeFlags, openssl: IocptlsCommand.baseFlags.openssl };

/** Splits a flag string as a shell would for the simple cases: spaces separate, quotes group, no expansion. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | null = null;
  let has = false;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else cur += ch;
  }
  if (quote) throw new ConfigError(`unbalanced ${quote} in '${text}'`);
  if (has || cur) out.push(cur);
  return out;
}

/**
 * Takes --a-flags and --b-flags out of the command line before oclif parses it: their values start
 * with a dash ('-c 16'), which oclif's parser takes for a missing value.
 */
export function extractSideFlags(argv: readonly string[]): { argv: string[]; a?: string; b?: string } {
  const rest: string[] = [];
  const found: { a?: string; b?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i];
    if (t === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const m = /^--([ab])-flags(?:=(.*))?$/s.exec(t);
    if (!m) {
      rest.push(t);
      continue;
    }
    const side = m[1] as 'a' | 'b';
    if (found[side] !== undefined) throw new ConfigError(`--${side}-flags given twice: put all of side ${side.toUpperCase()}'s flags in one`);
    if (m[2] !== undefined) found[side] = m[2];
    else if (i + 1 < argv.length) found[side] = argv[++i];
    else throw new ConfigError(`--${side}-flags needs a value, e.g. --${side}-flags='-c 16'`);
  }
  return { argv: rest, ...found };
}

export interface SideFlags {
  /** The side's flags as given, parsed. */
  flags: Record<string, unknown>;
  /** The names of the flags the side's string set (they override the command line's). */
  given: string[];
}

/** Parses --a-flags or --b-flags with bench handshake's own definitions; bad ones are one-line ConfigErrors naming the side. */
export async function parseSideFlags(option: string, text: string | undefined): Promise<SideFlags> {
  if (!text || text.trim() === '') return { flags: {}, given: [] };
  let argv: string[];
  try {
    argv = splitArgs(text);
  } catch (err) {
    throw new ConfigError(`${option}: ${(err as Error).message}`);
  }
  const io = argv.find((t) => /^--io(=|$)/.test(t));
  if (io) throw new ConfigError(`${option}: --io cannot differ between the sides of one run (one completion port kind per process): give it outside ${option}, or run two benches and \`compare\` them`);
  const whole = argv.find((t) => /^--(json|debug)(=|$)/.test(t));
  if (whole) throw new ConfigError(`${option}: ${whole.split('=')[0]} is for the whole command: give it outside ${option}`);
  let parsed: Awaited<ReturnType<typeof Parser.parse>>;
  try {
    parsed = await Parser.parse(argv, { flags: sideFlagDefinitions, args: {}, strict: true, context: undefined });
  } catch (err) {
    throw new ConfigError(`${option}: ${errorLine(err as Error)}`);
  }
  const given = [...new Set(parsed.raw.flatMap((t) => (t.type === 'flag' ? [t.flag] : [])))];
  const shared = given.find((n) => NOT_PER_SIDE.includes(n));
  if (shared) throw new ConfigError(`${option}: --${shared} is the same for both sides: give it outside ${option}`);
  const args = parsed.raw.find((t) => t.type === 'arg');
  if (args) throw new ConfigError(`${option}: unexpected '${args.input}' (a side's target is the command's first or second argument)`);
  const flags: Record<string, unknown> = {};
  for (const name of given) flags[name] = (parsed.flags as Record<string, unknown>)[name];
  return { flags, given };
}

/** One side, ready to run: its label, target (undefined: an embedded server of its own) and options. */
export interface AbSide {
  name: AbSideName;
  /** As given on the command line (undefined: an embedded server). */
  targetArg?: string;
  flagsText: string;
  options: BenchOptions;
  maxErrorRate: number;
  /** The side's own OpenSSL when it differs from this process's (--openssl in its flags): what its documents report. */
  openssl?: OpensslInfo;
}

export interface AbInput {
  sides: [AbSide, AbSide];
  backend: string;
  rounds: number;
  roundPauseSec: number;
  thresholdPct: number;
  alpha: number;
  /** --inconclusive: what an inconclusive comparison exits with. */
  inconclusive: InconclusiveMode;
  /** The result document of one side's combined rounds (BenchCommand.documentOf). */
  documentOf: (run: BenchRun, o: BenchOptions, maxErrorRate: number) => ResultDocument;
  control: BenchControl;
  progress?: (line: string) => void;
}

export async function runAb(input: AbInput): Promise<AbDocument> {
  const { sides, rounds } = input;
  const servers: Array<RunningServer | undefined> = [undefined, undefined];
  const parts: BenchRun[][] = [[], []];
  const schedule: AbSlot[] = [];
  const serverTotals: Array<Awaited<ReturnType<RunningServer['stop']>> | undefined> = [undefined, undefined];
  try {
    // Each side without a target gets an embedded server of its own, configured by its flags,
    // started once: the rounds then measure the client's load and TLS settings, not server starts.
    for (let i = 0; i < 2; i++) {
      if (sides[i].options.target) continue;
      servers[i] = await startEmbeddedServer(sides[i].options);
      sides[i].options.target = { host: '127.0.0.1', ip: '127.0.0.1', port: servers[i]!.port };
    }
    let slot = 0;
    await runInterleaved({
      variants: sides,
      rounds,
      alternate: true,
      shouldStop: () => input.control.interruptedBy !== undefined,
      run: async (side, index, round) => {
        if (slot++ > 0 && input.roundPauseSec > 0 && !(await input.control.pause(input.roundPauseSec * 1000))) return undefined;
        const o: BenchOptions = {
          ...side.options,
          rounds: 1,
          control: input.control,
          onProgress: (s) =>
            input.progress?.(
              `round ${round + 1}/${rounds} · ${side.name}: ${Math.round(s.counters.handshakes / (s.durationMs / 1000 || 1))} handshakes/s, errors ${totalErrors(s.counters)}`
            ),
        };
        const run = await runBench(o);
        // A slot interrupted before its window opened measured nothing.
        if (run.intervals.length === 0 && input.control.interruptedBy) return undefined;
        parts[index].push(run);
        schedule.push({ side: side.name, round, start: run.start.toISOString(), finish: run.finish.toISOString() });
        return run;
      },
    });
  } finally {
    for (let i = 0; i < 2; i++) serverTotals[i] = await servers[i]?.stop().catch(() => undefined);
  }
  if (parts[0].length === 0 || parts[1].length === 0) {
    throw new ConfigError(`interrupted before both sides had a round (${parts[0].length} A, ${parts[1].length} B)`);
  }
  const docs = sides.map((side, i) => {
    const o: BenchOptions = { ...side.options, rounds: parts[i].length, roundPauseSec: input.roundPauseSec };
    const doc = input.documentOf(combineRuns(parts[i], o, serverTotals[i]), o, side.maxErrorRate);
    if (servers[i]) doc.target.embedded = true;
    if (side.openssl) doc.openssl = side.openssl;
    return doc;
  }) as [ResultDocument, ResultDocument];
  const comparison = compareResults(docs[0], docs[1], { thresholdPct: input.thresholdPct, alpha: input.alpha });
  comparison.exitCode = exitCodeFor(comparison.verdict, input.inconclusive);
  const doc: AbDocument = {
    schema: AB_SCHEMA,
    tool: toolInfo(),
    openssl: opensslInfo(),
    machine: machineInfo(),
    backend: input.backend,
    kind: 'handshake',
    params: {
      rounds,
      order: 'ABBA',
      durationPerRound: sides[0].options.durationSec,
      warmupPerRound: sides[0].options.warmupSec,
      roundPause: input.roundPauseSec,
      threshold: input.thresholdPct,
      alpha: input.alpha,
      inconclusive: input.inconclusive,
    },
    a: { target: sides[0].targetArg ?? null, flags: sides[0].flagsText, document: docs[0] },
    b: { target: sides[1].targetArg ?? null, flags: sides[1].flagsText, document: docs[1] },
    schedule,
    comparison,
  };
  if (input.control.interruptedBy) doc.interrupted = { signal: input.control.interruptedBy };
  return doc;
}
