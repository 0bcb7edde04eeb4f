import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parentOf } from '@skiff/protocol';
import {
  asDirectoryPattern,
  createIgnoreMatcher,
  DEFAULT_IGNORE_PATTERNS,
  LAYER_TESTS_BEFORE_RECOMPILE,
  loadIgnoreMatcher,
  readRootIgnore,
  type IgnoreMatcher,
  type IgnoreMatcherInit,
} from '../src/ignore/index.ts';

/** [path, isDir, ignored] */
type Case = [string, boolean, boolean];

/** Checks each case through isIgnored and through the rules of its directory (inDir), which must agree. */
function check(init: IgnoreMatcherInit, cases: Case[]): void {
  const matcher = createIgnoreMatcher(init);
  const got = cases.map(([path, isDir]) => [path, isDir, matcher.isIgnored(path, isDir)]);
  expect(got).toEqual(cases);
  const fresh = createIgnoreMatcher(init);
  const inDir = cases.map(([path, isDir]) => [path, isDir, fresh.inDir(parentOf(path)).isIgnored(path.slice(path.lastIndexOf('/') + 1), path, isDir)]);
  expect(inDir).toEqual(cases);
}

const skiffignore = (text: string) => ({ name: '.skiffignore' as const, text });

describe('defaults', () => {
  it('keeps the default list documented and stable', () => {
    expect(DEFAULT_IGNORE_PATTERNS).toEqual(['.git', '.skiff/', '.odo/', '*.swp', '*.swo', '*~', '.#*', '4913', '.skiff-tmp-*']);
  });

  it.each<Case>([
    ['.git', true, true],
    ['.git', false, true], // the .git file of a submodule or worktree
    ['.git/config', false, true],
    ['vendor/lib/.git', true, true],
    ['.skiff', true, true],
    ['.skiff/index.json', false, true],
    ['.odo', true, true],
    ['.odo/env/env.yaml', false, true],
    ['src/.main.ts.swp', false, true],
    ['.main.ts.swo', false, true],
    ['notes.txt~', false, true],
    ['src/.#main.ts', false, true],
    ['src/4913', false, true],
    ['data.tmp', false, false],
    ['src/main.ts', false, false],
    ['.gitignore', false, false],
    ['.github', true, false],
    ['.odo', false, false], // .odo/ is directories only
  ])('%s (dir: %s) ignored: %s', (path, isDir, ignored) => {
    check({}, [[path, isDir, ignored]]);
  });

  it('the root ignore file can re-include a default', () => {
    check({ rootIgnore: skiffignore('!*.swp\n!.git/\n') }, [
      ['a.swp', false, false],
      ['.git', true, false],
      ['.git/HEAD', false, false],
    ]);
  });

  it('a .gitignore can re-include a default too (it is a later layer)', () => {
    check({ gitignores: { '': '!*~\n' } }, [['backup~', false, false]]);
  });

  it('the root .skiff can never be re-included (it holds the index)', () => {
    check({ rootIgnore: skiffignore('!.skiff/\n!.skiff\n!*\n'), gitignores: { '': '!.skiff/\n' } }, [
      ['.skiff', true, true],
      ['.skiff/index.json', false, true],
      ['sub/.skiff', true, false],
    ]);
  });
});

describe('a .gitignore', () => {
  it.each<[string, Case[]]>([
    ['*.log\n!keep.log\n', [['a.log', false, true], ['keep.log', false, false], ['src/b.log', false, true], ['src/keep.log', false, false]]],
    ['target/\n', [['target', true, true], ['target', false, false], ['src/target', true, true], ['target/x.rs', false, true]]],
    ['/build\n', [['build', true, true], ['build', false, true], ['src/build', true, false], ['build/out.js', false, true]]],
    ['docs/*.md\n', [['docs/a.md', false, true], ['docs/sub/a.md', false, false], ['x/docs/a.md', false, false]]],
    ['a/**/b\n', [['a/b', false, true], ['a/x/y/b', true, true], ['a/c', false, false]]],
    ['cache/*\n!cache/keep\n', [['cache', true, false], ['cache/a', false, true], ['cache/keep', false, false]]],
    ['out/\n!out/keep.txt\n', [['out/keep.txt', false, true], ['out/a', false, true]]],
    ['# comment\n\\#hash\n\n', [['# comment', false, false], ['#hash', false, true]]],
    ['trailing   \nescaped\\ \n', [['trailing', false, true], ['escaped ', false, true], ['escaped', false, false]]],
    ['\uFEFFfirst\r\nsecond\r\n', [['first', false, true], ['second', false, true]]],
    ['Build\n', [['build', false, false], ['Build', false, true]]],
    ['with space.txt\n', [['with space.txt', false, true], ['dir/with space.txt', false, true]]],
    ['*.txt\n', [['ünïcødé.txt', false, true], ['ünïcødé.md', false, false]]],
  ])('%j', (text, cases) => {
    check({ gitignores: { '': text } }, cases);
  });

  it('applies to its own subtree, with patterns relative to its directory', () => {
    check({ gitignores: { sub: '/local\nbuild\ndeep/\na/b\n' } }, [
      ['local', true, false],
      ['sub/local', true, true],
      ['sub/x/local', true, false],
      ['build', true, false],
      ['sub/build', true, true],
      ['sub/x/build', false, true],
      ['sub/deep', true, true],
      ['sub/deep', false, false],
      ['sub/a/b', false, true],
      ['sub/x/a/b', false, false],
      ['sub', true, false],
    ]);
  });

  it('a deeper .gitignore overrides a shallower one', () => {
    check({ gitignores: { '': '*.log\nex/\n', sub: '!debug.log\n!ex/\n', 'sub/deeper': '*.log\n' } }, [
      ['debug.log', false, true],
      ['sub/debug.log', false, false],
      ['sub/other.log', false, true],
      ['sub/deeper/debug.log', false, true],
      ['ex', true, true],
      ['sub/ex', true, false],
      ['sub/ex/file', false, false],
    ]);
  });

  it('does not apply to the directory that holds it', () => {
    check({ gitignores: { sub: 'sub\n' } }, [
      ['sub', true, false],
      ['sub/sub', true, true],
    ]);
  });

  it('cannot re-include below an ignored directory, even from deeper', () => {
    check({ gitignores: { '': 'vendor/\n', vendor: '!*\n' } }, [
      ['vendor', true, true],
      ['vendor/a.js', false, true],
    ]);
  });
});

describe('the root ignore file', () => {
  it('applies last: its negations re-include what a .gitignore excluded', () => {
    check({ gitignores: { '': 'dist/\n.env\n*.map\n', src: '*.gen.ts\n' }, rootIgnore: skiffignore('!dist/\n!.env\n!src/*.gen.ts\n') }, [
      ['dist', true, false],
      ['dist/app.js', false, false],
      ['dist/app.js.map', false, true], // the .gitignore still speaks for the files themselves
      ['.env', false, false],
      ['src/a.gen.ts', false, false],
    ]);
  });

  it('adds exclusions of its own, anchored at the root', () => {
    check({ rootIgnore: skiffignore('secrets/\n/README.md\n') }, [
      ['secrets', true, true],
      ['app/secrets/key', false, true],
      ['README.md', false, true],
      ['docs/README.md', false, false],
    ]);
  });

  it('can be replaced and removed', () => {
    const m = createIgnoreMatcher({ rootIgnore: skiffignore('*.js\n') });
    expect(m.isIgnored('a.js', false)).toBe(true);
    m.setRootIgnore({ name: '.odoignore', text: '*.ts\n' });
    expect([m.isIgnored('a.js', false), m.isIgnored('a.ts', false)]).toEqual([false, true]);
    m.setRootIgnore(null);
    expect(m.isIgnored('a.ts', false)).toBe(false);
    expect(m.rootIgnore).toBeNull();
  });
});

describe('IgnoreMatcher updates', () => {
  it('adds, replaces and removes a directory .gitignore, forgetting stale verdicts', () => {
    const m = createIgnoreMatcher();
    expect(m.isIgnored('sub/x/a.log', false)).toBe(false);
    expect(m.addGitignore('sub', 'x/\n')).toBe(true);
    expect(m.isIgnored('sub/x/a.log', false)).toBe(true);
    expect(m.addGitignore('sub', 'x/\n')).toBe(false); // unchanged text
    expect(m.addGitignore('sub', '*.log\n')).toBe(true);
    expect([m.isIgnored('sub/x', true), m.isIgnored('sub/x/a.log', false)]).toEqual([false, true]);
    expect(m.gitignoreDirs).toEqual(['sub']);
    expect(m.removeGitignore('sub')).toBe(true);
    expect(m.removeGitignore('sub')).toBe(false);
    expect(m.isIgnored('sub/x/a.log', false)).toBe(false);
  });

  it('keeps answering right past the point where layers recompile', () => {
    const m = createIgnoreMatcher({ gitignores: { '': '*.log\n/build\n' } });
    const n = LAYER_TESTS_BEFORE_RECOMPILE + 1000;
    let ignored = 0;
    for (let i = 0; i < n; i++) if (m.isIgnored(`d${i % 97}/f${i}.${i % 2 ? 'log' : 'ts'}`, false)) ignored++;
    expect(ignored).toBe(n / 2);
    expect(m.isIgnored('build', true)).toBe(true);
  });

  it('the rules of a directory follow the rule files read after they were made', () => {
    const matcher = createIgnoreMatcher();
    const rules = matcher.inDir('sub');
    expect(rules.isIgnored('a.log', 'sub/a.log', false)).toBe(false);
    matcher.addGitignore('sub', '*.log\n');
    expect(rules.isIgnored('a.log', 'sub/a.log', false)).toBe(true);
    matcher.addGitignore('', 'sub/\n');
    expect(rules.isIgnored('b.txt', 'sub/b.txt', false)).toBe(true);
    matcher.removeGitignore('');
    matcher.removeGitignore('sub');
    expect(rules.isIgnored('a.log', 'sub/a.log', false)).toBe(false);
  });

  it('never ignores the root', () => {
    expect(createIgnoreMatcher({ rootIgnore: skiffignore('*\n') }).isIgnored('', true)).toBe(false);
  });
});

describe('asDirectoryPattern', () => {
  it.each([
    ['target/', 'target'],
    ['!target/', '!target'],
    ['a/b/  ', 'a/b'],
    ['target', 'target'],
    ['/', '/'],
    ['!/', '!/'],
    ['# dir/', '# dir/'],
    ['**/', '**'],
    ['x\\ /', 'x\\ '],
  ])('%j -> %j', (line, expected) => {
    expect(asDirectoryPattern(line)).toBe(expected);
  });
});

describe('loading from disk', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  async function fixture(files: Record<string, string>): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'skiff-ignore-'));
    dirs.push(root);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), text);
    }
    return root;
  }

  it.each<[string[], string | null]>([
    [[], null],
    [['.cfignore'], '.cfignore'],
    [['.kfignore', '.cfignore'], '.kfignore'],
    [['.odoignore', '.kfignore', '.cfignore'], '.odoignore'],
    [['.skiffignore', '.odoignore', '.kfignore', '.cfignore'], '.skiffignore'],
    [['.skiffignore', '.cfignore'], '.skiffignore'],
  ])('root ignore files %j: %s wins', async (names, winner) => {
    const root = await fixture(Object.fromEntries(names.map((n) => [n, `from ${n}\n`])));
    const found = await readRootIgnore(root);
    expect(found?.name ?? null).toBe(winner);
    if (winner) expect(found?.text).toBe(`from ${winner}\n`);
  });

  it('reads every .gitignore outside ignored directories, and the root ignore file', async () => {
    const root = await fixture({
      '.gitignore': 'vendor/\n*.log\n',
      '.odoignore': '!keep.log\n',
      'src/.gitignore': '/gen\n',
      'src/a/b/.gitignore': '*.tmp\n',
      'vendor/.gitignore': '!*\n',
      'vendor/lib/.gitignore': '!*\n',
      'src/gen/x.ts': '',
    });
    const m = await loadIgnoreMatcher(root);
    expect(m.gitignoreDirs).toEqual(['', 'src', 'src/a/b']);
    expect(m.rootIgnore?.name).toBe('.odoignore');
    expect(m.isIgnored('src/gen', true)).toBe(true);
    expect(m.isIgnored('src/a/b/c.tmp', false)).toBe(true);
    expect(m.isIgnored('keep.log', false)).toBe(false);
    expect(m.isIgnored('vendor/lib/x.js', false)).toBe(true);
  });

  it('rejects with SKIFF_E_IO when the root cannot be listed', async () => {
    await expect(loadIgnoreMatcher(join(tmpdir(), 'skiff-no-such-dir-' + process.pid))).rejects.toMatchObject({
      code: 'SKIFF_E_IO',
    });
  });

  const hasGit = (() => {
    try {
      execFileSync('git', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  /** Files a walk driven by `m` keeps: descend directories that are not ignored. */
  async function keptFiles(root: string, m: IgnoreMatcher, dir = ''): Promise<string[]> {
    const out: string[] = [];
    for (const d of await readdir(join(root, dir), { withFileTypes: true })) {
      const rel = dir === '' ? d.name : `${dir}/${d.name}`;
      if (m.isIgnored(rel, d.isDirectory())) continue;
      if (d.isDirectory()) out.push(...(await keptFiles(root, m, rel)));
      else out.push(rel);
    }
    return out;
  }

  it.skipIf(!hasGit)('agrees with git on which files a tree of .gitignore files keeps', async () => {
    const root = await fixture({
      '.gitignore': [
        '*.log',
        '!keep.log',
        '/build',
        'target/',
        'docs/**/*.out',
        'node_modules',
        '# a comment',
        '\\#hash',
        'trailing   ',
        'cache/*',
        '!cache/keep',
        'a/**/b',
        'ex/',
        'out/',
        '!out/keep.txt',
        'vendor/',
        '',
      ].join('\n'),
      'app.log': '', 'keep.log': '', 'src/app.log': '', 'src/keep.log': '', 'with space.log': '',
      'build/out.js': '', 'src/build/out.js': '',
      'target/x': '', 'src/target': '',
      'docs/a/b/c.out': '', 'docs/c.out': '', 'docs/c.md': '',
      'node_modules/x/index.js': '', 'src/node_modules': '',
      '#hash': '', '# a comment': '', trailing: '',
      'cache/a': '', 'cache/keep': '',
      'a/b': '', 'a/x/y/b/file': '', 'a/c': '',
      'sub/.gitignore': '/local\n!*.log\nbuild\ndeep/\n!ex/\n',
      'sub/local/x': '', 'sub/x/local': '', 'sub/debug.log': '', 'sub/x/build/y': '', 'sub/deep/z': '', 'sub/deep2': '',
      'sub/ex/kept': '', 'ex/gone': '',
      'out/keep.txt': '', 'out/a': '',
      'logs/.gitignore': '*\n!.gitignore\n', 'logs/today.txt': '',
      'vendor/.gitignore': '!*\n', 'vendor/lib.js': '',
      'ünï/cødé.txt': '',
    });
    execFileSync('git', ['init', '-q'], { cwd: root });
    const fromGit = execFileSync('git', ['-c', 'core.excludesFile=/dev/null', '-c', 'core.quotePath=false', 'ls-files', '-z', '--others', '--exclude-standard'], { cwd: root })
      .toString('utf8')
      .split('\0')
      .filter(Boolean)
      .sort();
    const ours = (await keptFiles(root, await loadIgnoreMatcher(root))).sort();
    expect(ours).toEqual(fromGit);
    expect(ours).toContain('sub/ex/kept');
    expect(ours).not.toContain('out/keep.txt');
  });
});
