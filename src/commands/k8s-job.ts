import { Flags, Parser } from '@oclif/core';
import { IocptlsCommand } from '../cli/base';
import { handshakeOptions } from '../cli/handshake_flags';
import { collectCommand, jobManifest, JobSpec, manifestHeader } from '../cli/k8s_job';
import { shardLoad } from '../cli/shard_flags';
import { parseTarget } from '../cli/target';
import { ConfigError } from '../engine/errors';
import { toolInfo } from '../report/facts';
import { toYaml } from '../report/yaml';
import Bench from './bench/index';
import BenchHandshake from './bench/handshake';
import BenchThroughput from './bench/throughput';

/** Flags the manifest sets on every pod itself. */
const ADDED = ['--shard', '--start-at', '--json'];

export default class K8sJob extends IocptlsCommand {
  static summary = 'Print a Kubernetes Indexed Job that runs a bench as N shards, starting together.';
  static description = [
    'Everything after -- is the bench to run (bench, bench handshake or bench throughput, with a target), checked ' +
      'here as bench would check it. Each pod runs its share (--shard auto/N: the pod\'s JOB_COMPLETION_INDEX), all ' +
      'pods begin at one instant (--start-at: the time this is written plus --start-in), and each prints its result ' +
      'document on stdout.',
    'The comments above the manifest give the kubectl command that collects the documents and merges them ' +
      '(iocptls merge). No cluster is needed to write the manifest.',
    'See docs/commands/k8s-job.md.',
  ].join('\n\n');
  static examples = [
    '<%= config.bin %> k8s-job --parallelism 4 --image registry.example/iocptls:0.1.0 -- bench handshake 10.0.0.5:443 -c 400 -d 30 > job.yaml',
  ];
  static strict = false;
  static flags = {
    parallelism: Flags.integer({ char: 'p', description: 'shards: pods that run at once, one share each', required: true, min: 1, max: 10000 }),
    image: Flags.string({ description: 'container image with iocptls on its PATH [default: iocptls:<this version>]' }),
    name: Flags.string({ description: 'the Job\'s name (pods get it as their job-name label)', default: 'iocptls-bench' }),
    namespace: Flags.string({ char: 'n', description: 'namespace to put the Job in [default: kubectl\'s current one]' }),
    'start-in': Flags.integer({ description: 'seconds from now until the shards begin: time for the pods to be scheduled and their image pulled', default: 60, min: 1, max: 86400 }),
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
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 52) {
      throw new ConfigError(`--name '${name}' must be lower-case letters, digits and '-', at most 52 characters (pod names add a suffix)`);
    }
    if (flags.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(flags.namespace)) throw new ConfigError(`--namespace '${flags.namespace}' is not a Kubernetes namespace name`);
    await checkBench(benchArgs.slice(1), flags.parallelism);

    const spec: JobSpec = {
      name,
      image: flags.image ?? `iocptls:${toolInfo().version}`,
      parallelism: flags.parallelism,
      benchArgs,
      // A whole second, so the time reads well in the manifest and the logs.
      startAtMs: Math.ceil((Date.now() + flags['start-in'] * 1000) / 1000) * 1000,
      namespace: flags.namespace,
    };
    process.stdout.write(manifestHeader(spec, flags['start-in']) + toYaml(jobManifest(spec)));
    process.stderr.write(`iocptls: the shards begin at ${new Date(spec.startAtMs).toISOString()}; collect and merge with:\n  ${collectCommand(spec)}\n`);
  }
}

/**
 * Parses the bench's own command line as bench would, so a typo fails here and not in N pods, and
 * checks that its load splits N ways.
 */
async function checkBench(args: string[], n: number): Promise<void> {
  const sub = args[0] === 'handshake' || args[0] === 'throughput' ? args[0] : undefined;
  const rest = sub ? args.slice(1) : args;
  const C: { flags: Record<string, any>; args: Record<string, any> } = sub === 'throughput' ? BenchThroughput : sub === 'handshake' ? BenchHandshake : Bench;
  for (const a of rest) {
    const flag = a.split('=')[0];
    if (ADDED.includes(flag)) throw new ConfigError(`leave out ${flag}: k8s-job gives every pod --shard auto/${n}, one --start-at and --json`);
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
}
