import { Flags, Parser } from '@oclif/core';
import { IocptlsCommand } from '../cli/base';
import { handshakeOptions } from '../cli/handshake_flags';
import { collectCommand, jobManifest, JobSpec, manifestHeader, serviceManifest, waitCommand } from '../cli/k8s_job';
import { shardLoad } from '../cli/shard_flags';
import { parseTarget } from '../cli/target';
import { ConfigError } from '../engine/errors';
import { toolInfo } from '../report/facts';
import { toYaml } from '../report/yaml';
import Bench from './bench/index';
import BenchHandshake from './bench/handshake';
import BenchThroughput from './bench/throughput';

/** Flags the manifest sets on every pod itself. */
const ADDED = ['--shard', '--start-at', '--json', '--rendezvous', '--rendezvous-bind', '--rendezvous-timeout'];

/** A Kubernetes resource quantity (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/). */
const QUANTITY = /^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$/;

export default class K8sJob extends IocptlsCommand {
  static summary = 'Print a Kubernetes Service and Indexed Job: a bench as N shards that meet.';
  static description = [
    'Everything after -- is the bench to run (bench, bench handshake or bench throughput, with a target), checked ' +
      'here as bench would check it. Each pod runs its share (--shard auto/N: the pod\'s JOB_COMPLETION_INDEX); the pods ' +
      'meet at pod 0, which they reach by its DNS name through the headless Service (--rendezvous), start together at ' +
      'the instant pod 0 announces once all are in, and send it their results: pod 0\'s log is the merged result.',
    'Each pod asks for --cpu and --memory as requests equal to limits (Guaranteed QoS), one pod per node (--spread), ' +
      'no retries (a retried shard cannot rejoin a run under way), a deadline and a time to live. The comments above ' +
      'the manifests give the commands that apply, wait (returning on failure too) and collect. No cluster is needed ' +
      'to write them.',
    'See docs/commands/k8s-job.md and docs/distributed.md.',
  ].join('\n\n');
  static examples = [
    '<%= config.bin %> k8s-job --parallelism 4 --image registry.example/iocptls:0.1.0 -- bench handshake 10.0.0.5:443 -c 400 -d 30 > job.yaml',
  ];
  static strict = false;
  static flags = {
    parallelism: Flags.integer({ char: 'p', description: 'shards: pods that run at once, one share each', required: true, min: 1, max: 10000 }),
    image: Flags.string({ description: 'container image with iocptls as its entry point or on its PATH (scripts/build-image.sh builds one) [default: iocptls:<this version>]' }),
    name: Flags.string({ description: 'the Job\'s and the Service\'s name (pods get it as their job-name label)', default: 'iocptls-bench' }),
    namespace: Flags.string({ char: 'n', description: 'namespace to put them in [default: kubectl\'s current one]' }),
    cpu: Flags.string({ description: 'CPU of each pod, request and limit alike (a Kubernetes quantity: 2, 500m)', default: '2' }),
    memory: Flags.string({ description: 'memory of each pod, request and limit alike (a Kubernetes quantity: 1Gi, 512Mi)', default: '1Gi' }),
    spread: Flags.option({
      description: 'one pod per node: required (a pod waits for a free node, and the run fails at the rendezvous deadline if none comes) or preferred (pods may share a node when there are too few; the shard table shows it)',
      options: ['required', 'preferred'] as const,
      default: 'required' as const,
    })(),
    port: Flags.integer({ description: 'the rendezvous port on pod 0', default: 7470, min: 1, max: 65535 }),
    'rendezvous-timeout': Flags.integer({ description: 'seconds each pod waits for all to join: room for scheduling and image pulls', default: 300, min: 1, max: 86400 }),
    'active-deadline': Flags.integer({ description: 'seconds after which Kubernetes fails the Job, whatever it is doing [default: the rendezvous timeout + the run\'s time + 300]', min: 1 }),
    ttl: Flags.integer({ description: 'seconds after the Job finishes until Kubernetes deletes it and its pods (and their logs: collect before)', default: 3600, min: 0 }),
  };

  async run(): Promise<void> {
    const raw = this.argv;
    const dash = raw.indexOf('--');
    const own = dash < 0 ? raw : raw.slice(0, dash);
    const benchArgs = dash < 0 ? [] : raw.slice(dash + 1);
    const { flags, argv } = await this.parse(K8sJob, own);
    if (argv.length > 0 && dash < 0) throw new ConfigError(`put the bench after --: iocptls k8s-job --parallelism N -- bench HOST:PORT ...`);
    if (argv.length > 0) throw new ConfigError(`unexpected argument '${argv[0]}' before --`);
    if (benchArgs[0] !== 'bench') throw new ConfigError('give the bench to run after --: iocptls k8s-job --parallelism N -- bench [handshake|throughput] HOST:PORT ...');
    const name = flags.name;
    // 52: the pods' hostnames (<name>-<index>) and label values stay within 63 characters.
    if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 52) {
      throw new ConfigError(`--name '${name}' must start with a letter and be lower-case letters, digits and '-', at most 52 characters (it names the Service and the pods' hostnames)`);
    }
    if (flags.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(flags.namespace)) throw new ConfigError(`--namespace '${flags.namespace}' is not a Kubernetes namespace name`);
    for (const f of ['cpu', 'memory'] as const) if (!QUANTITY.test(flags[f])) throw new ConfigError(`--${f} '${flags[f]}' is not a Kubernetes quantity (e.g. ${f === 'cpu' ? '2 or 500m' : '1Gi or 512Mi'})`);
    const runSec = await checkBench(benchArgs.slice(1), flags.parallelism);

    const spec: JobSpec = {
      name,
      image: flags.image ?? `iocptls:${toolInfo().version}`,
      parallelism: flags.parallelism,
      benchArgs,
      namespace: flags.namespace,
      port: flags.port,
      rendezvousTimeoutSec: flags['rendezvous-timeout'],
      cpu: flags.cpu,
      memory: flags.memory,
      spread: flags.spread,
      activeDeadlineSec: flags['active-deadline'] ?? flags['rendezvous-timeout'] + (runSec ?? 3600) + 300,
      ttlSec: flags.ttl,
    };
    process.stdout.write(manifestHeader(spec) + toYaml(serviceManifest(spec)).replace(/\n?$/, '\n') + '---\n' + toYaml(jobManifest(spec)).replace(/\n?$/, '\n'));
    process.stderr.write(`iocptls: wait for the Job, then take the merged result from pod 0's log:\n  ${waitCommand(spec)}\n  ${collectCommand(spec)}\n`);
  }
}

/**
 * Parses the bench's own command line as bench would, so a typo fails here and not in N pods, and
 * checks that its load splits N ways.
 */
async function checkBench(args: string[], n: number): Promise<number | undefined> {
  const sub = args[0] === 'handshake' || args[0] === 'throughput' ? args[0] : undefined;
  const rest = sub ? args.slice(1) : args;
  const C: { flags: Record<string, any>; args: Record<string, any> } = sub === 'throughput' ? BenchThroughput : sub === 'handshake' ? BenchHandshake : Bench;
  for (const a of rest) {
    const flag = a.split('=')[0];
    if (ADDED.includes(flag)) throw new ConfigError(`leave out ${flag}: k8s-job gives every pod --shard auto/${n}, the --rendezvous at pod 0 and --json`);
  }
  let parsed;
  try {
    parsed = await Parser.parse(rest, { flags: { ...IocptlsCommand.baseFlags, ...C.flags }, args: C.args, strict: true });
  } catch (e) {
    throw new ConfigError(`bench ${sub ? `${sub} ` : ''}arguments: ${(e as Error).message.split('\n')[0]}`);
  }
  const f = parsed.flags as Record<string, any>;
  const target = (parsed.args as { target?: string }).target;
  if (!target) throw new ConfigError('the bench needs a target HOST:PORT: without one, each pod would benchmark its own embedded server');
  const t = parseTarget(target, 443);
  if (/^(127\.|localhost$|::1$)/.test(t.host)) process.stderr.write(`iocptls: warning: ${t.host} is each pod's own loopback, not a server of the cluster\n`);
  const whole =
    sub === 'throughput'
      ? { connections: f.connections ?? 1, rate: f.rate ?? 0, count: 0 }
      : { ...{ count: f.count ?? 0 }, connections: handshakeOptions(f).connections!, rate: f.rate ?? 0 };
  // The last shard gets the smallest share: if it gets some of everything, they all do.
  try {
    shardLoad(whole, { index: n - 1, count: n });
  } catch (e) {
    throw new ConfigError(`--parallelism ${n}: ${(e as Error).message.replace(/^--shard \S+: /, '')}`);
  }
  // How long the bench runs, when that is known (a --count run's is not): warmup, window and pause of every round, and a drain.
  if (f.count) return undefined;
  const rounds = f.rounds ?? 1;
  return rounds * ((f.warmup ?? 1) + (f.duration ?? 8) + (f['round-pause'] ?? 1)) + (f.timeout ?? 10000) / 1000;
}
