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
 * Settling. The consumer looks at what a flushed batch does, and a batch
 * that only deletes, or that creates directories, is structural: a tree
 * being removed (rm -rf, an unmounting volume) or written (a checkout, an
 * unpack, a cp -r) whose first part came alone. Such a batch is handed back
 * with `batchFinished(now, { settle: true })`: the consumer keeps what it
 * already learnt, and the coalescer flushes again (possibly with no new
 * paths, `settled` set) only once the tree has been quiet for SETTLE_MS,
 * counting every activity, paths or bare, or MAX_WAIT_MS after the settle
 * began. So the whole tree change is one batch and one restart, and a
 * progressive delete reaches the mass-deletion guard whole. A save creates
 * no directory and never settles.
 *
 * Busy. A `busy()` callback (the project's git index lock held: a checkout
 * is writing the tree) postpones any flush, polled every BUSY_POLL_MS, for
 * at most BUSY_MAX_MS after the first pending change: a checkout is one
 * batch even when it pauses longer than QUIET_MS on a loaded machine.
 *
 * Invariants: at most one batch is in flight (a flush marks it, and
 * `batchFinished` ends it); every path added is flushed exactly once after
 * its last add (a path is a set member, so create + delete + create of one
 * path is one entry: the caller rescans the paths, it needs no kinds);
 * flushed paths are distinct and sorted.
 */

/**
 * @parcel/watcher's own debounce: it delivers a burst once the tree has been
 * quiet this long. The windows below are derived from it.
 */
export const NATIVE_DEBOUNCE_MS = 50;

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
export const QUIET_MS = 3 * NATIVE_DEBOUNCE_MS;
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
export const LONE_COOL_MS = NATIVE_DEBOUNCE_MS + 10;

/**
 * With a watcher that hands events on as they happen (inotify without a
 * debounce, watch/inotify.ts), a save is its events within a millisecond or
 * two and a storm's next write follows within a few: activity older than
 * this is another save, which leads at once (saves 30 ms apart each go out
 * on their own).
 */
export const RAW_LONE_COOL_MS = 15;

/**
 * Quiet that ends a settling (structural) batch: longer than QUIET_MS, since
 * a tree being removed or unpacked by a tool that pauses (npm between
 * packages, rm between large directories) must still arrive whole.
 */
export const SETTLE_MS = 6 * NATIVE_DEBOUNCE_MS;
/** How often a flush postponed by `busy()` looks again. */
export const BUSY_POLL_MS = 25;
/** Longest a flush waits on `busy()`, from the first pending change; past it a stale lock is ignored. */
export const BUSY_MAX_MS = 10_000;

export interface Windows {
  leadingMs: number;
  /** Not a duration: the LEADING_MAX_PATHS threshold. */
  leadingMaxPaths: number;
  /**
   * Not a duration, 0 or 1. 0 (a debounced watcher): any activity inside a
   * leading window makes it a storm, since the rest of a storm is held back
   * and only its first paths are known. 1 (events as they happen): a
   * leading window stays a lone save while its paths stay within
   * leadingMaxPaths (an editor's save is a few events on one or two paths),
   * and a few paths that came while a lone save was being sent lead again
   * at its end instead of waiting for quiet.
   */
  rawEvents: number;
  quietMs: number;
  maxWaitMs: number;
  coolMs: number;
  loneCoolMs: number;
  settleMs: number;
  busyPollMs: number;
  busyMaxMs: number;
}

export const DEFAULT_WINDOWS: Readonly<Windows> = Object.freeze({
  leadingMs: LEADING_MS,
  leadingMaxPaths: LEADING_MAX_PATHS,
  rawEvents: 0,
  quietMs: QUIET_MS,
  maxWaitMs: MAX_WAIT_MS,
  coolMs: COOL_MS,
  loneCoolMs: LONE_COOL_MS,
  settleMs: SETTLE_MS,
  busyPollMs: BUSY_POLL_MS,
  busyMaxMs: BUSY_MAX_MS,
});

export const CoalescePhase = {
  IDLE: 'idle',
  LEADING: 'leading',
  GATHERING: 'gathering',
  HOT: 'hot',
} as const;
export type CoalescePhase = (typeof CoalescePhase)[keyof typeof CoalescePhase];

export interface Decision {
  /**
   * Paths to send now (distinct, sorted), or null. A flush starts a batch;
   * after a settle it may be empty (nothing new came, the held batch is due).
   */
  flush: string[] | null;
  /** The flush ends a settle: the consumer sends what it held plus `flush`, and never settles it again. */
  settled?: boolean;
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
  /** When the batch handed back for settling was handed back, or null. */
  private settlingSince: number | null = null;
  private readonly busy: () => boolean;

  constructor(windows: Partial<Windows> = {}, busy: () => boolean = () => false) {
    this.windows = { ...DEFAULT_WINDOWS, ...windows };
    this.busy = busy;
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
      // More activity inside the leading window: a storm, unless the events
      // come as they happen and it is still a save's handful of paths.
      const stillLone = this.windows.rawEvents > 0 && paths.length > 0 && new Set([...this.pending, ...paths]).size <= this.windows.leadingMaxPaths;
      if (!stillLone) this.leadingUntil = null;
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

  /**
   * Ends the batch that the last flush started. With `settle`, the consumer
   * holds that batch back (see "Settling" above) and is flushed again when
   * it is due.
   */
  batchFinished(now: number, opts: { settle?: boolean } = {}): Decision {
    this.inFlight = false;
    this.lastBatchEndAt = now;
    if (opts.settle) {
      this.settlingSince = now;
      this.lastActivityAt = Math.max(this.lastActivityAt, now);
    } else if (this.windows.rawEvents > 0 && !this.lastFlushWasStorm && this.pending.size > 0 && this.pending.size <= this.windows.leadingMaxPaths) {
      // A save or two made while a lone save was being sent: they lead now, rather than wait for quiet.
      this.leadingUntil = now + this.windows.leadingMs;
    }
    return this.decide(now);
  }

  /**
   * Hands over every pending path now, as a flush would, without starting a
   * batch: a caller that syncs on its own (`skiff push` in a session) takes
   * what the windows still hold. The windows go on from there as after a
   * flush whose batch ended at `now`.
   */
  drain(now: number): string[] {
    const paths = this.takePending();
    if (paths.length > 0) {
      this.lastFlushWasStorm = paths.length > this.windows.leadingMaxPaths;
      this.lastBatchEndAt = now;
    }
    return paths;
  }

  get batchInFlight(): boolean {
    return this.inFlight;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  phase(now: number): CoalescePhase {
    if (this.leadingUntil !== null) return CoalescePhase.LEADING;
    if (this.pending.size > 0 || this.settlingSince !== null) return CoalescePhase.GATHERING;
    if (this.inFlight) return CoalescePhase.HOT;
    const hot = this.lastFlushWasStorm
      ? now - Math.max(this.lastActivityAt, this.lastBatchEndAt) < this.windows.coolMs
      : now - this.lastActivityAt < this.windows.loneCoolMs;
    return hot ? CoalescePhase.HOT : CoalescePhase.IDLE;
  }

  private decide(now: number): Decision {
    if (this.inFlight) return NOTHING;
    if (this.settlingSince !== null) {
      const due = Math.min(this.lastActivityAt + Math.max(this.windows.quietMs, this.windows.settleMs), this.settlingSince + this.windows.maxWaitMs);
      return now >= due ? this.flushIfIdle(now) : { flush: null, wakeAt: due };
    }
    if (this.pending.size === 0) return NOTHING;
    if (this.leadingUntil !== null) {
      return now >= this.leadingUntil ? this.flushIfIdle(now) : { flush: null, wakeAt: this.leadingUntil };
    }
    const due = Math.min(this.lastActivityAt + this.windows.quietMs, this.firstPendingAt + this.windows.maxWaitMs);
    return now >= due ? this.flushIfIdle(now) : { flush: null, wakeAt: due };
  }

  /** Flushes unless `busy()` says the tree is still being written, within BUSY_MAX_MS of the first pending change. */
  private flushIfIdle(now: number): Decision {
    const since = this.pending.size > 0 ? Math.min(this.firstPendingAt, this.settlingSince ?? Infinity) : (this.settlingSince ?? now);
    if (now - since < this.windows.busyMaxMs && this.busy()) return { flush: null, wakeAt: now + this.windows.busyPollMs };
    return this.flush();
  }

  private flush(): Decision {
    const paths = this.takePending();
    const settled = this.settlingSince !== null;
    this.lastFlushWasStorm = settled || paths.length > this.windows.leadingMaxPaths;
    this.settlingSince = null;
    this.inFlight = true;
    return settled ? { flush: paths, wakeAt: null, settled: true } : { flush: paths, wakeAt: null };
  }

  /** Every pending path, distinct and sorted, taken out; the leading window closes with them. */
  private takePending(): string[] {
    const paths = [...this.pending].sort();
    this.pending.clear();
    this.leadingUntil = null;
    return paths;
  }
}
