// The Kubernetes Indexed Job that runs a bench as N shards on N pods, all starting at one instant,
// each printing its result document on stdout (kubectl logs collects them, `iocptls merge` adds
// them up). Kubernetes schedules; iocptls only shards, starts together and merges.
import type { YamlValue } from '../report/yaml';

export interface JobSpec {
  name: string;
  image: string;
  parallelism: number;
  /** The bench command line as given after `--`, starting with 'bench'. */
  benchArgs: string[];
  /** Epoch ms at which every shard begins. */
  startAtMs: number;
  namespace?: string;
}

/** What each pod runs: the bench, its shard from the pod's index, the common start, JSON on stdout. */
export function podArgs(spec: JobSpec): string[] {
  return [...spec.benchArgs, '--shard', `auto/${spec.parallelism}`, '--start-at', new Date(spec.startAtMs).toISOString(), '--json'];
}

/** The one pipeline that collects the pods' documents and merges them. */
export function collectCommand(spec: JobSpec): string {
  const ns = spec.namespace ? ` -n ${spec.namespace}` : '';
  // With a selector kubectl logs prints only the last 10 lines of each pod and asks at most 5 pods, unless told otherwise.
  return `kubectl logs${ns} -l job-name=${spec.name} --prefix=false --tail=-1 --max-log-requests=${Math.max(5, spec.parallelism)} | iocptls merge - --out ${spec.name}.json`;
}

export function jobManifest(spec: JobSpec): YamlValue {
  const labels = { 'app.kubernetes.io/name': 'iocptls', 'app.kubernetes.io/instance': spec.name };
  const metadata: Record<string, YamlValue> = { name: spec.name, labels };
  if (spec.namespace) metadata.namespace = spec.namespace;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata,
    spec: {
      completionMode: 'Indexed',
      completions: spec.parallelism,
      parallelism: spec.parallelism,
      // A retried shard would begin after --start-at, out of step with the others (and refuse to run):
      // a failed shard is reported, not retried.
      backoffLimit: 0,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          // One shard per node where the cluster has enough: shards on one node share its CPU and ports.
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    topologyKey: 'kubernetes.io/hostname',
                    labelSelector: { matchLabels: { 'app.kubernetes.io/instance': spec.name } },
                  },
                },
              ],
            },
          },
          containers: [
            {
              name: 'iocptls',
              image: spec.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['iocptls'],
              args: podArgs(spec),
            },
          ],
        },
      },
    },
  };
}

/** A command line for a comment: each argument quoted for a POSIX shell when it needs it. */
export function shellLine(args: readonly string[]): string {
  return args.map(shellQuote).join(' ');
}

function shellQuote(a: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a)) return a;
  // Control characters (a newline would end the comment line): ANSI-C quoting with escapes.
  if (/[\x00-\x1f\x7f\u2028\u2029]/.test(a)) {
    return `$'${a.replace(/[\\']/g, (c) => `\\${c}`).replace(/[\x00-\x1f\x7f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}'`;
  }
  return `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The comment block above the manifest: what it runs, when, and how to collect and merge. */
export function manifestHeader(spec: JobSpec, startInSec: number): string {
  const start = new Date(spec.startAtMs).toISOString();
  const ns = spec.namespace ? ` -n ${spec.namespace}` : '';
  return [
    `# iocptls k8s-job: ${spec.parallelism} shards of \`iocptls ${shellLine(spec.benchArgs)}\``,
    `# All shards begin at ${start} (${startInSec} s after this was written); a pod that starts later`,
    `# fails, saying so. The nodes' clocks must agree to a few ms (NTP/chrony). Saved as ${spec.name}.yaml:`,
    `#   kubectl apply${ns} -f ${spec.name}.yaml`,
    `#   kubectl wait${ns} --for=condition=complete job/${spec.name} --timeout=30m`,
    `# Collect and merge the shards' documents:`,
    `#   ${collectCommand(spec)}`,
    `# Then: kubectl delete${ns} job/${spec.name}`,
  ].join('\n') + '\n';
}
