// --rendezvous for the bench commands: before the run, shard 0 listens and the others join; the
// workers, once set up, wait for the one start instant; after the run, the others send their
// documents to shard 0, which merges them exactly as `iocptls merge` does (report/merge.ts) and
// answers for the whole run. The wire and the waiting are the engine's (engine/rendezvous/).
import crypto from 'node:crypto';
import { ConfigError } from '../engine/errors';
import { RendezvousError, RendezvousHost, RendezvousMember } from '../engine/rendezvous';
import { MergeError, mergeResults } from '../report/merge';
import { ResultDocument, validateResult } from '../report/result';
import type { Shard } from './shard_flags';
import { parseTarget } from './target';

export interface SharedRun {
  /** HOST:PORT as given. */
  address: string;
  index: number;
  count: number;
  host?: RendezvousHost;
  member?: RendezvousMember;
  /** Resolves the start instant once every shard is ready (the engine's startGate). */
  gate(): Promise<number>;
  close(): void;
}

export interface RendezvousFlags {
  rendezvous?: string;
  'rendezvous-bind'?: string;
  'rendezvous-timeout': number;
  'start-at'?: string;
}

/** Checks the flags before anything starts (a usage error is exit 2, as for any flag). */
export function checkRendezvousFlags(flags: RendezvousFlags, shard: Shard | undefined): { host: string; port: number } | undefined {
  if (flags.rendezvous === undefined) {
    if (flags['rendezvous-bind'] !== undefined) throw new ConfigError('--rendezvous-bind goes with --rendezvous HOST:PORT');
    return undefined;
  }
  if (!shard) throw new ConfigError('--rendezvous needs --shard I/N (or auto/N): it is where the shards of one run meet');
  if (flags['start-at'] !== undefined) throw new ConfigError('--rendezvous and --start-at both set the start: give one (the rendezvous announces its own)');
  if (!/:\d+$/.test(flags.rendezvous)) throw new ConfigError(`--rendezvous '${flags.rendezvous}' needs a port: HOST:PORT (e.g. bench-0.bench:7946)`);
  return parseTarget(flags.rendezvous, 0);
}

/** What every shard of one run shares, so a shard of another bench is refused at the door. */
export function runIdentity(kind: string, target: { host: string; port: number } | undefined, shard: Shard, whole: object): string {
  const text = JSON.stringify({ kind, target: target ? `${target.host}:${target.port}` : 'embedded', n: shard.count, whole });
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
}

const log = (line: string) => process.stderr.write(`iocptls: ${line}\n`);

/** Shard 0 starts listening; the others connect (retrying until the deadline) and are admitted. */
export async function openRendezvous(flags: RendezvousFlags, at: { host: string; port: number }, shard: Shard, run: string): Promise<SharedRun> {
  const o = { index: shard.index, count: shard.count, host: at.host, port: at.port, bind: flags['rendezvous-bind'], timeoutMs: flags['rendezvous-timeout'] * 1000, run, log };
  const base = { address: flags.rendezvous!, index: shard.index, count: shard.count };
  if (shard.index === 0) {
    const host = await RendezvousHost.listen(o);
    if (shard.count > 1) log(`rendezvous: shard 0/${shard.count} listening on ${o.bind ?? o.host}:${host.port}; waiting for ${shard.count - 1} more (at most ${flags['rendezvous-timeout']} s)`);
    return { ...base, host, gate: () => host.ready(), close: () => host.close() };
  }
  const member = await RendezvousMember.join(o);
  return { ...base, member, gate: () => member.ready(), close: () => member.close() };
}

export interface SharedOutcome {
  /** Shard 0: the merged document; the others: their own. */
  doc: ResultDocument;
  merged: boolean;
  warnings: string[];
  /** What makes the run fail (exit 1): a shard whose result never came, a document that could not be sent. */
  failures: string[];
}

/**
 * After this shard's run: shard 0 collects every result (until each has come or its shard is
 * gone) and merges them; the others send theirs. `stop` ends shard 0's waiting (a signal).
 */
export async function finishShared(rv: SharedRun, own: ResultDocument, stop: Promise<unknown>): Promise<SharedOutcome> {
  const n = rv.count;
  if (rv.member) {
    try {
      await rv.member.sendResult(own);
      log(`rendezvous: shard ${rv.index}/${n} sent its result to shard 0 at ${rv.address}`);
      return { doc: own, merged: false, warnings: [], failures: [] };
    } catch (e) {
      if (!(e instanceof RendezvousError)) throw e;
      return { doc: own, merged: false, warnings: [], failures: [`${e.message}: this shard's result did not reach shard 0 (its own document is printed; \`iocptls merge\` can still use it)`] };
    } finally {
      rv.close();
    }
  }
  const host = rv.host!;
  let collected;
  try {
    collected = await host.collect(own, stop);
  } finally {
    host.close();
  }
  const failures: string[] = [];
  const inputs: Array<{ doc: ResultDocument; file: string }> = [];
  for (const [i, value] of [...collected.docs.entries()].sort((a, b) => a[0] - b[0])) {
    const file = `shard ${i}/${n} (rendezvous)`;
    try {
      const doc = i === 0 ? own : validateResult(value, file);
      if (doc.shard?.index !== i || doc.shard.count !== n) throw new Error(`it says it is shard ${doc.shard ? `${doc.shard.index}/${doc.shard.count}` : 'none'}`);
      inputs.push({ doc, file });
    } catch (e) {
      failures.push(`shard ${i}/${n} sent a document that is not its result: ${(e as Error).message}`);
    }
  }
  for (const [i, why] of [...collected.lost.entries()].sort((a, b) => a[0] - b[0])) failures.push(`shard ${i}/${n} ${why}: the merged result lacks it`);
  try {
    const m = mergeResults(inputs);
    // A missing shard is already a failure above, in words that say why; merge's own count of them would repeat it.
    return { doc: m.doc, merged: true, warnings: m.warnings.filter((w) => !/^merged \d+ of \d+ shards/.test(w)), failures };
  } catch (e) {
    if (!(e instanceof MergeError)) throw e;
    failures.push(`the shards' results cannot be merged: ${e.message}`);
    return { doc: own, merged: false, warnings: [], failures };
  }
}
