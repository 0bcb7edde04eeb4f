import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QuietSave } from '../src/quiet-save.ts';

describe('QuietSave', () => {
  let saves: number[];
  let timed: QuietSave;
  beforeEach(() => {
    vi.useFakeTimers();
    saves = [];
    timed = new QuietSave(() => saves.push(Date.now()), 1_000, 30_000, () => Date.now());
  });
  afterEach(() => vi.useRealTimers());

  it('saves once a second has passed without a touch', () => {
    const t0 = Date.now();
    timed.touch();
    vi.advanceTimersByTime(600);
    timed.touch();
    vi.advanceTimersByTime(999);
    expect(saves).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(saves).toEqual([t0 + 1_600]);
    vi.advanceTimersByTime(60_000);
    expect(saves).toHaveLength(1);
  });

  it('saves by its bound when touches never pause, then starts a new bound', () => {
    const t0 = Date.now();
    for (let i = 0; i < 120; i++) {
      timed.touch();
      vi.advanceTimersByTime(500);
    }
    expect(saves).toEqual([t0 + 30_000, t0 + 60_000]);
  });

  it('cancel drops a waiting save and says whether one waited', () => {
    expect(timed.cancel()).toBe(false);
    timed.touch();
    expect(timed.cancel()).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(saves).toEqual([]);
  });
});
