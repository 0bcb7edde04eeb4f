import { describe, expect, it } from 'vitest';
import { PathFilter } from '../src/watch/path-filter.ts';
import { toWirePath } from '../src/watch/wire-path.ts';
import { rules } from './watch-fixtures.ts';

describe('PathFilter', () => {
  const filter = new PathFilter(rules(['build/', 'node_modules', '*.log', '!keep.log']));

  it.each([
    { rel: 'src/app.ts', isDir: false, ignored: false },
    { rel: '.git', isDir: true, ignored: true },
    { rel: '.git/HEAD', isDir: false, ignored: true },
    { rel: '.skiff/index.json', isDir: false, ignored: true },
    { rel: 'build', isDir: true, ignored: true },
    { rel: 'build', isDir: false, ignored: false }, // a file named like a dir-only pattern
    { rel: 'build/out/app.js', isDir: false, ignored: true }, // under an ignored directory
    { rel: 'pkg/node_modules/x/index.js', isDir: false, ignored: true },
    { rel: 'logs/app.log', isDir: false, ignored: true },
    { rel: 'logs/keep.log', isDir: false, ignored: false },
    { rel: 'src/4913', isDir: false, ignored: true },
    { rel: 'src/app.ts~', isDir: false, ignored: true },
  ])('ignored($rel, isDir=$isDir) is $ignored', ({ rel, isDir, ignored }) => {
    expect(filter.ignored(rel, isDir)).toBe(ignored);
  });

  it.each([
    { rel: 'build', ignored: false }, // could be a file: kept, so no change is lost
    { rel: 'build/a.js', ignored: true },
    { rel: 'node_modules', ignored: true }, // ignored whichever kind it was
    { rel: 'app.log', ignored: true },
    { rel: 'src', ignored: false },
  ])('ignoredAnyKind($rel) is $ignored', ({ rel, ignored }) => {
    expect(filter.ignoredAnyKind(rel)).toBe(ignored);
  });

  it('asks about each ancestor once per cache period', () => {
    const asked: string[] = [];
    const f = new PathFilter((rel, isDir) => {
      asked.push(`${rel}${isDir ? '/' : ''}`);
      return false;
    });
    for (let i = 0; i < 100; i++) f.ignored(`a/b/f${i}.txt`, false);
    expect(asked.filter((q) => q.endsWith('/'))).toEqual(['a/', 'a/b/']);
  });

  it('forgets cached verdicts after FILTER_CACHE_MS', () => {
    let now = 0;
    let ignoreA = false;
    const f = new PathFilter((rel) => ignoreA && rel === 'a', () => now);
    expect(f.ignored('a/x', false)).toBe(false);
    ignoreA = true;
    expect(f.ignored('a/x', false)).toBe(false); // cached
    now = 1_001;
    expect(f.ignored('a/x', false)).toBe(true);
  });
});

describe('toWirePath', () => {
  it.each([
    { path: '/r/a.txt', want: 'a.txt' },
    { path: '/r/a/b c.txt', want: 'a/b c.txt' },
    { path: '/r', want: null },
    { path: '/r/', want: null },
    { path: '/rother/a.txt', want: null },
    { path: '/elsewhere/a.txt', want: null },
    // Passed on as it is: the refresh reports it as a problem with its code.
    { path: '/r/back\\slash', want: 'back\\slash' },
  ])('$path -> $want', ({ path, want }) => {
    expect(toWirePath('/r', path)).toBe(want);
  });

  it('handles the file system root as the watched root', () => {
    expect(toWirePath('/', '/etc/hosts')).toBe('etc/hosts');
  });
});
