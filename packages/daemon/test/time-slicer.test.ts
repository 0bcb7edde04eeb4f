import { describe, expect, it } from 'vitest';
import { TimeSlicer } from '../src/util/time-slicer.ts';

/** Spins for `ms` of wall time: stands for a slice's synchronous system calls. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('TimeSlicer', () => {
  it('lets the event loop run between slices of a long loop (due + yield), and not within a slice', async () => {
    const slicer = new TimeSlicer(5);
    let timerRanAt = -1;
    setTimeout(() => (timerRanAt = step), 0);
    let step = 0;
    let yields = 0;
    for (; step < 40; step++) {
      busy(1);
      if (slicer.due()) {
        yields++;
        await slicer.yield();
      }
    }
    // 40 ms of work in slices of 5 ms: several yields, and the timer ran at one of them, not after the loop.
    expect(yields).toBeGreaterThanOrEqual(4);
    expect(timerRanAt).toBeGreaterThan(0);
    expect(timerRanAt).toBeLessThan(40);
  });

  it('maybeYield is due + yield in one call', async () => {
    const slicer = new TimeSlicer(200);
    let ran = false;
    setImmediate(() => (ran = true));
    await slicer.maybeYield(); // within the first slice: no yield
    expect(ran).toBe(false);
    busy(210);
    await slicer.maybeYield();
    expect(ran).toBe(true);
  });
});
