/**
 * Parts handed from a producer to one consumer that may run ahead or behind:
 * the scan hands over entries while a first sync sends them (sync/first-sync.ts).
 * The consumer iterates once; parts pushed before it starts wait in order.
 * `end` finishes the iteration, `fail` makes it throw, after the parts
 * already handed over.
 */
export class Handover<T> implements AsyncIterable<T> {
  private readonly parts: T[] = [];
  private done = false;
  private failure: { error: unknown } | null = null;
  private wake: (() => void) | null = null;

  /** Adds a part; false once the handover ended (the part is dropped). */
  push(part: T): boolean {
    if (this.done) return false;
    this.parts.push(part);
    this.notify();
    return true;
  }

  end(): void {
    this.done = true;
    this.notify();
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.failure = { error };
    this.end();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      while (this.parts.length > 0) yield this.parts.shift()!;
      if (this.done) {
        if (this.failure) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
