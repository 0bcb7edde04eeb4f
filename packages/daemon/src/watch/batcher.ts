import { asSkiffError, ErrorCode, type SkiffError } from '@skiff/protocol';
import { Coalescer, DEFAULT_WINDOWS, RAW_LONE_COOL_MS, type Decision, type Windows } from '../core/coalesce.ts';
import { type TreeWatcher, type WatchEvent, type WatchTreeOptions } from './types.ts';
import { Backend, backendFor, pollIntervalOf, watchTree } from './watch-tree.ts';

/** What the consumer did with a batch. */
export const BatchVerdict = {
  /** Sent, or nothing to send. */
  DONE: 'done',
  /** Held back to settle (see core/coalesce.ts, "Settling"): flush again, `settled`, when the tree is quiet. */
  SETTLE: 'settle',
} as const;
export type BatchVerdict = (typeof BatchVerdict)[keyof typeof BatchVerdict];

export interface BatchInfo {
  /** This flush ends a settle: send what was held plus these paths; never settle again. */
  settled: boolean;
}

export interface BatcherOptions {
  /**
   * Sends one batch: the distinct, sorted wire paths touched since the last
   * one (files or directories, existing or not: the consumer rescans them;
   * after a settle possibly none). Never called again before the previous
   * call settled. A rejection is reported through onError and its paths are
   * not retried here: the sync pipeline owns retries.
   */
  onBatch(paths: string[], info: BatchInfo): Promise<BatchVerdict | void> | BatchVerdict | void;
  onError(err: SkiffError): void;
  windows?: Partial<Windows>;
  /** Whether the tree is being written by a tool that holds a lock (see core/coalesce.ts, "Busy"). */
  busy?: () => boolean;
  /** Monotonic clock in ms; injectable for tests. */
  now?: () => number;
}

/**
 * Windows for stat polling: a poller notices the changes of one burst
 * spread over a whole period, so the leading window and the quiet that ends
 * a storm both last at least one period. A lone save already waits up to a
 * period to be noticed; this adds at most one more.
 */
export function pollWindows(intervalMs: number): Partial<Windows> {
  return {
    leadingMs: Math.max(DEFAULT_WINDOWS.leadingMs, intervalMs),
    quietMs: DEFAULT_WINDOWS.quietMs + intervalMs,
    maxWaitMs: Math.max(DEFAULT_WINDOWS.maxWaitMs, 4 * intervalMs),
    coolMs: DEFAULT_WINDOWS.coolMs + intervalMs,
  };
}

/** Windows for a watcher that hands events on as they happen (watch/inotify.ts): see Windows.rawEvents. */
export const RAW_WINDOWS: Partial<Windows> = { rawEvents: 1, loneCoolMs: RAW_LONE_COOL_MS };

/**
 * Glues watcher events to the pure Coalescer with real timers and runs one
 * batch at a time. Events that arrive while a batch is in flight wait for
 * the next. No timer or batch callback can reject: failures go to onError.
 */
export class Batcher {
  private readonly coalescer: Coalescer;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private inFlight: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly opts: BatcherOptions) {
    this.coalescer = new Coalescer(opts.windows, opts.busy);
    this.now = opts.now ?? (() => performance.now());
  }

  /** Records watcher events (the paths matter, not the kinds). */
  events(events: readonly WatchEvent[]): void {
    this.guard(() => this.apply(this.coalescer.add(events.map((e) => e.path), this.now())));
  }

  /** Records that the tree is moving, without paths yet. */
  activity(): void {
    this.guard(() => this.apply(this.coalescer.add([], this.now())));
  }

  /** Takes the paths the coalescer still holds (see Coalescer.drain); they will not come as a batch. */
  drain(): string[] {
    return this.coalescer.drain(this.now());
  }

  /** Stops the timers and waits for the batch in flight; pending paths are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelTick();
    await this.inFlight;
  }

  private apply(decision: Decision): void {
    if (this.closed) return;
    this.schedule(decision.wakeAt);
    if (decision.flush) this.start(decision.flush, decision.settled === true);
  }

  /**
   * The tick runs from setImmediate, after the timer: a timer that fires
   * late (a busy or descheduled process) runs before the I/O that arrived
   * meanwhile, and a leading window would then close on a lone change while
   * the events that make it a storm sit unread. The check phase comes after
   * the poll phase, so everything that arrived inside the window counts.
   */
  private schedule(wakeAt: number | null): void {
    this.cancelTick();
    if (wakeAt === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.immediate = setImmediate(() => {
        this.immediate = null;
        this.guard(() => this.apply(this.coalescer.tick(this.now())));
      });
    }, Math.max(0, wakeAt - this.now()));
  }

  private cancelTick(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  private start(paths: string[], settled: boolean): void {
    const run = async (): Promise<BatchVerdict | void> => {
      try {
        return await this.opts.onBatch(paths, { settled });
      } catch (err) {
        this.report(asSkiffError(err, ErrorCode.IO));
      }
    };
    this.inFlight = run().then((verdict) => {
      this.inFlight = null;
      // A settled batch is never held again, whatever the consumer says.
      const settle = verdict === BatchVerdict.SETTLE && !settled;
      this.guard(() => this.apply(this.coalescer.batchFinished(this.now(), { settle })));
    });
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.report(asSkiffError(err, ErrorCode.INTERNAL));
    }
  }

  private report(err: SkiffError): void {
    try {
      this.opts.onError(err);
    } catch {
      // The consumer's error handler failed; there is nobody left to tell.
    }
  }
}

export type WatchBatchesOptions = Omit<WatchTreeOptions, 'onEvents' | 'onActivity'> & Omit<BatcherOptions, 'now'>;

/**
 * Watches `root` and delivers coalesced batches: what the daemon runs for a
 * session. Polling gets windows stretched to its period (pollWindows)
 * unless `windows` says otherwise.
 */
export function watchBatches(root: string, opts: WatchBatchesOptions): TreeWatcher {
  const interval = pollIntervalOf(opts.poll);
  const backend = backendFor(opts.poll);
  const backendWindows = backend === Backend.POLL ? pollWindows(interval!) : backend === Backend.INOTIFY ? RAW_WINDOWS : {};
  const batcher = new Batcher({
    onBatch: opts.onBatch,
    onError: opts.onError,
    busy: opts.busy,
    windows: { ...backendWindows, ...opts.windows },
  });
  const watcher = watchTree(root, {
    isIgnored: opts.isIgnored,
    poll: opts.poll,
    ignoredDirs: opts.ignoredDirs,
    onEvents: (events) => batcher.events(events),
    onActivity: () => batcher.activity(),
    onError: opts.onError,
  });
  return {
    ready: watcher.ready,
    drain: () => batcher.drain(),
    async close() {
      await watcher.close();
      await batcher.close();
    },
  };
}
