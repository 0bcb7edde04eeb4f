import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@skiff/protocol';
import { watchWithInotify } from '../src/watch/inotify.ts';
import type { WatchEvent } from '../src/watch/types.ts';
import { Backend, backendFor } from '../src/watch/watch-tree.ts';
import { watchContract } from './watch-contract.ts';
import { has, inotifyWatches, makeWatchCostTree, Recorder, rules, tempTree } from './watch-fixtures.ts';

watchContract('inotify', watchWithInotify);

describe('inotify: what it holds and when', () => {
  let root: string;
  let dispose: () => Promise<void>;
  beforeEach(async () => {
    ({ root, dispose } = await tempTree('inotify-cost'));
  });
  afterEach(() => dispose());

  it('holds one inotify watch per watched directory, none under ignored ones, none once closed', async () => {
    await makeWatchCostTree(root);
    const before = await inotifyWatches();
    const w = watchWithInotify(root, { isIgnored: rules(['node_modules/']), onEvents: () => {}, onError: () => {} });
    await w.ready;
    // root + src + src/d0..d19
    expect((await inotifyWatches()) - before).toBe(22);
    await w.close();
    expect(await inotifyWatches()).toBe(before);
  });

  it('hands each of saves 30 ms apart on by itself, as it happens, with no debounce', async () => {
    await mkdir(join(root, 'a'));
    await mkdir(join(root, 'b'));
    const deliveries: Array<{ at: number; paths: string[] }> = [];
    const rec = new Recorder<WatchEvent>();
    const w = watchWithInotify(root, {
      isIgnored: rules(),
      onEvents: (events) => {
        deliveries.push({ at: performance.now(), paths: [...new Set(events.map((e) => e.path))] });
        rec.push(events);
      },
      onError: rec.error,
    });
    await w.ready;
    const files = ['a/1', 'b/2', 'a/3', 'b/4', 'a/5'];
    for (const f of files) {
      await writeFile(join(root, f), f);
      await new Promise((r) => setTimeout(r, 30));
    }
    await rec.until(has('create', 'a/5'), 'the fifth save');
    await w.close();
    // Each save came in a delivery of its own: none waited for the next.
    expect(files.map((f) => deliveries.findIndex((d) => d.paths.includes(f)))).toEqual([...new Set(files.map((f) => deliveries.findIndex((d) => d.paths.includes(f))))]);
  });

  it('follows a directory moved away and back: no watch left on the old name, the new one listed', async () => {
    await mkdir(join(root, 'src/deep'), { recursive: true });
    await writeFile(join(root, 'src/deep/x.txt'), 'x');
    const rec = new Recorder<WatchEvent>();
    const w = watchWithInotify(root, { isIgnored: rules(), onEvents: rec.push, onError: rec.error });
    await w.ready;
    await rename(join(root, 'src'), join(root, 'moved'));
    await rec.until((e) => has('delete', 'src')(e) && has('create', 'moved/deep/x.txt')(e), 'the move');
    await writeFile(join(root, 'moved/deep/y.txt'), 'y');
    await rec.until(has('create', 'moved/deep/y.txt'), 'a file in the moved directory');
    expect(rec.items.filter((e) => e.path.startsWith('src/deep/y'))).toEqual([]);
    await w.close();
    expect(rec.errors).toEqual([]);
  });

  it('says so when the root itself goes away', async () => {
    const rec = new Recorder<WatchEvent>();
    const w = watchWithInotify(root, { isIgnored: rules(), onEvents: rec.push, onError: rec.error });
    await w.ready;
    await rm(root, { recursive: true, force: true });
    await rec.until(() => rec.errors.some((err) => err.code === ErrorCode.IO && /removed or moved away/.test(err.message)), 'the root removed');
    await w.close();
  });
});

describe('the backend', () => {
  it('is inotify on Linux, parcel when SKIFF_WATCHER says so or elsewhere, polling when asked', () => {
    expect(backendFor(undefined, {}, 'linux')).toBe(Backend.INOTIFY);
    expect(backendFor(undefined, { SKIFF_WATCHER: 'parcel' }, 'linux')).toBe(Backend.PARCEL);
    expect(backendFor(undefined, {}, 'darwin')).toBe(Backend.PARCEL);
    expect(backendFor(true, {}, 'linux')).toBe(Backend.POLL);
  });
});
