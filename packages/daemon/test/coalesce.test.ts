import { describe, expect, it } from 'vitest';
import {
  COOL_MS,
  Coalescer,
  LEADING_MAX_PATHS,
  LEADING_MS,
  LONE_COOL_MS,
  MAX_WAIT_MS,
  QUIET_MS,
  RAW_LONE_COOL_MS,
  SETTLE_MS,
  BUSY_POLL_MS,
  BUSY_MAX_MS,
  type Decision,
  type Windows,
} from '../src/core/coalesce.ts';

interface Step {
  at: number;
  paths: string[];
}
interface Flush {
  at: number;
  paths: string[];
}

/**
 * Drives a Coalescer the way the batcher does: events at their times, a tick
 * at each `wakeAt`, and each batch finishing `batchMs` after its flush.
 * At equal times a finishing batch goes first, then the tick, then the event.
 */
function simulate(steps: Step[], opts: { windows?: Partial<Windows>; batchMs?: number } = {}): Flush[] {
  const c = new Coalescer(opts.windows);
  const batchMs = opts.batchMs ?? 0;
  const flushes: Flush[] = [];
  let wakeAt: number | null = null;
  let finishAt: number | null = null;
  const apply = (d: Decision, now: number) => {
    wakeAt = d.wakeAt;
    if (d.flush) {
      flushes.push({ at: now, paths: d.flush });
      finishAt = now + batchMs;
    }
  };
  let i = 0;
  for (;;) {
    const t = Math.min(finishAt ?? Infinity, wakeAt ?? Infinity, steps[i]?.at ?? Infinity);
    if (t === Infinity) break;
    if (finishAt !== null && finishAt <= t) {
      finishAt = null;
      apply(c.batchFinished(t), t);
    } else if (wakeAt !== null && wakeAt <= t) {
      wakeAt = null;
      apply(c.tick(t), t);
    } else {
      apply(c.add(steps[i].paths, t), t);
      i++;
    }
  }
  expect(c.pendingCount).toBe(0);
  return flushes;
}

/** `count` single-path events from `start`, one every `everyMs`. */
function burst(start: number, count: number, everyMs: number, prefix = 'f'): Step[] {
  return Array.from({ length: count }, (_, k) => ({ at: start + k * everyMs, paths: [`${prefix}${k}`] }));
}

const STORM = burst(1_000, 5_000, 0.06); // 5,000 events over 300 ms
const STORM_END = 1_000 + 4_999 * 0.06;
/** More paths at once than a save carries: a storm already under way. */
const STORM_PATHS = Array.from({ length: LEADING_MAX_PATHS + 1 }, (_, k) => `s${k}`);

interface Case {
  name: string;
  steps: Step[];
  windows?: Partial<Windows>;
  batchMs?: number;
  /** Expected flush times and path counts (or exact paths). */
  want: Array<{ at: number; count?: number; paths?: string[] }>;
}

const cases: Case[] = [
  {
    name: 'a lone save flushes after the leading window only',
    steps: [{ at: 1_000, paths: ['src/app.ts'] }],
    want: [{ at: 1_000 + LEADING_MS, paths: ['src/app.ts'] }],
  },
  {
    name: 'a zero leading window flushes a lone save at t0',
    steps: [{ at: 1_000, paths: ['src/app.ts'] }],
    windows: { leadingMs: 0 },
    want: [{ at: 1_000, paths: ['src/app.ts'] }],
  },
  {
    name: 'one delivery of several paths is one leading flush',
    steps: [{ at: 50, paths: ['b', 'a', 'c'] }],
    want: [{ at: 50 + LEADING_MS, paths: ['a', 'b', 'c'] }],
  },
  {
    name: 'a first delivery of many paths is a storm under way, not a lone save',
    steps: [
      { at: 0, paths: burst(0, LEADING_MAX_PATHS + 1, 0).map((s) => s.paths[0]) },
      { at: 120, paths: ['late'] },
    ],
    want: [{ at: 120 + QUIET_MS, count: LEADING_MAX_PATHS + 2 }],
  },
  {
    name: 'a delivery of LEADING_MAX_PATHS paths (with repeats) is still a lone save',
    steps: [{ at: 0, paths: [...burst(0, LEADING_MAX_PATHS, 0).map((s) => s.paths[0]), 'f0', 'f1'] }],
    want: [{ at: LEADING_MS, count: LEADING_MAX_PATHS }],
  },
  {
    name: 'a 5,000-event burst over 300 ms is one flush after QUIET_MS',
    steps: STORM,
    want: [{ at: STORM_END + QUIET_MS, count: 5_000 }],
  },
  {
    name: 'a save 2 s after a storm is its own leading flush',
    steps: [...STORM, { at: STORM_END + 2_000, paths: ['src/app.ts'] }],
    want: [
      { at: STORM_END + QUIET_MS, count: 5_000 },
      { at: STORM_END + 2_000 + LEADING_MS, paths: ['src/app.ts'] },
    ],
  },
  {
    name: 'events during an in-flight batch make exactly one follow-up batch',
    steps: [{ at: 0, paths: ['a'] }, { at: 10, paths: ['b'] }, { at: 20, paths: ['c'] }, { at: 30, paths: ['b'] }],
    batchMs: 200,
    want: [
      { at: LEADING_MS, paths: ['a'] },
      { at: LEADING_MS + 200, paths: ['b', 'c'] },
    ],
  },
  {
    name: 'a follow-up waits for quiet when the tree still moves as the batch ends',
    steps: [{ at: 0, paths: ['a'] }, ...burst(10, 100, 1)],
    batchMs: 20,
    want: [
      { at: LEADING_MS, paths: ['a'] },
      { at: 109 + QUIET_MS, count: 100 },
    ],
  },
  {
    name: 'create then delete of one path in a window is one path',
    steps: [{ at: 0, paths: ['tmp/x'] }, { at: 0.5, paths: ['tmp/x'] }],
    want: [{ at: 0.5 + QUIET_MS, paths: ['tmp/x'] }],
  },
  {
    name: 'an editor rename (delete + create of the real file) in one delivery is one path',
    steps: [{ at: 7, paths: ['src/app.ts', 'src/app.ts'] }],
    want: [{ at: 7 + LEADING_MS, paths: ['src/app.ts'] }],
  },
  {
    name: 'bare activity inside the leading window turns a lone change into a storm',
    steps: [{ at: 0, paths: ['a'] }, { at: 1, paths: [] }, { at: 60, paths: ['b'] }],
    want: [{ at: 60 + QUIET_MS, paths: ['a', 'b'] }],
  },
  {
    name: 'bare activity while idle starts nothing',
    steps: [{ at: 0, paths: [] }, { at: 5, paths: ['a'] }],
    want: [{ at: 5 + LEADING_MS, paths: ['a'] }],
  },
  {
    name: 'the tail of a burst whose start went out alone gathers into one batch',
    // The native watcher holds the tail; the burst probe reports the writes meanwhile.
    steps: [
      { at: 0, paths: ['d0'] },
      ...[40, 80, 120, 160].map((at) => ({ at, paths: [] })),
      { at: 200, paths: ['d0/a'] },
      { at: 230, paths: burst(0, 4_998, 0).map((s) => s.paths[0]) },
    ],
    want: [
      { at: LEADING_MS, paths: ['d0'] },
      { at: 230 + QUIET_MS, count: 4_999 },
    ],
  },
  {
    name: 'a storm longer than MAX_WAIT_MS is cut every MAX_WAIT_MS',
    // One event per ms for two and a half MAX_WAIT_MS.
    steps: burst(0, 2.5 * MAX_WAIT_MS, 1),
    want: [
      { at: MAX_WAIT_MS, count: MAX_WAIT_MS },
      { at: 2 * MAX_WAIT_MS, count: MAX_WAIT_MS },
      { at: 2.5 * MAX_WAIT_MS - 1 + QUIET_MS, count: MAX_WAIT_MS / 2 },
    ],
  },
  {
    name: 'a save within COOL_MS of a storm-sized batch gathers instead of leading',
    steps: [{ at: 0, paths: STORM_PATHS }, { at: QUIET_MS + COOL_MS - 1, paths: ['b'] }],
    want: [
      { at: QUIET_MS, count: STORM_PATHS.length },
      { at: QUIET_MS + COOL_MS - 1 + QUIET_MS, paths: ['b'] },
    ],
  },
  {
    name: 'a second save soon after a lone save leads at once',
    steps: [{ at: 0, paths: ['a'] }, { at: 70, paths: ['b'] }],
    want: [
      { at: LEADING_MS, paths: ['a'] },
      { at: 70 + LEADING_MS, paths: ['b'] },
    ],
  },
  {
    name: 'a change within LONE_COOL_MS of activity after a lone save gathers',
    steps: [{ at: 0, paths: ['a'] }, { at: 20, paths: [] }, { at: 20 + LONE_COOL_MS - 1, paths: ['b'] }],
    want: [
      { at: LEADING_MS, paths: ['a'] },
      { at: 20 + LONE_COOL_MS - 1 + QUIET_MS, paths: ['b'] },
    ],
  },
  {
    name: 'a save COOL_MS after the last batch leads again',
    steps: [{ at: 0, paths: ['a'] }, { at: LEADING_MS + COOL_MS, paths: ['b'] }],
    want: [
      { at: LEADING_MS, paths: ['a'] },
      { at: LEADING_MS + COOL_MS + LEADING_MS, paths: ['b'] },
    ],
  },
];

describe('Coalescer', () => {
  it.each(cases)('$name', ({ steps, windows, batchMs, want }) => {
    const got = simulate(steps, { windows, batchMs });
    expect(got.map((f) => f.at)).toEqual(want.map((w) => expect.closeTo(w.at, 6)));
    want.forEach((w, k) => {
      if (w.paths) expect(got[k].paths).toEqual(w.paths);
      if (w.count !== undefined) expect(got[k].paths).toHaveLength(w.count);
    });
  });

  it('sends a lone change late but first when its timer fired late', () => {
    const c = new Coalescer();
    expect(c.add(['a'], 0)).toEqual({ flush: null, wakeAt: LEADING_MS });
    // The tick at LEADING_MS never came; the next event arrives well after it.
    const d = c.add(['b'], 50);
    expect(d.flush).toEqual(['a']);
    expect(c.batchInFlight).toBe(true);
    expect(c.batchFinished(51)).toEqual({ flush: null, wakeAt: 50 + QUIET_MS });
    expect(c.tick(50 + QUIET_MS).flush).toEqual(['b']);
  });

  it('never flushes while a batch is in flight, even past MAX_WAIT_MS', () => {
    const c = new Coalescer();
    c.add(['a'], 0);
    expect(c.tick(LEADING_MS).flush).toEqual(['a']);
    expect(c.add(['b'], 10)).toEqual({ flush: null, wakeAt: null });
    expect(c.tick(10 + MAX_WAIT_MS * 3)).toEqual({ flush: null, wakeAt: null });
    expect(c.batchFinished(10 + MAX_WAIT_MS * 3).flush).toEqual(['b']);
  });

  it('with events as they happen, saves 30 ms apart each lead at once, and a storm still gathers', () => {
    const c = new Coalescer({ rawEvents: 1, loneCoolMs: RAW_LONE_COOL_MS });
    for (let k = 0; k < 5; k++) {
      const t = k * 30;
      c.add([`f${k}`], t);
      c.add([`f${k}`], t + 1); // the same save's second event
      expect(c.tick(t + LEADING_MS).flush).toEqual([`f${k}`]);
      expect(c.batchFinished(t + 5).flush).toBeNull();
    }
    // A storm: more paths than a save inside the leading window.
    const t = 1_000;
    c.add(['s0'], t);
    c.add(Array.from({ length: LEADING_MAX_PATHS + 1 }, (_, i) => `s${i + 1}`), t + 1);
    expect(c.tick(t + LEADING_MS).flush).toBeNull();
    expect(c.tick(t + 1 + QUIET_MS).flush).toHaveLength(LEADING_MAX_PATHS + 2);
  });

  it('with events as they happen, a save made while one is sent leads at its end', () => {
    const c = new Coalescer({ rawEvents: 1, loneCoolMs: RAW_LONE_COOL_MS });
    c.add(['a'], 0);
    expect(c.tick(LEADING_MS).flush).toEqual(['a']);
    c.add(['b'], 10); // during the batch
    expect(c.batchFinished(40)).toEqual({ flush: null, wakeAt: 40 + LEADING_MS });
    expect(c.tick(40 + LEADING_MS).flush).toEqual(['b']);
  });

  it('drain hands over what the windows hold, once, and nothing of it flushes later', () => {
    const c = new Coalescer();
    c.add(['b', 'a'], 0);
    c.add(['c'], 1); // a storm gathering
    expect(c.drain(2)).toEqual(['a', 'b', 'c']);
    expect(c.pendingCount).toBe(0);
    expect(c.tick(2 + MAX_WAIT_MS).flush).toBeNull();
    expect(c.drain(3)).toEqual([]);
    // What comes next is a batch of its own.
    c.add(['d'], 2 + MAX_WAIT_MS);
    expect(c.tick(2 + MAX_WAIT_MS + LEADING_MS).flush).toEqual(['d']);
  });

  it('refuses a negative window', () => {
    expect(() => new Coalescer({ quietMs: -1 })).toThrow(RangeError);
  });

  it('flushes every path exactly once, after its last add, one batch at a time (seeded random timelines)', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const steps: Step[] = [];
      let t = 0;
      for (let k = 0; k < 60; k++) {
        t += rand() < 0.2 ? rand() * 1_500 : rand() * 20;
        const n = Math.floor(rand() * 4);
        steps.push({ at: t, paths: Array.from({ length: n }, () => `p${Math.floor(rand() * 30)}`) });
      }
      const batchMs = rand() * 300;
      const flushes = simulate(steps, { batchMs });
      for (let k = 1; k < flushes.length; k++) expect(flushes[k].at).toBeGreaterThanOrEqual(flushes[k - 1].at + batchMs - 1e-9);
      const lastAdd = new Map<string, number>();
      for (const s of steps) for (const p of s.paths) lastAdd.set(p, s.at);
      for (const [path, at] of lastAdd) {
        expect(flushes.some((f) => f.at >= at && f.paths.includes(path)), `${path} added at ${at}`).toBe(true);
      }
      for (const f of flushes) {
        expect(new Set(f.paths).size).toBe(f.paths.length);
        expect([...f.paths].sort()).toEqual(f.paths);
      }
    }
  });

  describe('settling a structural batch', () => {
    it('flushes the held batch again, settled, once the tree has been quiet for SETTLE_MS', () => {
      const c = new Coalescer();
      c.add(['d'], 0);
      expect(c.tick(LEADING_MS).flush).toEqual(['d']);
      // The consumer saw a new directory and hands the batch back.
      expect(c.batchFinished(5, { settle: true })).toEqual({ flush: null, wakeAt: 5 + SETTLE_MS });
      expect(c.tick(5 + SETTLE_MS)).toEqual({ flush: [], wakeAt: null, settled: true });
    });

    it('gathers what arrives meanwhile into the settled flush, counting bare activity, bounded by MAX_WAIT_MS', () => {
      const c = new Coalescer();
      c.add(['d'], 0);
      c.tick(LEADING_MS);
      c.batchFinished(5, { settle: true });
      expect(c.add(['d/a'], 200).flush).toBeNull();
      expect(c.add([], 450).flush).toBeNull(); // the tree still moves, paths not yet delivered
      expect(c.tick(450 + SETTLE_MS - 1).flush).toBeNull();
      expect(c.add(['d/b'], 700).flush).toBeNull();
      const d = c.tick(700 + SETTLE_MS);
      expect(d).toEqual({ flush: ['d/a', 'd/b'], wakeAt: null, settled: true });
      // A tree that never stops moving is cut at MAX_WAIT_MS after the settle began.
      const c2 = new Coalescer();
      c2.add(['x'], 0);
      c2.tick(LEADING_MS);
      c2.batchFinished(10, { settle: true });
      let flushed: string[] | null = null;
      for (let t = 20; t <= 10 + MAX_WAIT_MS + 100 && flushed === null; t += 100) flushed = c2.add([`p${t}`], t).flush ?? c2.tick(t).flush;
      expect(flushed).not.toBeNull();
    });

    it('the flush after a settle is never a lone leading save', () => {
      const c = new Coalescer();
      c.add(['d'], 0);
      c.tick(LEADING_MS);
      c.batchFinished(5, { settle: true });
      expect(c.phase(6)).toBe('gathering');
      expect(c.add(['save.txt'], 6).wakeAt).toBe(6 + SETTLE_MS);
    });
  });

  describe('busy: a lock says the tree is being written', () => {
    it('holds a flush while busy, polling, and flushes once the lock is gone', () => {
      let busy = true;
      const c = new Coalescer({}, () => busy);
      c.add(['a'], 0);
      expect(c.tick(LEADING_MS)).toEqual({ flush: null, wakeAt: LEADING_MS + BUSY_POLL_MS });
      expect(c.add(['b'], 400).flush).toBeNull();
      busy = false;
      expect(c.tick(400 + QUIET_MS).flush).toEqual(['a', 'b']);
    });

    it('gives up on a lock held longer than BUSY_MAX_MS (a stale one)', () => {
      const c = new Coalescer({}, () => true);
      c.add(['a'], 0);
      expect(c.tick(BUSY_MAX_MS - 1).flush).toBeNull();
      expect(c.tick(BUSY_MAX_MS).flush).toEqual(['a']);
    });
  });
});

