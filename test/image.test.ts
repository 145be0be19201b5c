// The container image under podman, as the Kubernetes Job runs it (scripts/test-image.sh: N shard
// containers on one network against an `iocptls serve` container; start skew, merged count against
// the server's, a missing shard, a killed shard). Slow (container starts, minutes on a loaded
// machine) and needs podman and buildah as root: it runs only with IOCPTLS_IMAGE_TEST=1; CI runs
// the same checks with processes on loopback (test/rendezvous.test.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './helpers/cli';

describe('the container image under podman (IOCPTLS_IMAGE_TEST=1)', function () {
  this.timeout(30 * 60_000);

  before(function () {
    if (process.env.IOCPTLS_IMAGE_TEST !== '1') {
      console.log('      skipped: set IOCPTLS_IMAGE_TEST=1 to build the image and run it under podman (scripts/test-image.sh)');
      this.skip();
    }
    const podman = spawnSync('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'], { encoding: 'utf8' });
    if (podman.status !== 0) {
      console.log(`      skipped: podman does not work here: ${(podman.stderr || String(podman.error)).trim().split('\n').pop()}`);
      this.skip();
    }
  });

  it('builds the image (scripts/build-image.sh), then N pods against serve pass every check (scripts/test-image.sh)', () => {
    const build = spawnSync('bash', [path.join(ROOT, 'scripts', 'build-image.sh')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr + build.stdout);
    console.log(`      ${build.stdout.trim().split('\n').pop()}`);
    const test = spawnSync('bash', [path.join(ROOT, 'scripts', 'test-image.sh')], { cwd: ROOT, encoding: 'utf8' });
    for (const line of test.stdout.split('\n').filter((l) => /^test-image: (PASS|FAIL|image)/.test(l))) console.log(`      ${line}`);
    assert.equal(test.status, 0, test.stdout + test.stderr);
    assert.match(test.stdout, /PASS merged count: merged handshakes \(warmup \+ window \+ drain\) (\d+), serve counted \1\b/);
    assert.match(test.stdout, /all checks passed/);
  });
});
