import { asSkiffError, ErrorCode, type SkiffError } from '@skiff/protocol';
import { Coalescer, DEFAULT_WINDOWS, type Decision, type Windows } from '../core/coalesce.ts';
import { WatchEventKind, type TreeWatcher, type WatchEvent, type WatchTreeOptions } from './types.ts';
import { pollIntervalOf, watchTree } from './watch-tree.ts';

export interface BatcherOptions {
  /**
   * Sends one batch: the distinct, sorted wire paths touched since the last
   * one (files or directories, existing or not: the consumer rescans them).
   * Never called again before the previous call settled. A rejection is
   * reported through onError and its paths are not retried here: the sync
   * pipeline owns retries.
   */
  onBatch(paths: string[]): Promise<void> | void;
  onError(err: SkiffError): void;
  windows?: Partial<Windows>;
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
    this.coalescer = new Coalescer(opts.windows);
    this.now = opts.now ?? (() => performance.now());
  }

  /** Records watcher events (the paths matter, not the kinds). */
  push(events: readonly WatchEvent[]): void {
    this.guard(() => this.apply(this.coalescer.add(events.map((e) => e.path), this.now())));
  }

  /** Records that the tree is moving, without paths yet. */
  activity(): void {
    this.guard(() => this.apply(this.coalescer.add([], this.now())));
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
    if (decision.flush) this.start(decision.flush);
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

  private start(paths: string[]): void {
    const run = async () => {
      try {
        await this.opts.onBatch(paths);
      } catch (err) {
        this.report(asSkiffError(err, ErrorCode.IO));
      }
    };
    this.inFlight = run().then(() => {
      this.inFlight = null;
      this.guard(() => this.apply(this.coalescer.batchFinished(this.now())));
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
/** A batching watcher that also takes paths found by other means (a re-listing), coalesced like its own events. */
export interface BatchingWatcher extends TreeWatcher {
  inject(paths: readonly string[]): void;
}

export function watchBatches(root: string, opts: WatchBatchesOptions): BatchingWatcher {
  const interval = pollIntervalOf(opts.poll);
  const batcher = new Batcher({
    onBatch: opts.onBatch,
    onError: opts.onError,
    windows: { ...(interval === null ? {} : pollWindows(interval)), ...opts.windows },
  });
  const watcher = watchTree(root, {
    isIgnored: opts.isIgnored,
    poll: opts.poll,
    ignoredDirs: opts.ignoredDirs,
    onEvents: (events) => batcher.push(events),
    onActivity: () => batcher.activity(),
    onError: opts.onError,
  });
  return {
    ready: watcher.ready,
    inject(paths) {
      if (paths.length > 0) batcher.push(paths.map((path) => ({ kind: WatchEventKind.UPDATE, path })));
    },
    async close() {
      await watcher.close();
      await batcher.close();
    },
  };
}
