// iocptls k8s-job: the manifest is YAML that an independent parser (js-yaml) reads back into an
// Indexed Job with the fields Kubernetes needs, the bench's arguments survive quoting exactly,
// and the pods' command line, run here as two "pods", produces documents that the printed
// collect-and-merge pipeline merges.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { toYaml, YamlValue } from '../src/report/yaml';
import { startCountingServer, CountingServer } from './helpers/bench_peers';
import { dump, ROOT, RUN_JS, runCli } from './helpers/cli';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml: { load(text: string): unknown } = require('js-yaml');

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

  it('prints a manifest that parses, with the Indexed Job fields and the bench arguments intact', async () => {
    const before = Date.now();
    const bench = ['bench', 'handshake', '10.1.2.3:8443', '-c', '40', '-d', '30', ...TRICKY];
    const r = await runCli(['k8s-job', '--parallelism', '4', '--image', 'registry.example/iocptls:test', '--name', 'tls-load', '--start-in', '90', '--', ...bench]);
    assert.equal(r.code, 0, dump(r));
    const m = yaml.load(r.out) as any;
    assert.equal(m.apiVersion, 'batch/v1');
    assert.equal(m.kind, 'Job');
    assert.equal(m.metadata.name, 'tls-load');
    assert.equal(m.spec.completionMode, 'Indexed');
    assert.equal(m.spec.parallelism, 4);
    assert.equal(m.spec.completions, 4);
    assert.equal(m.spec.backoffLimit, 0);
    const pod = m.spec.template.spec;
    assert.equal(pod.restartPolicy, 'Never');
    assert.equal(pod.containers.length, 1);
    const c = pod.containers[0];
    assert.equal(c.image, 'registry.example/iocptls:test');
    assert.deepEqual(c.command, ['iocptls']);
    // Every argument exactly as given, then what the pods need.
    const startAt = c.args[c.args.indexOf('--start-at') + 1];
    assert.deepEqual(c.args, [...bench, '--shard', 'auto/4', '--start-at', startAt, '--json']);
    const t = Date.parse(startAt);
    assert.match(startAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    assert.ok(t >= before + 90_000 && t <= Date.now() + 91_000, `start ${startAt}`);
    // Pods spread over nodes where possible; the label the selector uses is on the pods.
    const term = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
    assert.equal(term.topologyKey, 'kubernetes.io/hostname');
    assert.deepEqual(term.labelSelector.matchLabels, { 'app.kubernetes.io/instance': 'tls-load' });
    assert.equal(m.spec.template.metadata.labels['app.kubernetes.io/instance'], 'tls-load');
    // The comments say how to collect and merge, with the whole log of every pod.
    assert.match(r.out, /^# +kubectl logs -l job-name=tls-load --prefix=false --tail=-1 --max-log-requests=5 \| iocptls merge - --out tls-load\.json$/m);
    assert.match(r.stderr, /collect and merge with:/);
  });

  it('refuses what would fail in every pod: exit 2, one line', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--parallelism', '3', '--', 'bench', '10.1.2.3:443', '--shard', '0/3'], /leave out --shard/],
      [['--parallelism', '3', '--', 'bench', '10.1.2.3:443', '--json'], /leave out --json/],
      [['--parallelism', '3', '--', 'bench', '10.1.2.3:443', '--bogus'], /Nonexistent flag: --bogus/],
      [['--parallelism', '3', '--', 'bench', '-c', '9'], /needs a target/],
      [['--parallelism', '3', '--', 'bench', '10.1.2.3:443', '-c', '2'], /--parallelism 3: -c 2 cannot be split 3 ways/],
      [['--parallelism', '3', '--', 'serve'], /give the bench to run after --/],
      [['--parallelism', '3', 'bench', '10.1.2.3:443'], /put the bench after --/],
      [['--parallelism', '3', '--name', 'Not_OK', '--', 'bench', '10.1.2.3:443'], /--name 'Not_OK'/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(['k8s-job', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}\n${dump(r)}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.out, '');
    }
  });

  describe('the pods, run here', () => {
    let server: CountingServer | undefined;
    after(async () => server?.close());

    it("two 'pods' with the manifest's arguments; their logs, stderr included, merge through the printed pipeline", async () => {
      server = await startCountingServer({});
      const target = `127.0.0.1:${server.port}`;
      const r = await runCli(['k8s-job', '--parallelism', '2', '--start-in', '8', '--', 'bench', target, '-c', '4', '-d', '2', '--warmup', '0', '--servername', "it's #1"]);
      assert.equal(r.code, 0, dump(r));
      assert.match(r.stderr, /each pod's own loopback/);
      const c = (yaml.load(r.out) as any).spec.template.spec.containers[0];
      // Each pod: the container's command and args, its index in JOB_COMPLETION_INDEX, stdout and stderr in one log.
      const logs = await Promise.all([0, 1].map((i) => runPod([...c.args], i)));
      for (const l of logs) assert.equal(l.code, 0, l.log);
      const merged = await runCli(['merge', '-', '--json'], { input: logs.map((l) => l.log).join('') });
      assert.equal(merged.code, 0, dump(merged));
      const d = JSON.parse(merged.out);
      assert.deepEqual(d.merged.of, 2);
      assert.deepEqual(d.shards.map((s: any) => s.shard), [0, 1]);
      assert.equal(d.params.connections, 4);
      assert.equal(d.params.servername, "it's #1");
      assert.equal(d.totals.handshakes, d.shards[0].totals.handshakes + d.shards[1].totals.handshakes);
      assert.ok(d.totals.handshakes > 0);
      assert.equal(server.handshakes, d.totals.handshakes + d.afterWindow.handshakes + d.warmup.totals.handshakes);
    });
  });
});

/** Runs the CLI as a pod would: JOB_COMPLETION_INDEX set, stdout and stderr going to one log (as the container runtime keeps it). */
function runPod(args: string[], index: number): Promise<{ code: number | null; log: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN_JS, ...args], { cwd: ROOT, env: { ...process.env, JOB_COMPLETION_INDEX: String(index) }, stdio: ['ignore', 'pipe', 'pipe'] });
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
