/**
 * Retries after a failure with a pause that doubles from `baseMs` up to
 * `maxMs`, and starts again from `baseMs` once something succeeded. One
 * pending retry at a time. The session uses one for reconnecting to a lost
 * agent and one for recreating a failed watcher.
 */
export class Backoff {
  private delay: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {
    this.delay = baseMs;
  }

  /** Runs `fn` after the current pause, unless a retry is already pending. `fn` must not reject. */
  schedule(fn: () => void): void {
    if (this.timer) return;
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, this.maxMs);
    this.timer = setTimeout(() => {
      this.timer = null;
      fn();
    }, delay);
  }

  /** Something succeeded: the next failure waits `baseMs` again. */
  reset(): void {
    this.delay = this.baseMs;
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
