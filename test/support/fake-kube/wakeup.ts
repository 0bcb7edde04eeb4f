/**
 * A wait that ends at a deadline, at an abort, or when something it depends
 * on changed (an image became available, a claim was bound): the fake
 * kubelet's back-off waits, which a test can cut short by fixing the cause,
 * as the next retry of a real kubelet would pick the fix up.
 */
export class Wakeup {
  private readonly waiters = new Set<() => void>();

  wake(): void {
    const all = [...this.waiters];
    this.waiters.clear();
    for (const w of all) w();
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** Resolves when the signal aborts. For waits that last until then; a race should use untilAborted. */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** `promise`'s value, or undefined if the signal aborts first; the abort listener does not outlive the race. */
export async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return undefined;
  let onAbort!: () => void;
  const abortedFirst = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, abortedFirst]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
