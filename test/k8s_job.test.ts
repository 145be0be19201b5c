// iocptls k8s-job: the manifests are YAML that an independent parser (js-yaml) reads back into a
// headless Service and an Indexed Job that the Kubernetes API schema accepts (kubernetes-models'
// validators, generated from the OpenAPI spec), the bench's arguments survive quoting exactly, the
// printed wait loop ends on Complete and on Failed, and the pods' command line, run here as two
// "pods" (pod 0's DNS name standing for loopback), meets, merges at pod 0, and the printed collect
// pipeline reads the merged document out of pod 0's log.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getFreePort } from './helpers/free_port';
import { toYaml, YamlValue } from '../src/report/yaml';
import { startCountingServer, CountingServer } from './helpers/bench_peers';
import { dump, ROOT, RUN_JS, runCli } from './helpers/cli';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml: { load(text: string): unknown; loadAll(text: string): unknown[] } = require('js-yaml');

// kubernetes-models is ESM only: a real import(), which TypeScript's CommonJS output would turn into require().
const importEsm = new Function('p', 'return import(p)') as (p: string) => Promise<any>;

/** Validates against the Kubernetes API schema (throws with every violation listed). */
async function validateK8s(doc: any): Promise<void> {
  const { Job } = await importEsm('kubernetes-models/batch/v1/Job');
  const { Service } = await importEsm('kubernetes-models/v1/Service');
  const Model = doc.kind === 'Job' ? Job : doc.kind === 'Service' ? Service : undefined;
  assert.ok(Model, `unexpected kind ${doc.kind}`);
  new Model(doc).validate();
}

/** The Service and the Job of a k8s-job output, read back with js-yaml. */
function manifests(out: string): { service: any; job: any } {
  const docs = yaml.loadAll(out) as any[];
  assert.deepEqual(docs.map((d) => d.kind), ['Service', 'Job']);
  return { service: docs[0], job: docs[1] };
}

/** Arguments that would break naive quoting: quotes, YAML indicators, a comment sign, unicode. */
const TRICKY = ['--servername', `it's a "test" #1: ok, [x] {y} & *z | > @ \``, '--alpn', 'h2,http/1.1', '--ciphers', 'ECDHE+AESGCM:!aNULL', '--groups', 'X25519:P-256', '--ciphersuites', 'TLS_AES_128_GCM_SHA256 ü→✓'];

describe('k8s-job: an Indexed Job manifest', function () {
  this.timeout(120_000);

  it('the YAML emitter round-trips awkward values through js-yaml', () => {
    const value: YamlValue = {
      plain: 'text',
      'odd key: #1': ['- not a list', 'yes', 'no', 'null', '~', '0x10', '1e3', '', ' padded ', 'multi\nline\ttab', '\u2028sep', 'quote"back\\slash'],
      numbers: [0, -1.5, 1e21, 42],
      flags: [true, false, null],
      nested: [[1, [2, { a: [] }]], { b: {}, c: [{ d: 'e' }] }],
      empty: {},
    };
    assert.deepEqual(yaml.load(toYaml(value)), value);
  });

  it('the schema check is real: it refuses a Job with a wrong type or a missing container field', async () => {
    await assert.rejects(validateK8s({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'x' }, spec: { backoffLimitPerIndex: 'none', template: { spec: { containers: [{ image: 'x' }] } } } }), /backoffLimitPerIndex must be integer, .*containers\/0 must have required property name/);
  });

  it('prints a headless Service and an Indexed Job that the Kubernetes API schema accepts, the bench arguments intact', async () => {
    const bench = ['bench', 'handshake', '10.1.2.3:8443', '-c', '40', '-d', '30', ...TRICKY];
    const r = await runCli(['k8s-job', '--parallelism', '4', '--image', 'registry.example/iocptls:test', '--name', 'tls-load', '--cpu', '1500m', '--memory', '768Mi', '--spread', 'preferred', '--ttl', '600', '--', ...bench]);
    assert.equal(r.code, 0, dump(r));
    const { service, job: m } = manifests(r.out);
    await validateK8s(service);
    await validateK8s(m);
    // The Service: headless, selecting the Job's pods, names published before the pods are ready.
    assert.equal(service.metadata.name, 'tls-load');
    assert.equal(service.spec.clusterIP, 'None');
    assert.equal(service.spec.publishNotReadyAddresses, true);
    assert.deepEqual(service.spec.selector, { 'app.kubernetes.io/instance': 'tls-load' });
    assert.equal(service.spec.ports[0].port, 7470);
    assert.equal(m.apiVersion, 'batch/v1');
    assert.equal(m.metadata.name, 'tls-load');
    assert.equal(m.spec.completionMode, 'Indexed');
    assert.equal(m.spec.parallelism, 4);
    assert.equal(m.spec.completions, 4);
    // No retries, per index: one failed shard does not get the others deleted before pod 0 reports.
    assert.equal(m.spec.backoffLimitPerIndex, 0);
    assert.equal(m.spec.backoffLimit, undefined);
    assert.deepEqual(m.spec.podFailurePolicy.rules.map((x: any) => x.action), ['FailIndex', 'FailIndex']);
    assert.deepEqual(m.spec.podFailurePolicy.rules[0].onExitCodes, { containerName: 'iocptls', operator: 'NotIn', values: [0] });
    assert.equal(m.spec.activeDeadlineSeconds, 300 + 1 + 30 + 1 + 10 + 300);
    assert.equal(m.spec.ttlSecondsAfterFinished, 600);
    const pod = m.spec.template.spec;
    assert.equal(pod.restartPolicy, 'Never');
    // <job>-<index>.<subdomain> is how the pods reach pod 0; the Service's selector matches the pods' label.
    assert.equal(pod.subdomain, service.metadata.name);
    assert.equal(m.spec.template.metadata.labels['app.kubernetes.io/instance'], 'tls-load');
    assert.equal(pod.containers.length, 1);
    const c = pod.containers[0];
    assert.equal(c.image, 'registry.example/iocptls:test');
    assert.deepEqual(c.command, ['iocptls']);
    // Every argument exactly as given, then what the pods need; no wall-clock start in the manifest.
    assert.deepEqual(c.args, [...bench, '--shard', 'auto/4', '--rendezvous', 'tls-load-0.tls-load:7470', '--rendezvous-bind', '0.0.0.0', '--rendezvous-timeout', '300', '--json']);
    assert.ok(!r.out.includes('--start-at'));
    // Guaranteed QoS: requests equal to limits, CPU and memory.
    assert.deepEqual(c.resources, { requests: { cpu: '1500m', memory: '768Mi' }, limits: { cpu: '1500m', memory: '768Mi' } });
    assert.deepEqual(c.env, [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }]);
    const term = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
    assert.equal(term.topologyKey, 'kubernetes.io/hostname');
    assert.deepEqual(term.labelSelector.matchLabels, { 'app.kubernetes.io/instance': 'tls-load' });
    // The comments say how to wait (also for a failure) and collect pod 0's log.
    assert.match(r.out, /^# +while s=\$\(kubectl get job\/tls-load .*\*" Failed "\*\) break;;/m);
    assert.match(r.out, /^# +kubectl logs -l job-name=tls-load,batch\.kubernetes\.io\/job-completion-index=0 --tail=-1 \| iocptls report - --json > tls-load\.json$/m);
    assert.match(r.stderr, /take the merged result from pod 0's log/);
  });

  it('--spread required (the default) is a hard anti-affinity; the defaults pass the schema too', async () => {
    const r = await runCli(['k8s-job', '-p', '2', '-n', 'perf', '--', 'bench', '10.1.2.3:443', '-c', '4', '-n', '1000']);
    assert.equal(r.code, 0, dump(r));
    const { service, job } = manifests(r.out);
    await validateK8s(service);
    await validateK8s(job);
    assert.equal(job.metadata.namespace, 'perf');
    const terms = job.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    assert.equal(terms[0].topologyKey, 'kubernetes.io/hostname');
    assert.deepEqual(job.spec.template.spec.containers[0].resources.limits, { cpu: '2', memory: '1Gi' });
    // A --count run has no known length: an hour is allowed for it.
    assert.equal(job.spec.activeDeadlineSeconds, 300 + 3600 + 300);
  });

  it('the printed wait loop returns on Complete and on Failed (and when the Job cannot be read), with any POSIX shell', () => {
    const r = spawnSync(process.execPath, [RUN_JS, 'k8s-job', '-p', '2', '--name', 'w', '--', 'bench', '10.1.2.3:443', '-c', '2'], { cwd: ROOT, encoding: 'utf8' });
    const loop = /^# +(while s=.*)$/m.exec(r.stdout)![1];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-kubectl-'));
    try {
      // A kubectl that answers the jsonpath query from a list of states, one per call (the Job's condition types over time).
      fs.writeFileSync(path.join(dir, 'kubectl'), '#!/bin/sh\nn=$(cat "$STATE.n" 2>/dev/null || echo 0); echo $((n+1)) > "$STATE.n"\nline=$(sed -n "$((n+1))p" "$STATE")\n[ "$line" = ERROR ] && { echo \'Error from server (NotFound): jobs.batch "w" not found\' >&2; exit 1; }\nprintf %s "$line"\n', { mode: 0o755 });
      for (const [states, want] of [
        [['', 'SuccessCriteriaMet', 'SuccessCriteriaMet Complete'], 'job/w: SuccessCriteriaMet Complete'],
        [['', 'FailureTarget', 'FailureTarget Failed'], 'job/w: FailureTarget Failed'],
        [['', 'ERROR'], 'job/w: '],
      ] as Array<[string[], string]>) {
        const state = path.join(dir, `state-${want.length}`);
        fs.writeFileSync(state, states.join('\n') + '\n');
        const sh = spawnSync('sh', ['-c', loop.replace(/sleep 5/, 'sleep 0.1')], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, STATE: state }, encoding: 'utf8', timeout: 20_000 });
        assert.equal(sh.stdout.trim(), want.trim(), sh.stderr);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses what would fail in every pod: exit 2, one line', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--parallelism', '3', '--', 'bench', '10.1.2.3:443', '--shard', '0/3'], /leave out --shard/],
      [['--parallelism', '3', '--', 'bench', '10.1.2.3:443', '--rendezvous', 'a:1'], /leave out --rendezvous/],
      [['--parallelism', '3', '--cpu', 'two', '--', 'bench', '10.1.2.3:443'], /--cpu 'two' is not a Kubernetes quantity/],
      [['--parallelism', '3', '--spread', 'maybe', '--', 'bench', '10.1.2.3:443'], /Expected --spread=maybe to be one of: required, preferred/],
      [['--parallelism', '3', '--', 'bench', '10.1.2.3:443', '--json'], /leave out --json/],
      [['--parallelism', '3', '--', 'bench', '10.1.2.3:443', '--bogus'], /Nonexistent flag: --bogus/],
      [['--parallelism', '3', '--', 'bench', '-c', '9'], /needs a target/],
      [['--parallelism', '3', '--', 'bench', '10.1.2.3:443', '-c', '2'], /--parallelism 3: -c 2 cannot be split 3 ways/],
      [['--parallelism', '3', '--', 'serve'], /give the bench to run after --/],
      [['--parallelism', '3', 'bench', '10.1.2.3:443'], /put the bench after --/],
      [['--parallelism', '3', '--name', 'Not_OK', '--', 'bench', '10.1.2.3:443'], /--name 'Not_OK'/],
    ];
    // At once: each is a CLI start, slow on a loaded machine.
    const results = await Promise.all(cases.map(([args]) => runCli(['k8s-job', ...args])));
    for (const [k, [args, re]] of cases.entries()) {
      const r = results[k];
      assert.equal(r.code, 2, `${args.join(' ')}\n${dump(r)}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.out, '');
    }
  });

  describe('the pods, run here', () => {
    let server: CountingServer | undefined;
    after(async () => server?.close());

    it("two 'pods' with the manifest's arguments meet at pod 0, whose log, through the printed collect pipeline, is the merged result", async () => {
      server = await startCountingServer({});
      const target = `127.0.0.1:${server.port}`;
      const r = await runCli(['k8s-job', '--parallelism', '2', '--name', 'tls', '--', 'bench', target, '-c', '4', '-d', '2', '--warmup', '0', '--servername', "it's #1"]);
      assert.equal(r.code, 0, dump(r));
      assert.match(r.stderr, /each pod's own loopback/);
      const c = (manifests(r.out).job as any).spec.template.spec.containers[0];
      // Pod 0's name in the cluster's DNS stands for loopback here (and its port for a free one); everything else as the pods get it.
      const port = await getFreePort();
      const args = (c.args as string[]).map((a) => (a === 'tls-0.tls:7470' ? `127.0.0.1:${port}` : a === '0.0.0.0' ? '127.0.0.1' : a));
      assert.notDeepEqual(args, c.args);
      const logs = await Promise.all([0, 1].map((i) => runPod(args, i, `node-${i}`)));
      for (const l of logs) assert.equal(l.code, 0, l.log);
      // The collect pipeline's iocptls part: pod 0's log (stderr lines included) into report - --json.
      const collected = await runCli(['report', '-', '--json'], { input: logs[0].log });
      assert.equal(collected.code, 0, dump(collected));
      const d = JSON.parse(collected.out);
      assert.equal(d.merged.of, 2);
      assert.deepEqual(d.shards.map((s: any) => [s.shard, s.node]), [[0, 'node-0'], [1, 'node-1']]);
      assert.equal(d.params.connections, 4);
      assert.equal(d.params.servername, "it's #1");
      assert.equal(d.totals.handshakes, d.shards[0].totals.handshakes + d.shards[1].totals.handshakes);
      assert.ok(d.totals.handshakes > 0);
      assert.equal(server.handshakes, d.totals.handshakes + d.afterWindow.handshakes + d.warmup.totals.handshakes);
      // report - takes one document: two logs (pod 0's merged one and pod 1's own) are refused, in one line.
      const two = await runCli(['report', '-'], { input: logs[0].log + logs[1].log });
      assert.equal(two.code, 2, dump(two));
      assert.match(two.stderr, /^iocptls: stdin holds 2 result documents: give report one/);
      // The merged shard table shows the node each shard ran on.
      const text = await runCli(['report', '-'], { input: logs[0].log });
      assert.match(text.out, /│ Shard │ Host\s+│ Node\s+│/);
      assert.match(text.out, /│ 1\/2\s+│ \S+\s+│ node-1\s+│/);
    });
  });
});

/** Runs the CLI as a pod would: JOB_COMPLETION_INDEX set, stdout and stderr going to one log (as the container runtime keeps it). */
function runPod(args: string[], index: number, node: string): Promise<{ code: number | null; log: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN_JS, ...args], { cwd: ROOT, env: { ...process.env, JOB_COMPLETION_INDEX: String(index), NODE_NAME: node }, stdio: ['ignore', 'pipe', 'pipe'] });
    const parts: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => parts.push(d));
    child.stderr.on('data', (d: Buffer) => parts.push(d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, log: Buffer.concat(parts).toString() });
    });
  });
}
