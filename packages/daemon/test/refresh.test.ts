import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, appendFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, loadHasher, type Hasher } from '@skiff/protocol';
import { TreeState } from '../src/core/tree-state.ts';
import { createIgnoreMatcher } from '../src/ignore/index.ts';
import type { IndexEntry } from '../src/index/entry.ts';
import { refreshPaths } from '../src/index/refresh.ts';
import { scanTree } from '../src/index/scan.ts';

/** The refresh against a real directory: what each reported path is now, the same way the scan sees it. */
describe('refreshPaths', () => {
  let hasher: Hasher;
  let root: string;
  let local: TreeState<IndexEntry>;
  const matcher = createIgnoreMatcher();

  beforeAll(async () => {
    hasher = await loadHasher();
  });
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'skiff-refresh-'));
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src/a.txt'), 'a');
    writeFileSync(join(root, 'b.txt'), 'b');
    // The scan reads the rules into the matcher, as a session's does.
    writeFileSync(join(root, '.gitignore'), 'ignored/\n*.log\n');
    const scan = await scanTree(root, { hasher, matcher });
    local = new TreeState<IndexEntry>(hasher.h64, scan.entries.values());
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const refresh = (...paths: string[]) => refreshPaths(root, paths, local, matcher, hasher);

  it('a touched file without a change of content changes nothing that is sent', () => {
    const before = local.digest;
    const r = refresh('b.txt');
    expect(local.digest).toBe(before);
    expect(r.problems).toEqual([]);
  });

  it('an edit, a new file, a deletion and a type change', () => {
    writeFileSync(join(root, 'b.txt'), 'bb');
    writeFileSync(join(root, 'src/new.txt'), 'n');
    rmSync(join(root, 'src/a.txt'));
    const r = refresh('b.txt', 'src/new.txt', 'src/a.txt');
    expect([...r.changed].sort()).toEqual(['b.txt', 'src/a.txt', 'src/new.txt']);
    expect(local.get('b.txt')?.hash).toBe(hasher.h64Bytes(Buffer.from('bb')));
    expect(local.has('src/a.txt')).toBe(false);
    rmSync(join(root, 'src'), { recursive: true });
    writeFileSync(join(root, 'src'), 'now a file');
    const r2 = refresh('src');
    expect([...r2.changed].sort()).toEqual(['src', 'src/new.txt']);
    expect(local.get('src')?.type).toBe('file');
  });

  it('ignored paths and paths under a missing parent are not taken', () => {
    mkdirSync(join(root, 'ignored'));
    writeFileSync(join(root, 'ignored/x'), 'x');
    writeFileSync(join(root, 'debug.log'), 'x');
    const r = refresh('ignored/x', 'debug.log', 'nowhere/y');
    expect(r.changed.size).toBe(0);
    expect(local.has('ignored/x') || local.has('debug.log')).toBe(false);
  });

  it('a symlink out of the tree and a name the wire refuses are problems with their codes', () => {
    symlinkSync('/etc/passwd', join(root, 'out'));
    writeFileSync(join(root, 'back\\slash'), 'x');
    execFileSync('sh', ['-c', `printf x > "$(printf 'bad\\377')"`], { cwd: root });
    const r = refresh('out', 'back\\slash', 'bad\uFFFD');
    expect(r.problems.map((p) => [p.path, p.code])).toEqual([
      ['out', ErrorCode.SYMLINK_ESCAPE],
      ['back\\slash', ErrorCode.PATH_NOT_NORMALISED],
      ['bad\uFFFD', ErrorCode.PATH_NOT_UTF8],
    ]);
    expect(r.changed.size).toBe(0);
    // A name that really contains U+FFFD is a file like any other.
    writeFileSync(join(root, 'real\uFFFD'), 'x');
    expect(refresh('real\uFFFD').problems).toEqual([]);
  });

  it('a write through one name of a hard-linked file refreshes every other name', async () => {
    linkSync(join(root, 'b.txt'), join(root, 'src/twin.txt'));
    const scan = await scanTree(root, { hasher, matcher });
    local = new TreeState<IndexEntry>(hasher.h64, scan.entries.values());
    expect(local.get('b.txt')?.nlink).toBe(2);
    appendFileSync(join(root, 'b.txt'), ' more');
    const r = refresh('b.txt');
    expect([...r.changed].sort()).toEqual(['b.txt', 'src/twin.txt']);
    expect(local.get('src/twin.txt')?.hash).toBe(local.get('b.txt')?.hash);
  });

  it('an ignore file that changed asks for a rescan', () => {
    writeFileSync(join(root, '.gitignore'), 'b.txt\n*.log\n');
    expect(refresh('.gitignore').rulesChanged).toBe(true);
  });

  it('a renamed file is a deletion and a creation', () => {
    renameSync(join(root, 'b.txt'), join(root, 'c.txt'));
    expect([...refresh('b.txt', 'c.txt').changed].sort()).toEqual(['b.txt', 'c.txt']);
  });
});
