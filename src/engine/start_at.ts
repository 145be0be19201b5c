// Starting at an agreed instant (--start-at): shards, on one machine or many, begin together when
// their clocks agree. A worker sleeps (interruptibly) until shortly before the instant, reads the
// wall clock to a fraction of a millisecond, and spins through the last stretch.
import { performance } from 'node:perf_hooks';

/** Sleeping stops this long before the instant (a sleep's wake-up can be a few ms late); spinning covers the rest. */
const SPIN_MS = 4;

export interface StartedAt {
  /** performance.now() when the wait ended. */
  at: number;
  /** Wall clock (epoch ms, sub-ms precision) when the wait ended. */
  epochMs: number;
}

/**
 * What to add to performance.now() to read the wall clock (epoch ms) to a fraction of a ms.
 * Date.now() is whole milliseconds: spinning until it ticks over finds the instant a millisecond
 * begins, which ties performance.now() to the wall clock as it reads now (performance.timeOrigin
 * was read once, when the process started, and an NTP-disciplined clock may have been slewed
 * since). Costs up to 1 ms of spinning.
 */
export function wallClockOffset(): number {
  const first = Date.now();
  let wall = first;
  let perf = performance.now();
  while (wall === first) {
    perf = performance.now();
    wall = Date.now();
  }
  return wall - perf;
}

/**
 * Waits until the wall clock reads `epochMs`, or returns at once when it already has. `sleep(ms)`
 * blocks the thread for up to ms (and may return early, e.g. when the run is stopped); `stopped()`
 * ends the wait early. undefined when stopped before the instant.
 */
export function waitUntilEpoch(epochMs: number, sleep: (ms: number) => void, stopped: () => boolean): StartedAt | undefined {
  for (;;) {
    if (stopped()) return undefined;
    const remaining = epochMs - Date.now();
    if (remaining <= SPIN_MS) break;
    sleep(Math.min(remaining - SPIN_MS, 1000));
  }
  const offset = wallClockOffset();
  const target = epochMs - offset;
  let now = performance.now();
  while (now < target) now = performance.now();
  return { at: now, epochMs: now + offset };
}
