import { appendFile, mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@skiff/protocol';
import type { IsIgnored, TreeWatcher, WatchEvent, WatchTreeOptions } from '../src/watch/types.ts';
import { has, Recorder, rules, tempTree } from './watch-fixtures.ts';

type Start = (root: string, opts: WatchTreeOptions) => TreeWatcher;

/**
 * What every backend must do, on a real temp directory: subscribe, wait
 * for ready, act, then wait for the events with a deadline. "Nothing seen"
 * is proven by a sentinel change made after the ignored ones.
 */
export function watchContract(name: string, start: Start): void {
  describe(`${name}: watch contract`, () => {
    let root: string;
    let dispose: () => Promise<void>;
    const open: TreeWatcher[] = [];

    beforeEach(async () => {
      ({ root, dispose } = await tempTree(name));
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((w) => w.close()));
      await dispose();
    });

    async function watching(isIgnored: IsIgnored = rules()): Promise<Recorder<WatchEvent>> {
      const rec = new Recorder<WatchEvent>();
      const w = start(root, { isIgnored, onEvents: rec.push, onError: rec.error });
      open.push(w);
      await w.ready;
      return rec;
    }

    it('sees create, modify, rename and delete', async () => {
      const rec = await watching();
      await writeFile(join(root, 'a.txt'), 'one');
      await rec.until(has('create', 'a.txt'), 'create a.txt');
      await appendFile(join(root, 'a.txt'), ' two');
      await rec.until(has('update', 'a.txt'), 'update a.txt');
      await rename(join(root, 'a.txt'), join(root, 'b.txt'));
      await rec.until((e) => has('delete', 'a.txt')(e) && has('create', 'b.txt')(e), 'rename a.txt -> b.txt');
      await unlink(join(root, 'b.txt'));
      await rec.until(has('delete', 'b.txt'), 'delete b.txt');
      expect(rec.errors).toEqual([]);
      for (const e of rec.items) expect(['a.txt', 'b.txt']).toContain(e.path);
    });

    it('reports nothing under ignored directories, nor ignored names', async () => {
      await mkdir(join(root, 'node_modules/pkg'), { recursive: true });
      const rec = await watching(rules(['build/', 'node_modules']));
      await mkdir(join(root, '.git/objects'), { recursive: true });
      await writeFile(join(root, '.git/HEAD'), 'ref: refs/heads/main\n');
      await writeFile(join(root, '.git/objects/ab'), 'x');
      await mkdir(join(root, 'build/out'), { recursive: true });
      await writeFile(join(root, 'build/out/app.js'), 'x');
      await writeFile(join(root, 'node_modules/pkg/index.js'), 'x');
      await mkdir(join(root, 'src'));
      await writeFile(join(root, 'src/4913'), '');
      await writeFile(join(root, 'src/app.ts~'), 'old');
      await writeFile(join(root, 'src/sentinel.txt'), 'done');
      await rec.until(has('create', 'src/sentinel.txt'), 'the sentinel');
      const paths = rec.items.map((e) => e.path);
      expect(paths.filter((p) => /^(\.git|build|node_modules)(\/|$)|4913|~$/.test(p))).toEqual([]);
      expect(rec.errors).toEqual([]);
    });

    it('sees files in directories created together with them', async () => {
      const rec = await watching();
      mkdirSync(join(root, 'a/b/c'), { recursive: true });
      writeFileSync(join(root, 'a/b/c/deep.txt'), 'deep');
      writeFileSync(join(root, 'a/top.txt'), 'top');
      await rec.until((e) => has('create', 'a/b/c/deep.txt')(e) && has('create', 'a/top.txt')(e), 'files in new dirs');
      expect(has('create', 'a/b')(rec.items)).toBe(true);
    });

    it('sees the content of a directory moved into the tree', async () => {
      const outside = await mkdtemp(join(tmpdir(), 'skiff-outside-'));
      try {
        await mkdir(join(outside, 'pkg/lib'), { recursive: true });
        await writeFile(join(outside, 'pkg/index.js'), 'x');
        await writeFile(join(outside, 'pkg/lib/util.js'), 'x');
        const rec = await watching();
        await rename(join(outside, 'pkg'), join(root, 'pkg'));
        await rec.until(
          (e) => has('create', 'pkg/index.js')(e) && has('create', 'pkg/lib/util.js')(e),
          'the moved-in files',
        );
      } finally {
        await rm(outside, { recursive: true, force: true });
      }
    });

    it('passes on names that are not valid wire paths, for the refresh to report', async () => {
      const rec = await watching();
      await writeFile(join(root, 'back\\slash.txt'), 'x');
      await rec.until(has('create', 'back\\slash.txt'), 'the backslashed name');
    });

    it('stops reporting once closed', async () => {
      const closedRec = new Recorder<WatchEvent>();
      const first = start(root, { isIgnored: rules(), onEvents: closedRec.push, onError: closedRec.error });
      await first.ready;
      const rec = await watching();
      await first.close();
      await first.close(); // idempotent
      await writeFile(join(root, 'after-close.txt'), 'x');
      await rec.until(has('create', 'after-close.txt'), 'the other watcher');
      expect(closedRec.items).toEqual([]);
    });

    it('rejects ready with a SkiffError when the root does not exist', async () => {
      const w = start(join(root, 'missing'), { isIgnored: rules(), onEvents: () => {}, onError: () => {} });
      await expect(w.ready).rejects.toMatchObject({ name: 'SkiffError', code: ErrorCode.IO });
      await w.close();
    });
  });
}
