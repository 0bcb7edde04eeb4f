import type { RawListing, RawStatDirs } from '@skiff/agent/stat-dir';

/**
 * Directories per call into the pool (each call costs a thread hand-over
 * and a callback), and calls under way at once (the pool lists them on as
 * many threads). Measured on the 54,000-entry tree, the listing alone:
 * 16 × 2 took 58-86 ms, 32 × 3 48-54 ms, one directory at a time on the
 * main thread 76-105 ms. In a whole push on two cores (the agent starting
 * beside it, or the scan's own comparing) 1, 2 or 3 calls under way were
 * within noise of each other: more threads only contend for the cores.
 */
export const DIRS_PER_CALL = 32;
export const CALLS_AHEAD = 2;

/** A directory listed ahead: its listing, null when it was gone, or the Error listing it met. */
export interface Listed {
  dir: string;
  result: RawListing | null | Error;
  /** Date.now() when the listing was asked for: before any lstat of it. */
  askedAt: number;
}

/**
 * Directories listed ahead of the scan's walk on a thread of libuv's pool
 * (the agent's native/list-dir.c, lstatDirs), while the walk compares the
 * listings it already has with the index: on a tree the index knows, the
 * system calls (~70 ms for 54,000 entries on tmpfs) were most of the walk's
 * time on its one thread. Neither the agent's start scan nor a push's scan
 * while that agent starts lists ahead: in a one-shot push the two run beside
 * each other on two cores, and a third thread only slowed the agent, which
 * the push waits for (with both listing ahead ~445 vs ~410 ms; the push
 * alone listing ahead until connected 406 vs 380 ms, medians of eight
 * alternating runs; see ScanOptions.listAhead). The walk hands over the
 * directories it has found (`pump`) and takes listings back in the order
 * they were asked for (`next`).
 */
export class ListAhead {
  private readonly calls: Array<Promise<Listed[]>> = [];
  private ready: Listed[] = [];
  private at = 0;

  constructor(
    private readonly statDirs: RawStatDirs,
    private readonly abs: (dir: string) => string,
  ) {}

  /** Starts listing directories taken from the end of `pending` while fewer than CALLS_AHEAD calls are under way. */
  pump(pending: string[]): void {
    while (this.calls.length < CALLS_AHEAD && pending.length > 0) {
      const dirs = pending.splice(-DIRS_PER_CALL);
      const askedAt = Date.now();
      this.calls.push(
        this.statDirs(dirs.map(this.abs)).then(
          (results) => results.map((result, i) => ({ dir: dirs[i], result, askedAt })),
          // The call itself failed (Node-API could not make the results): each directory is listed again by the caller.
          (err: unknown) => dirs.map((dir) => ({ dir, result: err instanceof Error ? err : new Error(String(err)), askedAt })),
        ),
      );
    }
  }

  /** The next directory listed, or undefined when none is listed or being listed. */
  async next(): Promise<Listed | undefined> {
    if (this.at === this.ready.length) {
      const call = this.calls.shift();
      if (call === undefined) return undefined;
      this.ready = await call;
      this.at = 0;
      if (this.ready.length === 0) return this.next();
    }
    return this.ready[this.at++];
  }
}
