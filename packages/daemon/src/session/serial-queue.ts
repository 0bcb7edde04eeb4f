/**
 * Runs async jobs one at a time, in order. A session's syncs, rescans and
 * reconnects all go through one queue, so they never interleave on the wire
 * or on the trees. A failing job rejects its own promise only.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job, job);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
