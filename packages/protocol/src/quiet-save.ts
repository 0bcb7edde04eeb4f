/**
 * Runs `save` once `quietMs` have passed without a `touch()`, and at the
 * latest `maxMs` after the first touch it has not saved yet. Both ends keep
 * a record of their tree (the daemon's index, the agent's manifest) whose
 * write holds the event loop in proportion to the tree (55-70 ms for 54,000
 * entries): written while saves keep coming, it delays one of them by as
 * much, so it waits for a pause, unless none comes.
 */
export class QuietSave {
  private timer: NodeJS.Timeout | null = null;
  /** When the waiting save must run at the latest (on `now`'s clock), or null when none waits. */
  private dueBy: number | null = null;

  constructor(
    private readonly save: () => void,
    private readonly quietMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Something changed: the save waits for `quietMs` more, within its bound. */
  touch(): void {
    const now = this.now();
    this.dueBy ??= now + this.maxMs;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.cancel();
      this.save();
    }, Math.max(0, Math.min(this.quietMs, this.dueBy - now)));
    // A waiting save never keeps a process alive: whoever stops saves what it must itself.
    this.timer.unref();
  }

  /** Drops the waiting save, if any; true when one was waiting. */
  cancel(): boolean {
    const waiting = this.timer !== null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.dueBy = null;
    return waiting;
  }
}
