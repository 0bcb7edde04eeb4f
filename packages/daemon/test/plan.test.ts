import { describe, expect, it } from 'vitest';
import { EntryType, type Entry } from '@skiff/protocol';
import { OpKind, type BatchOp } from '../src/sync/batch-ops.ts';
import { opsForEmptyAgent, planOps } from '../src/sync/plan.ts';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';

const file = (path: string, hash = A, extra: Partial<Entry> = {}): Entry => ({ path, type: EntryType.FILE, size: 10, mtime: 1, mode: 0o644, hash, ...extra });
const dir = (path: string): Entry => ({ path, type: EntryType.DIR, size: 0, mtime: 1, mode: 0o755, hash: '' });
const link = (path: string, target: string): Entry => ({ path, type: EntryType.SYMLINK, size: target.length, mtime: 1, mode: 0o777, hash: '', target });
const tree = (...entries: Entry[]) => new Map(entries.map((e) => [e.path, e]));

/** Ops as short strings, in order: "mkdir a", "copy x<-y", "file x", "link l", "delete d". */
function show(ops: BatchOp[]): string[] {
  return ops.map((op) => {
    switch (op.kind) {
      case OpKind.MKDIR:
        return `mkdir ${op.entry.path}`;
      case OpKind.COPY:
        return `copy ${op.entry.path}<-${op.from}`;
      case OpKind.FILE:
        return `file ${op.entry.path}`;
      case OpKind.SYMLINK:
        return `link ${op.entry.path}`;
      case OpKind.DELETE:
        return `delete ${op.path}`;
    }
  });
}

const ignoreNodeModules = (path: string) => path === 'node_modules' || path.startsWith('node_modules/') || path.endsWith('.log');

describe('planOps', () => {
  it.each<[string, Map<string, Entry>, Map<string, Entry>, { copies?: boolean; ignored?: (p: string, d: boolean) => boolean }, string[]]>([
    ['nothing to do', tree(file('a')), tree(file('a')), {}, []],
    ['directories first, parents before children, deletes last', tree(file('old')), tree(dir('d'), dir('d/e'), file('d/e/x')), {}, ['mkdir d', 'mkdir d/e', 'file d/e/x', 'delete old']],
    ['a rename without copies is a write and a delete', tree(file('a')), tree(file('b')), {}, ['file b', 'delete a']],
    ['a rename with copies is a copy and a delete', tree(file('a')), tree(file('b')), { copies: true }, ['copy b<-a', 'delete a']],
    [
      'a moved tree: copies after its directories, the old tree deleted once',
      tree(dir('src'), file('src/x', A), file('src/y', B)),
      tree(dir('app'), dir('app/src'), file('app/src/x', A), file('app/src/y', B)),
      { copies: true },
      ['mkdir app', 'mkdir app/src', 'copy app/src/x<-src/x', 'copy app/src/y<-src/y', 'delete src'],
    ],
    ['copies go before writes, which may replace a directory on the way', tree(dir('p'), file('p/a')), tree(file('p', B), file('q', A)), { copies: true }, ['copy q<-p/a', 'file p']],
    ['a source replaced by another entry is not copied from', tree(file('a', A)), tree(dir('a'), file('a/b', A)), { copies: true }, ['mkdir a', 'file a/b']],
    ['an unhashed file is never paired', tree(file('a', A)), tree(file('b', '')), { copies: true }, ['file b', 'delete a']],
    ['a written path is never deleted', tree(dir('x'), file('x/y')), tree(file('x', B)), {}, ['file x']],
    ['symlinks are written', tree(), tree(link('l', 'a')), {}, ['link l']],
    ['ignored paths on the agent are neither deleted nor compared', tree(dir('node_modules'), file('node_modules/p/i.js'), file('debug.log'), file('a')), tree(file('a')), { ignored: ignoreNodeModules }, []],
    ['an ignored path does not pair as a rename source', tree(file('debug.log', A)), tree(file('b', A)), { copies: true, ignored: ignoreNodeModules }, ['file b']],
    ['what is not ignored is still deleted', tree(file('node_modules/x'), file('gone')), tree(), { ignored: ignoreNodeModules }, ['delete gone']],
    [
      'a deleted directory holding an ignored file is emptied, not removed',
      tree(dir('build'), file('build/a.js'), file('build/debug.log'), dir('build/sub'), file('build/sub/b.js'), dir('build/keep'), file('build/keep/c.log')),
      tree(),
      { ignored: ignoreNodeModules },
      ['delete build/a.js', 'delete build/sub'],
    ],
  ])('%s', (_name, remote, local, opts, want) => {
    expect(show(planOps(remote, local, opts))).toEqual(want);
  });
});

describe('opsForEmptyAgent', () => {
  it('plans what planOps plans against an empty agent, part by part in the order given', () => {
    const entries = [dir('a'), file('a/x'), dir('a/b'), link('a/l', 'x'), file('a/b/y', B), file('top')];
    const whole = planOps(new Map(), tree(...entries));
    // The scan hands a directory's entry over with its parent's part, before its own contents.
    const parts = [entries.slice(0, 4), entries.slice(4)];
    const streamed = parts.flatMap((part) => opsForEmptyAgent(part));
    expect(show(streamed).sort()).toEqual(show(whole).sort());
    expect(show(streamed)).toEqual(['mkdir a', 'file a/x', 'mkdir a/b', 'link a/l', 'file a/b/y', 'file top']);
    // The very entries, so the engine learns the objects it set.
    expect(streamed.map((op) => (op.kind === OpKind.DELETE ? null : op.entry))).toEqual(entries);
  });
});
