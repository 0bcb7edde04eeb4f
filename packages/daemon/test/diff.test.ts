import { describe, expect, it } from 'vitest';
import { EntryType, type Entry } from '@skiff/protocol';
import { deletionRoots, diff, diffCounts, isEmptyDiff, type TreeDiff } from '../src/core/diff.ts';

const HASH_A = 'aaaaaaaaaaaaaaaa';
const HASH_B = 'bbbbbbbbbbbbbbbb';
const HASH_EMPTY = 'ef46db3751d8e999';

function file(path: string, hash = HASH_A, extra: Partial<Entry> = {}): Entry {
  return { path, type: EntryType.FILE, size: 10, mtime: 1000, mode: 0o644, hash, ...extra };
}
function dir(path: string, extra: Partial<Entry> = {}): Entry {
  return { path, type: EntryType.DIR, size: 0, mtime: 1000, mode: 0o755, hash: '', ...extra };
}
function link(path: string, target: string, extra: Partial<Entry> = {}): Entry {
  return { path, type: EntryType.SYMLINK, size: target.length, mtime: 1000, mode: 0o777, hash: '', target, ...extra };
}
function tree(...entries: Entry[]): Map<string, Entry> {
  return new Map(entries.map((e) => [e.path, e]));
}

/** The diff as paths, for compact expectations. */
function paths(d: TreeDiff) {
  return {
    created: d.created.map((e) => e.path),
    modified: d.modified.map((e) => e.path),
    deleted: d.deleted.map((e) => e.path),
    renamed: d.renamed.map((r) => `${r.from.path}->${r.to.path}`),
    dirsCreated: d.dirsCreated.map((e) => e.path),
    dirsRemoved: d.dirsRemoved.map((e) => e.path),
  };
}
const none = { created: [], modified: [], deleted: [], renamed: [], dirsCreated: [], dirsRemoved: [] };

describe('diff', () => {
  it.each<[string, Map<string, Entry>, Map<string, Entry>, Partial<ReturnType<typeof paths>>]>([
    ['empty trees', tree(), tree(), {}],
    ['identical trees', tree(dir('a'), file('a/x')), tree(dir('a'), file('a/x')), {}],
    ['a new file', tree(), tree(file('x')), { created: ['x'] }],
    ['a new symlink', tree(), tree(link('l', 'x')), { created: ['l'] }],
    ['a new directory with a file', tree(), tree(dir('a'), file('a/x', HASH_B)), { created: ['a/x'], dirsCreated: ['a'] }],
    ['a deleted file', tree(file('x')), tree(), { deleted: ['x'] }],
    ['content changed', tree(file('x', HASH_A)), tree(file('x', HASH_B)), { modified: ['x'] }],
    ['size changed, same hash', tree(file('x')), tree(file('x', HASH_A, { size: 11 })), { modified: ['x'] }],
    ['mode changed', tree(file('x')), tree(file('x', HASH_A, { mode: 0o755 })), { modified: ['x'] }],
    ['only mtime changed', tree(file('x')), tree(file('x', HASH_A, { mtime: 2000 })), {}],
    ['bits above 0o777 are not a change', tree(file('x')), tree(file('x', HASH_A, { mode: 0o100644 })), {}],
    ['symlink retargeted', tree(link('l', 'x')), tree(link('l', 'y')), { modified: ['l'] }],
    ['symlink mtime and mode alone', tree(link('l', 'x')), tree(link('l', 'x', { mtime: 5, mode: 0o755 })), {}],
    ['directory mode changed', tree(dir('a')), tree(dir('a', { mode: 0o700 })), { modified: ['a'] }],
    ['directory mtime alone', tree(dir('a')), tree(dir('a', { mtime: 9 })), {}],
    ['file becomes directory', tree(file('a')), tree(dir('a')), { deleted: ['a'], dirsCreated: ['a'] }],
    ['directory becomes symlink', tree(dir('a')), tree(link('a', 'b')), { created: ['a'], dirsRemoved: ['a'] }],
    ['file becomes symlink', tree(file('a')), tree(link('a', 'b')), { created: ['a'], deleted: ['a'] }],
    [
      'directory with contents becomes a file',
      tree(dir('a'), dir('a/b'), file('a/b/x', HASH_B)),
      tree(file('a')),
      { created: ['a'], deleted: ['a/b/x'], dirsRemoved: ['a'] },
    ],
    [
      'removed directories: top-most only, deleted files complete',
      tree(dir('a'), dir('a/b'), dir('a/b/c'), file('a/b/c/x', HASH_B), file('a/y'), dir('z'), link('z/l', '../a')),
      tree(dir('z')),
      { deleted: ['a/b/c/x', 'a/y', 'z/l'], dirsRemoved: ['a'] },
    ],
    ['sibling with a common prefix is not a child', tree(dir('a'), dir('a-b'), dir('a-b/c')), tree(), { dirsRemoved: ['a', 'a-b'] }],
    ['rename', tree(file('old')), tree(file('new')), { renamed: ['old->new'] }],
    ['rename with mode change', tree(file('old')), tree(file('new', HASH_A, { mode: 0o755 })), { renamed: ['old->new'] }],
    ['same hash, other size: no rename', tree(file('old')), tree(file('new', HASH_A, { size: 3 })), { created: ['new'], deleted: ['old'] }],
    ['other hash: no rename', tree(file('old')), tree(file('new', HASH_B)), { created: ['new'], deleted: ['old'] }],
    [
      'empty files are never paired',
      tree(file('old', HASH_EMPTY, { size: 0 })),
      tree(file('new', HASH_EMPTY, { size: 0 })),
      { created: ['new'], deleted: ['old'] },
    ],
    ['symlinks are never paired', tree(link('old', 'x')), tree(link('new', 'x')), { created: ['new'], deleted: ['old'] }],
    [
      'a moved directory: files renamed, directories removed and created',
      tree(dir('src'), file('src/a.ts', HASH_A), file('src/b.ts', HASH_B)),
      tree(dir('lib'), file('lib/a.ts', HASH_A), file('lib/b.ts', HASH_B)),
      { renamed: ['src/a.ts->lib/a.ts', 'src/b.ts->lib/b.ts'], dirsCreated: ['lib'], dirsRemoved: ['src'] },
    ],
    [
      'one deleted file pairs with one created copy only',
      tree(file('old')),
      tree(file('copy1'), file('copy2')),
      { created: ['copy2'], renamed: ['old->copy1'] },
    ],
    [
      'a created file prefers a deleted one of the same name',
      tree(file('a/x'), file('b/name.txt')),
      tree(file('c/name.txt'), file('d/y')),
      { renamed: ['b/name.txt->c/name.txt', 'a/x->d/y'] },
    ],
    [
      'dirsCreated lists parents before children, all of them',
      tree(),
      tree(dir('a/b'), dir('a'), dir('a-b'), dir('a/b/c')),
      { dirsCreated: ['a', 'a-b', 'a/b', 'a/b/c'] },
    ],
  ])('%s', (_name, before, after, expected) => {
    expect(paths(diff(before, after))).toEqual({ ...none, ...expected });
  });

  it('returns after-entries for created and modified, before-entries for deleted', () => {
    const before = tree(file('m', HASH_A), file('gone', HASH_B));
    const after = tree(file('m', HASH_B, { mtime: 7 }), file('new', HASH_EMPTY, { size: 0 }));
    const d = diff(before, after);
    expect(d.modified[0]).toBe(after.get('m'));
    expect(d.created[0]).toBe(after.get('new'));
    expect(d.deleted[0]).toBe(before.get('gone'));
  });

  it('renames carry both entries', () => {
    const before = tree(file('old'));
    const after = tree(file('new', HASH_A, { mode: 0o600 }));
    const [r] = diff(before, after).renamed;
    expect(r.from).toBe(before.get('old'));
    expect(r.to).toBe(after.get('new'));
  });

  it('does not depend on map insertion order', () => {
    const entries = [dir('b'), file('b/2', HASH_B), file('a'), file('c', HASH_B), dir('d'), file('d/z')];
    const forward = diff(tree(), tree(...entries));
    const backward = diff(tree(), tree(...[...entries].reverse()));
    expect(backward).toEqual(forward);
    expect(diff(tree(...[...entries].reverse()), tree())).toEqual(diff(tree(...entries), tree()));
  });

  it('every removed file is deleted or renamed away exactly once', () => {
    const before = tree(dir('a'), file('a/1', HASH_A), file('a/2', HASH_B), file('a/3', HASH_A), file('keep'));
    const after = tree(file('keep'), file('moved', HASH_A));
    const d = diff(before, after);
    const gone = [...d.deleted.map((e) => e.path), ...d.renamed.map((r) => r.from.path)].sort();
    expect(gone).toEqual(['a/1', 'a/2', 'a/3']);
  });
});

describe('isEmptyDiff and diffCounts', () => {
  it('an identical tree is an empty diff', () => {
    const d = diff(tree(dir('a'), file('a/x')), tree(dir('a'), file('a/x', HASH_A, { mtime: 99 })));
    expect(isEmptyDiff(d)).toBe(true);
    expect(diffCounts(d).total).toBe(0);
  });

  it('counts each list', () => {
    const d = diff(
      tree(file('m'), file('gone', HASH_B), file('old'), dir('rm'), dir('rm/sub')),
      tree(file('m', HASH_B), file('new', HASH_A), dir('mk'), file('fresh', 'cccccccccccccccc')),
    );
    expect(isEmptyDiff(d)).toBe(false);
    expect(diffCounts(d)).toEqual({ created: 1, modified: 1, deleted: 1, renamed: 1, dirsCreated: 1, dirsRemoved: 1, total: 6 });
  });
});

describe('deletionRoots', () => {
  it.each<[string, Map<string, Entry>, Map<string, Entry>, string[]]>([
    ['nothing removed', tree(file('x')), tree(file('x')), []],
    ['a file', tree(file('x')), tree(), ['x']],
    ['a directory swallows its contents', tree(dir('a'), dir('a/b'), file('a/b/x'), file('a/y', HASH_B)), tree(), ['a']],
    ['renamed-away files count', tree(file('old')), tree(file('new')), ['old']],
    ['renamed-away files inside a removed directory do not', tree(dir('d'), file('d/old')), tree(file('new')), ['d']],
    ['mixed', tree(dir('a'), file('a/x'), file('b', HASH_B), link('c', 'b')), tree(file('b', HASH_B)), ['a', 'c']],
  ])('%s', (_name, before, after, expected) => {
    expect(deletionRoots(diff(before, after))).toEqual(expected);
  });
});
