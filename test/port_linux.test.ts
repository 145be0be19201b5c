// What only the Linux ports have to get right: io_uring's submission queue when it is full (no
// entry lost or overwritten, a TIMEOUT's timespec written only once its entry has a slot), and
// epoll waiting with a timespec (epoll_pwait2) rather than whole milliseconds.
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { EpollPort } from '../src/engine/port/epoll';
import { availableBackends } from '../src/engine/port/index';
import { IoUringPort } from '../src/engine/port/io_uring';
import { E } from '../src/engine/port/types';
import { PortHarness } from './helpers/port_harness';

const linux = process.platform === 'linux';

describe('io_uring: a full submission queue', function () {
  this.timeout(30_000);
  let h: PortHarness;
  before(function () {
    if (!linux || !availableBackends().includes('io_uring')) this.skip();
  });
  afterEach(async () => h && (await h.dispose()));

  it('loses and overwrites nothing when far more is prepared than the ring holds', async () => {
    const port = new IoUringPort({ entries: 4 });
    h = new PortHarness(port);
    // 500 timeouts of 0 ms: the 4-entry SQ fills again and again, and their completions overflow
    // the 16-entry CQ. (Kernels before 5.19 then push back with EBUSY and entries wait in the
    // port's backlog; newer ones keep the overflow to themselves.)
    const tokens = Array.from({ length: 500 }, () => h.timeout(0));
    // The harness fails on any token completing twice or not in flight; each must complete once.
    const res = await h.wait(tokens, 10_000);
    assert.ok(res.every((r) => r === E.ETIME));
    assert.equal(port.backlog, 0);
  });

  it("writes a timeout's timespec only once its entry has a slot (an unsubmitted one keeps its own)", async () => {
    const port = new IoUringPort({ entries: 4 });
    h = new PortHarness(port);
    // Four long timeouts fill the SQ, unsubmitted; a fifth, of 0 ms, must not borrow a slot's timespec.
    const long = [h.timeout(10_000), h.timeout(10_000), h.timeout(10_000), h.timeout(10_000)];
    const short = h.timeout(0);
    assert.deepEqual(await h.wait([short]), [E.ETIME]);
    await h.run(() => false, undefined, 300).catch(() => undefined);
    assert.ok(long.every((t) => h.inflight.has(t)), `a 10 s timeout fired early: ${long.map((t) => h.results.get(t)).join(',')}`);
  });
});

describe('epoll: waits finer than a millisecond', function () {
  before(function () {
    if (!linux) this.skip();
  });

  it('uses epoll_pwait2 where the kernel has it, so a 0.3 ms wait is not rounded up to 1 ms', function () {
    const port = new EpollPort();
    try {
      const [major, minor] = os.release().split('.').map(Number);
      if (major < 5 || (major === 5 && minor < 11)) {
        assert.equal(port.waitResolutionMs, port.pwait2 ? 0 : 1);
        return this.skip();
      }
      assert.equal(port.pwait2, true, 'Linux 5.11+: epoll_pwait2 is there (unless seccomp forbids it)');
      assert.equal(port.waitResolutionMs, 0);
      const waits: number[] = [];
      for (let i = 0; i < 21; i++) {
        const t0 = performance.now();
        port.prepTimeout(0.3, i + 1);
        port.submitAndWait(1, 0.3);
        waits.push(performance.now() - t0);
        port.reap(new Uint32Array(4), new Int32Array(4));
      }
      // Whole milliseconds would make every one of them last 1 ms at least; a busy machine can make
      // some late, but not the quickest of 21.
      const quickest = Math.min(...waits);
      assert.ok(quickest < 0.95, `the quickest of 21 waits of 0.3 ms took ${quickest.toFixed(3)} ms`);
    } finally {
      port.close();
    }
  });
});
