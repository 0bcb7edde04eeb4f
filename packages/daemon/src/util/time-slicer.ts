/**
 * Long synchronous work (a walk, reading many small files) runs in slices of
 * at most SLICE_MS and yields to the event loop between them, so the daemon
 * keeps answering its sockets and timers: no stretch of blocking work is
 * longer than a slice plus one system call. Synchronous calls in slices beat
 * one promise per call by far on cached inodes (see index/scan.ts).
 */
export const SLICE_MS = 8;

export class TimeSlicer {
  private sliceStart = performance.now();

  constructor(private readonly sliceMs: number = SLICE_MS) {}

  /** Yields to the event loop when the current slice is used up. */
  async maybeYield(): Promise<void> {
    if (this.due()) await this.yield();
  }

  /**
   * Whether the current slice is used up. A loop over tens of thousands of
   * items asks this and awaits yield() only then: awaiting maybeYield() at
   * every item costs a promise and a turn of the microtask queue each.
   */
  due(): boolean {
    return performance.now() - this.sliceStart >= this.sliceMs;
  }

  /** Yields to the event loop and starts a new slice. */
  async yield(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
  }
}
