// What `iocptls k8s-job` prints: a headless Service and an Indexed Job that run a bench as N
// shards on N pods — the pattern distributed trainers use on Kubernetes. Each pod's hostname is
// <job>-<index> and its subdomain the Service, so every pod reaches pod 0 as <job>-0.<job>; pod 0
// hosts the rendezvous there (--rendezvous), the shards start at the instant it announces once all
// are in, and pod 0 prints the merged result: its log is the result. Kubernetes schedules;
// iocptls only shards, meets, starts together and merges.
import type { YamlValue } from '../report/yaml';

export interface JobSpec {
  name: string;
  image: string;
  parallelism: number;
  /** The bench command line as given after `--`, starting with 'bench'. */
  benchArgs: string[];
  namespace?: string;
  /** The rendezvous port on pod 0. */
  port: number;
  /** Seconds each shard waits for all to join (image pulls and scheduling included). */
  rendezvousTimeoutSec: number;
  /** CPU and memory of each pod, requests = limits (Guaranteed QoS). */
  cpu: string;
  memory: string;
  spread: 'required' | 'preferred';
  activeDeadlineSec: number;
  ttlSec: number;
}

/** pod 0's name in the cluster's DNS, as the other pods of the Job (same namespace) resolve it. */
export function rendezvousHost(spec: JobSpec): string {
  return `${spec.name}-0.${spec.name}`;
}

/** What each pod runs: the bench, its shard from the pod's index, the rendezvous at pod 0, JSON on stdout. */
export function podArgs(spec: JobSpec): string[] {
  return [
    ...spec.benchArgs,
    '--shard',
    `auto/${spec.parallelism}`,
    '--rendezvous',
    `${rendezvousHost(spec)}:${spec.port}`,
    // Pod 0 reaches itself by that name only once the Service publishes it: it listens on every address of its own pod.
    '--rendezvous-bind',
    '0.0.0.0',
    '--rendezvous-timeout',
    String(spec.rendezvousTimeoutSec),
    '--json',
  ];
}

function ns(spec: JobSpec): string {
  return spec.namespace ? ` -n ${spec.namespace}` : '';
}

/**
 * Waits until the Job is Complete or Failed, whichever comes, and prints which. `kubectl wait`
 * waits for one condition only (a wait for `complete` sits out a failure until its timeout), and
 * its jsonpath form cannot say "either" before kubectl 1.31; a loop over `kubectl get` with a
 * jsonpath filter works with any kubectl and any POSIX shell. It ends: activeDeadlineSeconds
 * fails a Job that runs too long.
 */
export function waitCommand(spec: JobSpec): string {
  const get = `kubectl get${ns(spec)} job/${spec.name} -o jsonpath='{.status.conditions[?(@.status=="True")].type}'`;
  // A Job that cannot be read (deleted, no access) ends the loop too, with kubectl's own error.
  return `while s=$(${get}); do case " $s " in *" Complete "*|*" Failed "*) break;; esac; sleep 5; done; echo "job/${spec.name}: $s"`;
}

/** Pod 0's log holds the merged document (and its stderr lines around it, which report skips). */
export function collectCommand(spec: JobSpec): string {
  return `kubectl logs${ns(spec)} -l job-name=${spec.name},batch.kubernetes.io/job-completion-index=0 --tail=-1 | iocptls report - --json > ${spec.name}.json`;
}

const labelsOf = (spec: JobSpec) => ({ 'app.kubernetes.io/name': 'iocptls', 'app.kubernetes.io/instance': spec.name });

function metadataOf(spec: JobSpec): Record<string, YamlValue> {
  const metadata: Record<string, YamlValue> = { name: spec.name, labels: labelsOf(spec) };
  if (spec.namespace) metadata.namespace = spec.namespace;
  return metadata;
}

/** The headless Service that gives each pod of the Job a DNS name (<job>-<index>.<job>). */
export function serviceManifest(spec: JobSpec): YamlValue {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadataOf(spec),
    spec: {
      clusterIP: 'None',
      selector: { 'app.kubernetes.io/instance': spec.name },
      // Names resolve as soon as a pod has an address, not only once it is Ready: the shards meet before any of them would be.
      publishNotReadyAddresses: true,
      ports: [{ name: 'rendezvous', port: spec.port, targetPort: spec.port, protocol: 'TCP' }],
    },
  };
}

export function jobManifest(spec: JobSpec): YamlValue {
  const labels = labelsOf(spec);
  const term = { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/instance': spec.name } } };
  const antiAffinity: YamlValue =
    spec.spread === 'required'
      ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
      : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] };
  const resources = { cpu: spec.cpu, memory: spec.memory };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: metadataOf(spec),
    spec: {
      completionMode: 'Indexed',
      completions: spec.parallelism,
      parallelism: spec.parallelism,
      // A shard is never retried: a second try would join a run that has started (shard 0 refuses it).
      // Per index, so one failed shard does not make Kubernetes delete the others at once: pod 0 must
      // live to notice the loss and print the merged result that names it (then it fails too).
      backoffLimitPerIndex: 0,
      podFailurePolicy: {
        rules: [
          { action: 'FailIndex', onExitCodes: { containerName: 'iocptls', operator: 'NotIn', values: [0] } },
          // Evicted or preempted: its share is lost; retrying it would not put it back in the run.
          { action: 'FailIndex', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ],
      },
      activeDeadlineSeconds: spec.activeDeadlineSec,
      ttlSecondsAfterFinished: spec.ttlSec,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          // <job>-<index>.<subdomain>: how the shards find pod 0.
          subdomain: spec.name,
          affinity: { podAntiAffinity: antiAffinity },
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'iocptls',
              image: spec.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['iocptls'],
              args: podArgs(spec),
              // The node each shard ran on goes into its document (shard.node) and the merged shard table.
              env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
              ports: [{ name: 'rendezvous', containerPort: spec.port, protocol: 'TCP' }],
              // Requests equal to limits: Guaranteed QoS, so a static CPU manager can pin whole cores.
              resources: { requests: resources, limits: resources },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
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

/** The comment block above the manifests: what they run, and how to apply, wait, collect and clean up. */
export function manifestHeader(spec: JobSpec): string {
  return [
    `# iocptls k8s-job: ${spec.parallelism} shards of \`iocptls ${shellLine(spec.benchArgs)}\``,
    `# The pods meet at pod 0 (${rendezvousHost(spec)}:${spec.port}, through the headless Service) and start`,
    `# together once all ${spec.parallelism} are in (each waits at most ${spec.rendezvousTimeoutSec} s, then fails naming the missing ones).`,
    `# Pod 0 prints the merged result. Kubernetes >= 1.29 (backoffLimitPerIndex). Saved as ${spec.name}.yaml:`,
    `#   kubectl apply${ns(spec)} -f ${spec.name}.yaml`,
    `# Wait until the Job is Complete or Failed (either ends the wait):`,
    `#   ${waitCommand(spec)}`,
    `# The merged result document, from pod 0's log (within ${spec.ttlSec} s: then the Job and its pods are deleted):`,
    `#   ${collectCommand(spec)}`,
    `# Then: kubectl delete${ns(spec)} job/${spec.name} service/${spec.name}`,
  ].join('\n') + '\n';
}
