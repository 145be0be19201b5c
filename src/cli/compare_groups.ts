// bench handshake --groups A,B,C --compare-groups: the same load once per group, in interleaved
// rounds (A B C A B C ...), each run offering only its group, against one server that accepts
// them all. Without a target that server is `iocptls serve` in a child process, so the client's
// CPU per handshake can be measured as this process's CPU time.
import { BenchOptions, runBench, BenchRun } from '../engine/bench';
import { ConfigError } from '../engine/errors';
import { runInterleaved } from '../engine/interleave';
import { opensslInfo } from '../engine/openssl_info';
import type { Backend } from '../engine/setup';
import { totalErrors } from '../engine/stats/counters';
import { machineInfo, toolInfo } from '../report/facts';
import { COMPARE_GROUPS_SCHEMA, GroupComparison, GroupRun, summarizeGroups } from '../report/group_compare';
import type { ResultDocument } from '../report/result';
import { startServeChild, type ServeChild } from './serve_child';

export interface CompareGroupsInput {
  options: BenchOptions;
  backend: Backend;
  rounds: number;
  /** The per-run result document (BenchCommand.documentOf). */
  documentOf: (run: BenchRun, o: BenchOptions) => ResultDocument;
  /** Progress lines (stderr on a TTY), or nothing. */
  progress?: (line: string) => void;
}

/** The plain group names of a checked --groups list; the comparison needs two or more. */
export function groupsToCompare(list: string | undefined): string[] {
  if (!list) throw new ConfigError('--compare-groups needs --groups A,B,... (two or more groups)');
  const names = list.split(':');
  const odd = names.find((n) => !/^[A-Za-z0-9_-]+$/.test(n) || n.toUpperCase() === 'DEFAULT');
  if (odd) throw new ConfigError(`--compare-groups takes plain group names, not '${odd}'`);
  const unique = [...new Set(names)];
  if (unique.length < 2) throw new ConfigError('--compare-groups needs two or more different groups in --groups');
  return unique;
}

/** The embedded server's flags: every compared group, and the client's protocol limits. */
function serverArgs(o: BenchOptions, backend: Backend, groups: string[]): string[] {
  const t = o.tls;
  const args = ['--workers', String(o.serverWorkers), '--io', backend, '--mode', 'echo', '--groups', groups.join(':')];
  if (o.openssl) args.push('--openssl', o.openssl);
  if (t.minVersion) args.push('--tls-min', t.minVersion);
  if (t.maxVersion) args.push('--tls-max', t.maxVersion);
  if (t.ciphers) args.push('--ciphers', t.ciphers);
  if (t.ciphersuites) args.push('--ciphersuites', t.ciphersuites);
  if (t.alpn?.length) args.push('--alpn', t.alpn.join(','));
  return args;
}

/**
 * CPU time of this whole process (all its threads: the bench workers and the main thread) per
 * handshake, between the first and the last 1 s tick of the measured window: the warmup and
 * thread start and stop fall outside. Null with fewer than two ticks.
 */
class ProcessCpuMeter {
  #first: NodeJS.CpuUsage | undefined;
  #last: NodeJS.CpuUsage | undefined;
  #handshakes = 0;

  tick(handshakes: number): void {
    const now = process.cpuUsage();
    if (!this.#first) this.#first = now;
    else {
      this.#last = now;
      this.#handshakes += handshakes;
    }
  }

  usPerHandshake(): number | null {
    if (!this.#first || !this.#last || this.#handshakes === 0) return null;
    const us = this.#last.user - this.#first.user + (this.#last.system - this.#first.system);
    return us / this.#handshakes;
  }
}

export async function runCompareGroups(input: CompareGroupsInput): Promise<GroupComparison> {
  const { options, backend, rounds } = input;
  const groups = groupsToCompare(options.tls.groups);
  if (options.count) throw new ConfigError('--compare-groups runs each group for --duration; leave out --count');
  let server: ServeChild | undefined;
  let target = options.target;
  if (!target) {
    server = await startServeChild(serverArgs(options, backend, groups));
    target = { host: '127.0.0.1', ip: '127.0.0.1', port: server.port };
  }
  const runs: GroupRun[] = [];
  let serverDoc: Awaited<ReturnType<ServeChild['stop']>>;
  try {
    const stopped = () => options.control?.interruptedBy !== undefined;
    await runInterleaved({
      variants: groups,
      rounds,
      // A signal (options.control) ends the run under way and starts no other: the runs so far are compared.
      shouldStop: stopped,
      run: async (group, _index, round) => {
        const meter = new ProcessCpuMeter();
        const o: BenchOptions = {
          ...options,
          target,
          tls: { ...options.tls, groups: group },
          onProgress: (s) => {
            meter.tick(s.counters.handshakes);
            input.progress?.(`round ${round + 1}/${rounds} · ${group}: ${Math.round(s.counters.handshakes / (s.durationMs / 1000 || 1))} handshakes/s, errors ${totalErrors(s.counters)}`);
          },
        };
        const doc = input.documentOf(await runBench(o), o);
        if (server) doc.target.embedded = true;
        // A run cut short by the signal is kept if it measured something (a shorter round); one
        // stopped in its warmup would be a round of 0 handshakes/s, a false median: left out.
        if (stopped() && doc.totals.handshakes === 0) return doc;
        runs.push({ group, round, doc, processCpuUsPerHandshake: meter.usPerHandshake() });
        return doc;
      },
    });
  } finally {
    serverDoc = server ? await server.stop() : undefined;
  }
  const { groups: summaries, clientCpu } = summarizeGroups(runs, groups);
  const first = runs[0]?.doc;
  const comparison: GroupComparison = {
    schema: COMPARE_GROUPS_SCHEMA,
    tool: toolInfo(),
    openssl: opensslInfo(),
    machine: machineInfo(),
    backend,
    target: { host: target.host, port: target.port, embedded: server !== undefined },
    params: {
      groups,
      rounds,
      durationPerRun: options.durationSec,
      warmupPerRun: options.warmupSec,
      connections: options.connections,
      workers: Math.min(options.workers, options.connections),
      serverWorkers: server ? options.serverWorkers : undefined,
      rate: options.rate || undefined,
      resume: options.resume,
      resumeRatio: options.resume !== 'none' ? options.resumeRatio : undefined,
      close: options.close,
      tlsMin: options.tls.minVersion,
      tlsMax: options.tls.maxVersion,
      protocol: first?.negotiated.protocol ?? null,
      cipher: first?.negotiated.cipher ?? null,
    },
    clientCpu,
    order: runs.map((r) => r.group),
    groups: summaries,
  };
  if (options.control?.interruptedBy) comparison.interrupted = { signal: options.control.interruptedBy };
  if (serverDoc) comparison.server = { handshakes: serverDoc.totals.handshakes, groups: { ...(serverDoc.totals.groups ?? {}) } };
  return comparison;
}
