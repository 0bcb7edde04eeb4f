import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@skiff/protocol';
import { watchWithParcel } from '../src/watch/parcel.ts';
import { toWatchError } from '../src/watch/watch-error.ts';
import { watchContract } from './watch-contract.ts';
import { inotifyWatches, makeWatchCostTree, Recorder, rules, tempTree } from './watch-fixtures.ts';

watchContract('parcel', watchWithParcel);

describe('parcel: cost', () => {
  let root: string;
  let dispose: () => Promise<void>;
  beforeEach(async () => {
    ({ root, dispose } = await tempTree('parcel-cost'));
  });
  afterEach(() => dispose());

  it('holds one inotify watch per watched directory, none under ignored ones', async () => {
    await makeWatchCostTree(root);
    const before = await inotifyWatches();
    const w = watchWithParcel(root, { isIgnored: rules(['node_modules/']), onEvents: () => {}, onError: () => {} });
    await w.ready;
    const during = await inotifyWatches();
    await w.close();
    // root + src + src/d0..d19
    expect(during - before).toBe(22);
    expect(await inotifyWatches()).toBe(before);
  });

  it('does not watch directories the caller already knows to be ignored', async () => {
    for (let i = 0; i < 5; i++) await mkdir(join(root, `pkg/dist/${i}`), { recursive: true });
    const before = await inotifyWatches();
    const w = watchWithParcel(root, {
      isIgnored: rules(['dist/']),
      ignoredDirs: ['pkg/dist'],
      onEvents: () => {},
      onError: () => {},
    });
    await w.ready;
    const during = await inotifyWatches();
    await w.close();
    expect(during - before).toBe(2); // root + pkg
  });
});

describe('parcel: losing the root', () => {
  it('reports an error when the watched directory itself is removed', async () => {
    const { root, dispose } = await tempTree('parcel-root');
    const errors = new Recorder<never>();
    const w = watchWithParcel(root, { isIgnored: rules(), onEvents: () => {}, onError: errors.error });
    try {
      await w.ready;
      await rm(root, { recursive: true });
      await errors.until(() => errors.errors.length > 0, 'the error');
      expect(errors.errors[0]).toMatchObject({ code: ErrorCode.IO });
      expect(errors.errors[0].message).toContain('was removed or moved away');
    } finally {
      await w.close();
      await dispose();
    }
  });
});

describe('watch errors', () => {
  it('names fs.inotify.max_user_watches and the fix when the watch limit is reached', () => {
    const native = new Error("inotify_add_watch on '/src/app/lib' failed: No space left on device");
    const err = toWatchError(native, '/src/app');
    expect(err.code).toBe(ErrorCode.WATCH_LIMIT);
    expect(err.message).toContain('fs.inotify.max_user_watches');
    expect(err.message).toContain('skiff dev --poll');
    expect(err.message).toContain('sudo sysctl fs.inotify.max_user_watches=524288');
    expect(err.message).toContain('/etc/sysctl.d/');
    expect(err.cause).toBe(native);
  });

  it('recognises ENOSPC by its code', () => {
    const native = Object.assign(new Error('watch /src/app ENOSPC'), { code: 'ENOSPC' });
    expect(toWatchError(native, '/src/app').message).toContain('fs.inotify.max_user_watches');
  });

  it('names fs.inotify.max_user_instances when no inotify instance can be created', () => {
    const err = toWatchError(new Error('Unable to initialize inotify: Too many open files'), '/src/app');
    expect(err.code).toBe(ErrorCode.WATCH_LIMIT);
    expect(err.message).toContain('fs.inotify.max_user_instances');
  });

  it('keeps other failures as they are, with their cause', () => {
    const native = new Error('Permission denied');
    const err = toWatchError(native, '/src/app');
    expect(err.code).toBe(ErrorCode.IO);
    expect(err.message).toBe('watching /src/app failed: Permission denied');
    expect(err.cause).toBe(native);
  });
});
