/**
 * Promises that resolve when a predicate over some growing state (output
 * lines, frames, statuses) first holds: `poke()` re-checks them all when the
 * state grows, and `pollMs` also re-checks on a timer, for state that changes
 * without telling (/proc). A predicate that throws rejects its promise; one
 * that never holds rejects after `ms` with what `context()` says.
 */
export class Waiters {
  private pending: Array<() => void> = [];

  constructor(private readonly context: () => string) {}

  poke(): void {
    for (const check of [...this.pending]) check();
  }

  until<T>(what: string, predicate: () => T | undefined | null | false, ms: number, pollMs?: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        if (poll) clearInterval(poll);
        this.pending = this.pending.filter((c) => c !== check);
      };
      const check = (): void => {
        let value: T | undefined | null | false;
        try {
          value = predicate();
        } catch (err) {
          done();
          reject(err as Error);
          return;
        }
        if (value === undefined || value === null || value === false) return;
        done();
        resolve(value);
      };
      const poll = pollMs === undefined ? null : setInterval(check, pollMs);
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; ${this.context()}`));
      }, ms);
      this.pending.push(check);
      check();
    });
  }
}
