// The loop's timers: a heap (O(log n) to set, move or cancel), deadlines of 100k connections
// included, and precise timers that wake up a little early and poll the port until their time
// instead of trusting the kernel's wake-up (open-loop starts). Counts, orderings and CPU are
// asserted; latencies are left to bench/timers.js.
import * as assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Loop } from '../src/engine/loop';
import { availableBackends, createPort } from '../src/engine/port/index';
import { TimerHeap, newTimer } from '../src/engine/timers';

describe('TimerHeap', () => {
  it('pops in time order, same times in the order they were set; moves and deletes in place', () => {
    const h = new TimerHeap();
    const fired: number[] = [];
    const timers = Array.from({ length: 1000 }, (_, i) => newTimer(() => fired.push(i)));
    // Times with many ties, set in a scrambled order.
    const order = timers.map((_, i) => i).sort((a, b) => ((a * 7919) % 1000) - ((b * 7919) % 1000));
    for (const i of order) h.set(timers[i], Math.floor(i / 10));
    // Move every third one later, delete every fifth.
    for (let i = 0; i < 1000; i += 3) h.set(timers[i], 200 + i);
    for (let i = 0; i < 1000; i += 5) h.delete(timers[i]);
    h.delete(timers[0]); // twice: a no-op
    const expected = timers
      .map((t, i) => ({ t, i }))
      .filter(({ i }) => i % 5 !== 0)
      .sort((a, b) => a.t.at - b.t.at || a.t.seq - b.t.seq)
      .map(({ i }) => i);
    for (let t = h.popDue(Infinity); t; t = h.popDue(Infinity)) t.fn();
    assert.deepEqual(fired, expected);
    assert.equal(h.size, 0);
    assert.ok(timers.every((t) => t.index === -1));
  });

  it('only pops what is due', () => {
    const h = new TimerHeap();
    const a = newTimer(() => {});
    const b = newTimer(() => {});
    h.set(a, 10);
    h.set(b, 20);
    assert.equal(h.popDue(9), undefined);
    assert.equal(h.popDue(10), a);
    assert.equal(h.popDue(19.9), undefined);
    assert.equal(h.peek(), b);
  });
});

for (const backend of availableBackends()) {
  describe(`loop timers on ${backend}`, function () {
    this.timeout(60_000);
    let loop: Loop;
    beforeEach(() => (loop = new Loop(createPort(backend))));
    afterEach(() => void loop.destroy());

    it('sets, fires and cancels 100,000 timers in order (a heap, not a sort per insert)', () => {
      const N = 100_000;
      const base = performance.now() + 50;
      const fired: number[] = [];
      const handles = [];
      for (let i = 0; i < N; i++) {
        // Scrambled times over 200 ms, with ties.
        const at = base + ((i * 7919) % N) * (200 / N);
        handles.push(loop.setTimer(at, () => fired.push(i)));
      }
      assert.equal(loop.timerCount, N);
      for (let i = 0; i < N; i += 2) loop.cancelTimer(handles[i]);
      assert.equal(loop.timerCount, N / 2);
      loop.run(() => fired.length === N / 2 || performance.now() > base + 20_000, 50);
      assert.equal(fired.length, N / 2);
      assert.ok(fired.every((i) => i % 2 === 1), 'cancelled timers never fire');
      for (let k = 1; k < fired.length; k++) {
        const a = handles[fired[k - 1]];
        const b = handles[fired[k]];
        assert.ok(a.at < b.at || (a.at === b.at && a.seq < b.seq), `timer ${fired[k]} fired out of order`);
      }
      assert.equal(loop.timerCount, 0);
    });

    it('runs timers set from a timer callback in time order (one already due, at once)', () => {
      const seen: string[] = [];
      loop.setTimer(performance.now() + 5, () => {
        seen.push('first');
        loop.setTimer(performance.now() + 5, () => seen.push('second'));
        loop.setTimer(0, () => seen.push('overdue'));
      });
      loop.run(() => seen.length === 3 || loop.timerCount === 0, 20);
      assert.deepEqual(seen, ['first', 'overdue', 'second']);
    });

    it('fires precise timers on time without spinning between them', () => {
      const N = 60;
      const GAP = 5;
      const lateness: number[] = [];
      let early = 0;
      const start = performance.now() + 20;
      let k = 0;
      const arm = () => {
        const at = start + k * GAP;
        loop.setTimer(
          at,
          () => {
            const now = performance.now();
            if (now < at) early++;
            lateness.push(now - at);
            if (++k < N) arm();
          },
          { precise: true }
        );
      };
      arm();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      loop.run(() => k >= N || performance.now() - t0 > 10_000, 100);
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      assert.equal(lateness.length, N);
      assert.equal(early, 0, 'a precise timer never fires before its time');
      // How late they fire depends on the machine's load (bench/timers.js measures it); what the
      // loop guarantees is that they never fire early and that it polls only the last stretch
      // before each (≤ the margin, or the port's resolution), not all the time.
      assert.ok(lateness.every((l) => l >= 0));
      assert.ok(cpuMs < wall * 0.6, `${cpuMs.toFixed(0)} ms of CPU in ${wall.toFixed(0)} ms: the loop spun`);
      assert.ok(loop.timerMarginMs > 0 && loop.timerMarginMs <= 0.5);
    });
  });
}
