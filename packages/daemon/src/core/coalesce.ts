/**
 * Event coalescing: which changed paths travel together, and when.
 *
 * Pure: no timers, no I/O. The caller passes the time in (milliseconds, any
 * monotonic clock), and schedules a `tick(now)` at the `wakeAt` of the last
 * decision. Only the newest `wakeAt` matters; a stale tick is harmless.
 *
 * The rule the product needs: a lone save goes out at once, while a storm
 * (git checkout, npm install, a build writing thousands of files over a few
 * hundred ms) goes out as ONE batch, hence one restart. At the moment the
 * first change arrives nothing tells a lone save from the first file of a
 * storm, so the first change after a quiet spell opens a short leading window:
 *
 *   IDLE ── change at t0 ──▶ LEADING (until t0 + LEADING_MS)
 *     LEADING ── no more activity ──▶ flush at t0 + LEADING_MS   (a lone save)
 *     LEADING ── more activity ─────▶ GATHERING                  (a storm)
 *   IDLE ── more than LEADING_MAX_PATHS paths at once ──▶ GATHERING: a save
 *     touches a few paths; a first delivery of hundreds (the native thread
 *     read a storm's first writes together) is a storm already under way.
 *   GATHERING: flush once the tree has been quiet for QUIET_MS, or once
 *     MAX_WAIT_MS have passed since the first pending change, whichever
 *     comes first; never while a batch is in flight.
 *   After a flush the coalescer stays HOT: a change that arrives while a
 *     batch is in flight, or (after a storm-sized batch) less than COOL_MS
 *     after the last activity or the end of the last batch, gathers (it is
 *     the tail of the same burst) instead of opening a new leading window.
 *     After a lone save's batch the cool-down is LONE_COOL_MS: the next save
 *     leads at once.
 *   HOT ── COOL_MS with no activity and no batch in flight ──▶ IDLE.
 *
 * "Activity" is either changed paths or a bare signal, `add([], now)`: the
 * native watcher holds the tail of a burst for its own 50 ms debounce, so a
 * sensor that sees raw kernel events reports "the tree is moving" without
 * paths, and a storm is recognised inside LEADING_MS even though its paths
 * arrive later. Bare activity never starts anything on its own.
 *
 * Invariants: at most one batch is in flight (a flush marks it, and
 * `batchFinished` ends it); every path added is flushed exactly once after
 * its last add (a path is a set member, so create + delete + create of one
 * path is one entry: the caller rescans the paths, it needs no kinds);
 * flushed paths are distinct and sorted.
 */

/** Leading window: a lone change is sent this long after it arrived. */
export const LEADING_MS = 3;
/** Distinct paths one change may carry and still be sent as a lone save. */
export const LEADING_MAX_PATHS = 8;
/**
 * Quiet that ends a storm. Three times the native watcher's own 50 ms
 * debounce: its trailing delivery of a burst must land inside the window
 * even when the writer (git, npm) or the daemon is descheduled for a moment
 * on a loaded two-core machine.
 */
export const QUIET_MS = 150;
/**
 * Upper bound on how long a pending change waits while the tree keeps
 * moving. A storm longer than this is split into batches of this length, so
 * it must exceed what a large `git checkout` takes on a loaded laptop (over a
 * second for 5,000 files when the writer competes for two cores); a tree
 * written without pause (a log file in the project) still syncs this often.
 */
export const MAX_WAIT_MS = 5_000;
/**
 * How long after the last activity or batch the coalescer counts as busy:
 * a change then is the tail of the same burst (the native watcher's second
 * delivery of a file written in two steps comes 50 ms after the first), and
 * gathers instead of leading. Kept short because a save within it waits
 * QUIET_MS instead of LEADING_MS.
 */
export const COOL_MS = 250;
/**
 * The same, after a batch that was a lone save (at most LEADING_MAX_PATHS
 * paths), counted from the last activity only, not from the batch's end.
 * Just over the native watcher's 50 ms debounce: activity that recent (the
 * burst probe seeing more writes while the watcher holds them) means the
 * "save" was the first file of a storm, and what follows gathers; otherwise
 * the next save opens its own leading window at once, so saving twice in a
 * row costs no QUIET_MS wait.
 */
export const LONE_COOL_MS = 60;

export interface Windows {
  leadingMs: number;
  /** Not a duration: the LEADING_MAX_PATHS threshold. */
  leadingMaxPaths: number;
  quietMs: number;
  maxWaitMs: number;
  coolMs: number;
  loneCoolMs: number;
}

export const DEFAULT_WINDOWS: Readonly<Windows> = Object.freeze({
  leadingMs: LEADING_MS,
  leadingMaxPaths: LEADING_MAX_PATHS,
  quietMs: QUIET_MS,
  maxWaitMs: MAX_WAIT_MS,
  coolMs: COOL_MS,
  loneCoolMs: LONE_COOL_MS,
});

export const CoalescePhase = {
  IDLE: 'idle',
  LEADING: 'leading',
  GATHERING: 'gathering',
  HOT: 'hot',
} as const;
export type CoalescePhase = (typeof CoalescePhase)[keyof typeof CoalescePhase];

export interface Decision {
  /** Paths to send now (distinct, sorted), or null. A flush starts a batch. */
  flush: string[] | null;
  /** When to call `tick` next, or null when no timer is needed. */
  wakeAt: number | null;
}

const NOTHING: Decision = Object.freeze({ flush: null, wakeAt: null }) as Decision;

export class Coalescer {
  private readonly windows: Windows;
  private readonly pending = new Set<string>();
  private firstPendingAt = 0;
  private lastActivityAt = Number.NEGATIVE_INFINITY;
  private lastBatchEndAt = Number.NEGATIVE_INFINITY;
  /** End of the open leading window, or null when none is open. */
  private leadingUntil: number | null = null;
  private inFlight = false;
  /** Whether the last flush was storm-sized (more than leadingMaxPaths paths). */
  private lastFlushWasStorm = false;

  constructor(windows: Partial<Windows> = {}) {
    this.windows = { ...DEFAULT_WINDOWS, ...windows };
    for (const [name, value] of Object.entries(this.windows)) {
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`coalescing window ${name} must be >= 0, got ${value}`);
    }
  }

  /** Records changed paths (or bare activity when `paths` is empty) seen at `now`. */
  add(paths: readonly string[], now: number): Decision {
    // A leading window that expired before this call (a late timer) is a
    // lone change: it goes out first, and what arrives now is the next batch.
    const expired = this.leadingUntil !== null && now >= this.leadingUntil ? this.decide(now) : null;
    if (paths.length === 0 && this.phase(now) === CoalescePhase.IDLE) return expired ?? NOTHING;

    if (this.leadingUntil !== null) {
      this.leadingUntil = null; // more activity inside the leading window: a storm
    } else if (paths.length > 0 && this.phase(now) === CoalescePhase.IDLE) {
      const lone = paths.length <= this.windows.leadingMaxPaths || new Set(paths).size <= this.windows.leadingMaxPaths;
      if (lone) this.leadingUntil = now + this.windows.leadingMs;
    }
    this.lastActivityAt = now;
    for (const path of paths) {
      if (this.pending.size === 0) this.firstPendingAt = now;
      this.pending.add(path);
    }
    const next = this.decide(now);
    if (expired?.flush) return { flush: expired.flush, wakeAt: next.wakeAt };
    return next;
  }

  /** Re-evaluates the windows at `now` (call it at the last `wakeAt`). */
  tick(now: number): Decision {
    return this.decide(now);
  }

  /** Ends the batch that the last flush started. */
  batchFinished(now: number): Decision {
    this.inFlight = false;
    this.lastBatchEndAt = now;
    return this.decide(now);
  }

  get batchInFlight(): boolean {
    return this.inFlight;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  phase(now: number): CoalescePhase {
    if (this.leadingUntil !== null) return CoalescePhase.LEADING;
    if (this.pending.size > 0) return CoalescePhase.GATHERING;
    if (this.inFlight) return CoalescePhase.HOT;
    const hot = this.lastFlushWasStorm
      ? now - Math.max(this.lastActivityAt, this.lastBatchEndAt) < this.windows.coolMs
      : now - this.lastActivityAt < this.windows.loneCoolMs;
    return hot ? CoalescePhase.HOT : CoalescePhase.IDLE;
  }

  private decide(now: number): Decision {
    if (this.inFlight || this.pending.size === 0) return NOTHING;
    if (this.leadingUntil !== null) {
      return now >= this.leadingUntil ? this.flush() : { flush: null, wakeAt: this.leadingUntil };
    }
    const due = Math.min(this.lastActivityAt + this.windows.quietMs, this.firstPendingAt + this.windows.maxWaitMs);
    return now >= due ? this.flush() : { flush: null, wakeAt: due };
  }

  private flush(): Decision {
    const paths = [...this.pending].sort();
    this.lastFlushWasStorm = paths.length > this.windows.leadingMaxPaths;
    this.pending.clear();
    this.leadingUntil = null;
    this.inFlight = true;
    return { flush: paths, wakeAt: null };
  }
}
