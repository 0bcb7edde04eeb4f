import { describe, expect, it } from 'vitest';
import type { RawListing } from '@skiff/agent/stat-dir';
import { CALLS_AHEAD, DIRS_PER_CALL, ListAhead } from '../src/index/list-ahead.ts';

/** A lister on "the pool" whose calls the test resolves by hand. */
function fakePool(fail: (paths: string[]) => boolean = () => false) {
  const calls: Array<{ paths: string[]; resolve: () => void }> = [];
  let running = 0;
  let most = 0;
  const statDirs = (paths: string[]) =>
    new Promise<Array<RawListing | null | Error>>((resolve, reject) => {
      running++;
      most = Math.max(most, running);
      calls.push({
        paths,
        resolve: () => {
          running--;
          if (fail(paths)) reject(new Error('no listings'));
          else resolve(paths.map((p) => (p.endsWith('/gone') ? null : { names: [p.slice('/root/'.length)], stats: new Float64Array(10) })));
        },
      });
    });
  return { statDirs, calls, most: () => most };
}

describe('ListAhead', () => {
  it('lists what it is handed, at most CALLS_AHEAD calls of DIRS_PER_CALL directories at once, and gives each back once', async () => {
    const pool = fakePool();
    const ahead = new ListAhead(pool.statDirs, (dir) => `/root/${dir}`);
    const pending = Array.from({ length: DIRS_PER_CALL * 3 + 5 }, (_, i) => `d${i}`);
    pending.push('gone');
    const all = new Set(pending);
    ahead.pump(pending);
    expect(pool.calls).toHaveLength(CALLS_AHEAD);
    expect(pool.calls.every((c) => c.paths.length <= DIRS_PER_CALL)).toBe(true);
    const seen: string[] = [];
    let resolved = 0;
    for (;;) {
      // Resolve calls as the walk would find them done.
      while (resolved < pool.calls.length) pool.calls[resolved++].resolve();
      const listed = await ahead.next();
      if (listed === undefined) break;
      seen.push(listed.dir);
      if (listed.dir === 'gone') expect(listed.result).toBeNull();
      else expect((listed.result as RawListing).names).toEqual([listed.dir]);
      // A directory found while visiting: handed over like the others.
      if (listed.dir === 'd3') {
        pending.push('d3/sub');
        all.add('d3/sub');
      }
      ahead.pump(pending);
      expect(pool.calls.length - resolved).toBeLessThanOrEqual(CALLS_AHEAD);
    }
    expect(seen.sort()).toEqual([...all].sort());
    expect(pending).toEqual([]);
    expect(pool.most()).toBeLessThanOrEqual(CALLS_AHEAD);
  });

  it('gives an Error for each directory of a call that failed, so the walk lists them itself', async () => {
    const pool = fakePool((paths) => paths.includes('/root/bad'));
    const ahead = new ListAhead(pool.statDirs, (dir) => `/root/${dir}`);
    ahead.pump(['bad', 'x']);
    pool.calls[0].resolve();
    const first = await ahead.next();
    const second = await ahead.next();
    expect([first?.dir, second?.dir].sort()).toEqual(['bad', 'x']);
    expect(first?.result).toBeInstanceOf(Error);
    expect(second?.result).toBeInstanceOf(Error);
    expect(await ahead.next()).toBeUndefined();
  });

  it('has nothing to give when nothing was handed over', async () => {
    const ahead = new ListAhead(fakePool().statDirs, (dir) => dir);
    ahead.pump([]);
    expect(await ahead.next()).toBeUndefined();
  });
});
