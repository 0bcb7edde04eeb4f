import { execFileSync, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, loadHasher, type Hasher } from '@skiff/protocol';
import { loadRawStatDirs } from '@skiff/agent/stat-dir';
import { loadVerifySaved, SavedRule } from '@skiff/agent/verify-saved';
import { peerCredAddonCandidates } from '../src/control/peer-cred.ts';
import { loadIgnoreMatcher } from '../src/ignore/index.ts';
import { HASH_CHUNK_BYTES, hashFile, hashFileSync, scanTree, type IndexEntry } from '../src/index/index.ts';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await loadHasher();
});

const roots: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  await Promise.all(roots.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Whether the addon's pool lister (lstatDirs) is built here, as the scan looks for it. */
const hasPoolLister = () => loadRawStatDirs(peerCredAddonCandidates()) !== null;

async function tempRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'skiff-scan-'));
  roots.push(root);
  return root;
}

/** Writes files (string or bytes) and creates directories (a path ending in '/'). */
async function fixture(root: string, layout: Record<string, string | Uint8Array>): Promise<void> {
  for (const [path, content] of Object.entries(layout)) {
    if (path.endsWith('/')) {
      await mkdir(join(root, path), { recursive: true });
    } else {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), content);
    }
  }
}

function bytes(n: number): Buffer {
  return randomFillSync(Buffer.alloc(n));
}

const sortedKeys = (m: Map<string, unknown>) => [...m.keys()].sort();

describe('hashFile', () => {
  it.each([
    ['empty', 0],
    ['small', 1000],
    ['exactly one chunk', HASH_CHUNK_BYTES],
    ['one chunk and a byte', HASH_CHUNK_BYTES + 1],
    ['several chunks', 3 * HASH_CHUNK_BYTES + 12_345],
  ])('%s: xxhash64 of the content, streamed or not', async (_name, size) => {
    const root = await tempRoot();
    const content = bytes(size);
    await writeFile(join(root, 'f'), content);
    const expected = { hash: hasher.h64Bytes(content), size };
    expect(await hashFile(join(root, 'f'), hasher)).toEqual(expected);
    expect(await hashFile(join(root, 'f'), hasher, { expectedSize: size })).toEqual(expected);
    expect(hashFileSync(join(root, 'f'), hasher, Buffer.allocUnsafe(HASH_CHUNK_BYTES), size)).toEqual(expected);
  });

  it('rejects with SKIFF_E_IO, keeping the errno error as cause', async () => {
    const root = await tempRoot();
    await expect(hashFile(join(root, 'missing'), hasher)).rejects.toMatchObject({
      code: ErrorCode.IO,
      cause: expect.objectContaining({ code: 'ENOENT' }),
    });
  });
});

describe('scanTree', () => {
  it('lists files, directories (empty ones too) and their metadata; the root is not an entry', async () => {
    const root = await tempRoot();
    const big = bytes(2 * HASH_CHUNK_BYTES + 7);
    await fixture(root, {
      'a.txt': 'hello',
      'src/main.ts': 'export {};\n',
      'src/deep/er/x.json': '{}',
      'empty/': '',
      'empty-file': '',
      'big.bin': big,
      'run.sh': '#!/bin/sh\n',
    });
    await chmod(join(root, 'run.sh'), 0o755);
    await chmod(join(root, 'a.txt'), 0o600);
    const { entries, problems, hashed, reused, bytesHashed } = await scanTree(root);

    expect(problems).toEqual([]);
    expect(sortedKeys(entries)).toEqual([
      'a.txt', 'big.bin', 'empty', 'empty-file', 'run.sh', 'src', 'src/deep', 'src/deep/er', 'src/deep/er/x.json', 'src/main.ts',
    ]);
    const st = await lstat(join(root, 'a.txt'));
    expect(entries.get('a.txt')).toEqual({
      path: 'a.txt', type: 'file', size: 5, mtime: st.mtimeMs, mode: 0o600, hash: hasher.h64('hello'), ino: st.ino,
    });
    expect(entries.get('run.sh')?.mode).toBe(0o755);
    expect(entries.get('big.bin')).toMatchObject({ size: big.length, hash: hasher.h64Bytes(big) });
    expect(entries.get('empty-file')).toMatchObject({ size: 0, hash: hasher.h64Bytes(new Uint8Array()) });
    expect(entries.get('empty')).toMatchObject({ type: 'dir', size: 0, hash: '' });
    expect(entries.get('src/deep/er')?.type).toBe('dir');
    expect([hashed, reused]).toEqual([6, 0]);
    expect(bytesHashed).toBe(5 + 11 + 2 + 0 + big.length + 10);
  });

  it('keeps the hash of a file whose size, mtime and inode are unchanged, without reading it', async () => {
    const root = await tempRoot();
    const SECONDS = 1_700_000_000;
    await fixture(root, { 'same.txt': 'aaaa', 'touched.txt': 'bbbb', 'edited.txt': 'cccc', 'big.bin': bytes(HASH_CHUNK_BYTES * 2) });
    for (const f of ['same.txt', 'touched.txt', 'edited.txt']) await utimes(join(root, f), SECONDS, SECONDS);
    const first = await scanTree(root);
    expect(first.hashed).toBe(4);

    // Same size, same mtime, same inode, other content: the index cannot tell, by design.
    await writeFile(join(root, 'same.txt'), 'zzzz');
    await utimes(join(root, 'same.txt'), SECONDS, SECONDS);
    await utimes(join(root, 'touched.txt'), SECONDS + 1, SECONDS + 1);
    await writeFile(join(root, 'edited.txt'), 'ccccc');
    await utimes(join(root, 'edited.txt'), SECONDS, SECONDS);

    const second = await scanTree(root, { previous: first.entries });
    expect([second.hashed, second.reused]).toEqual([2, 2]);
    expect(second.entries.get('same.txt')?.hash).toBe(hasher.h64('aaaa')); // reused: never read
    expect(second.entries.get('touched.txt')?.hash).toBe(hasher.h64('bbbb'));
    expect(second.entries.get('touched.txt')?.mtime).toBe((SECONDS + 1) * 1000);
    expect(second.entries.get('edited.txt')?.hash).toBe(hasher.h64('ccccc'));
    expect(second.bytesHashed).toBe(4 + 5);
  });

  it('counts the entries it kept as the previous objects, and the files it left unread', async () => {
    const root = await tempRoot();
    await fixture(root, { 'a.txt': 'aaaa', 'd/b.txt': 'bbbb' });
    const first = await scanTree(root, { deferHash: true });
    expect([first.kept, first.deferred]).toEqual([0, 2]);
    const second = await scanTree(root, { previous: first.entries, deferHash: true });
    // Unread files are not kept: the next scan must still hash them.
    expect([second.kept, second.deferred]).toEqual([1, 2]);
    const hashed = await scanTree(root);
    const third = await scanTree(root, { previous: hashed.entries, deferHash: true });
    expect([third.kept, third.deferred, third.entries.size]).toEqual([3, 0, 3]);
    for (const [path, entry] of third.entries) expect(entry).toBe(hashed.entries.get(path));
    await writeFile(join(root, 'd/b.txt'), 'bbbbb');
    const fourth = await scanTree(root, { previous: third.entries, deferHash: true });
    // The file and, its mtime moved or not, maybe its directory.
    expect(fourth.deferred).toBe(1);
    expect(fourth.kept).toBeLessThanOrEqual(2);
    expect(fourth.entries.get('a.txt')).toBe(third.entries.get('a.txt'));
  });

  it('hands every entry over once, each directory before what is under it, ignored paths and problems never', async () => {
    const root = await tempRoot();
    const layout: Record<string, string> = { '.gitignore': 'build/\n*.log\n', 'build/out.o': 'x', 'top.txt': 't', 'skip.log': 'l' };
    // One directory over the hand-over size, so it comes in more than one part.
    for (let i = 0; i < 700; i++) layout[`big/f${i}.txt`] = `${i}`;
    for (let d = 0; d < 5; d++) for (let i = 0; i < 3; i++) layout[`d${d}/sub/f${i}.txt`] = `${d}${i}`;
    await fixture(root, layout);
    await mkdir(join(root, 'd0/sub/nested'));
    const fifo = join(root, 'd1/pipe');
    execFileSync('mkfifo', [fifo]);
    const parts: IndexEntry[][] = [];
    const scan = await scanTree(root, { deferHash: true, onEntries: (part) => void parts.push([...part]) });
    const handed = parts.flat();
    expect(parts.length).toBeGreaterThan(2);
    expect(handed.map((e) => e.path).sort()).toEqual([...scan.entries.keys()].sort());
    expect(new Set(handed.map((e) => e.path)).size).toBe(handed.length);
    for (const e of handed) expect(e).toBe(scan.entries.get(e.path));
    const at = new Map(handed.map((e, i) => [e.path, i]));
    for (const e of handed) {
      const slash = e.path.lastIndexOf('/');
      if (slash > 0) expect(at.get(e.path.slice(0, slash))).toBeLessThan(at.get(e.path)!);
    }
    expect(at.has('build')).toBe(false);
    expect(at.has('skip.log')).toBe(false);
    expect(at.has('d1/pipe')).toBe(false);
    expect(scan.problems.map((p) => p.path)).toEqual(['d1/pipe']);
  });

  it('asks listAhead before each directory until it says yes, and finds the same tree whatever it answers', async () => {
    const root = await tempRoot();
    const layout: Record<string, string> = { 'top.txt': 't' };
    for (let d = 0; d < 6; d++) for (let i = 0; i < 2; i++) layout[`d${d}/s${i}/f.txt`] = `${d}${i}`;
    await fixture(root, layout);
    const paths = async (listAhead?: () => boolean) => [...(await scanTree(root, { listAhead })).entries.keys()].sort();
    const whole = await paths();
    expect(whole).toHaveLength(1 + 6 * (1 + 2 * 2));
    expect(await paths(() => false)).toEqual(whole);
    let asked = 0;
    expect(await paths(() => ++asked > 3)).toEqual(whole);
    // Without the addon's pool lister there is nothing to ask about.
    expect(asked).toBe(hasPoolLister() ? 4 : 0);
  });

  it('refuses onEntries without deferHash', async () => {
    await expect(scanTree(await tempRoot(), { onEntries: () => undefined })).rejects.toThrow(/deferHash/);
  });

  it('re-hashes a file whose inode changed, and takes a new mode without re-hashing', async () => {
    const root = await tempRoot();
    await fixture(root, { 'a.txt': 'aaaa', 'b.txt': 'bbbb' });
    const first = await scanTree(root);
    const previous = new Map<string, IndexEntry>(first.entries);
    previous.set('a.txt', { ...first.entries.get('a.txt')!, ino: first.entries.get('a.txt')!.ino + 1, hash: '0000000000000000' });
    await chmod(join(root, 'b.txt'), 0o700);
    const second = await scanTree(root, { previous });
    expect([second.hashed, second.reused]).toEqual([1, 1]);
    expect(second.entries.get('a.txt')?.hash).toBe(hasher.h64('aaaa'));
    expect(second.entries.get('b.txt')?.mode).toBe(0o700);
  });

  it('handles unicode and spaces in names', async () => {
    const root = await tempRoot();
    const names = ['ünïcødé файл.txt', 'with space/a b.txt', '日本語/ファイル', 'emoji 🚀.md', ' leading', 'trailing '];
    await fixture(root, Object.fromEntries(names.map((n) => [n, n])));
    const { entries, problems } = await scanTree(root);
    expect(problems).toEqual([]);
    for (const n of names) expect(entries.get(n)?.hash).toBe(hasher.h64(n));
    expect(entries.get('with space')?.type).toBe('dir');
  });

  it('keeps symlinks that stay inside the tree and reports the others', async () => {
    const root = await tempRoot();
    await fixture(root, { 'target.txt': 't', 'sub/dir/': '', 'sub/file': 'f' });
    await symlink('target.txt', join(root, 'rel'));
    await symlink('../target.txt', join(root, 'sub/up'));
    await symlink('dir', join(root, 'sub/to-dir'));
    await symlink('does-not-exist', join(root, 'dangling'));
    await symlink('.', join(root, 'sub/self'));
    await symlink('../../outside', join(root, 'sub/escape'));
    await symlink('..', join(root, 'parent'));
    await symlink('/etc/passwd', join(root, 'absolute'));
    const { entries, problems } = await scanTree(root);

    expect(entries.get('rel')).toMatchObject({ type: 'symlink', target: 'target.txt', size: 10, hash: '' });
    expect(entries.get('sub/up')?.target).toBe('../target.txt');
    expect(entries.get('sub/to-dir')?.type).toBe('symlink'); // never followed
    expect(entries.get('dangling')?.target).toBe('does-not-exist');
    expect(entries.get('sub/self')?.target).toBe('.');
    for (const p of ['sub/escape', 'parent', 'absolute']) expect(entries.has(p)).toBe(false);
    expect(problems.map((p) => [p.path, p.code]).sort()).toEqual([
      ['absolute', ErrorCode.SYMLINK_ESCAPE],
      ['parent', ErrorCode.SYMLINK_ESCAPE],
      ['sub/escape', ErrorCode.SYMLINK_ESCAPE],
    ]);
    expect(problems.every((p) => p.message.length > 0)).toBe(true);
  });

  it('reports FIFOs and sockets as unsupported and leaves them out', async () => {
    const root = await tempRoot();
    await fixture(root, { 'ok.txt': 'ok' });
    execFileSync('mkfifo', [join(root, 'fifo')]);
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(join(root, 'sock'), resolve));
    const { entries, problems } = await scanTree(root);
    expect(sortedKeys(entries)).toEqual(['ok.txt']);
    expect(problems.map((p) => [p.path, p.code]).sort()).toEqual([
      ['fifo', ErrorCode.UNSUPPORTED_FILE],
      ['sock', ErrorCode.UNSUPPORTED_FILE],
    ]);
  });

  it('reports names the wire refuses, with the path rule code', async () => {
    const root = await tempRoot();
    await fixture(root, { 'back\\slash': 'x', 'c:top': 'x', 'sub/c:nested': 'x', 'fine.txt': 'x' });
    const { entries, problems } = await scanTree(root);
    expect(sortedKeys(entries)).toEqual(['fine.txt', 'sub', 'sub/c:nested']);
    expect(problems.map((p) => [p.path, p.code]).sort()).toEqual([
      ['back\\slash', ErrorCode.PATH_NOT_NORMALISED],
      ['c:top', ErrorCode.PATH_ABSOLUTE],
    ]);
  });

  it('leaves ignored paths out without looking inside them', async () => {
    const root = await tempRoot();
    await fixture(root, {
      '.gitignore': 'node_modules/\n*.log\ndist/\n',
      '.skiffignore': '!dist/\n',
      '.git/HEAD': 'ref',
      '.skiff/index.json': '{}',
      'app.log': '',
      'main.ts': '',
      '.main.ts.swp': '',
      'node_modules/x/index.js': '',
      'dist/app.js': '',
      'dist/app.log': '',
      'pkg/.gitignore': '/out\n!*.log\n',
      'pkg/out/x': '',
      'pkg/debug.log': '',
      'pkg/src/out': '',
    });
    // Inside ignored directories: things that would be problems if they were looked at.
    execFileSync('mkfifo', [join(root, 'node_modules/fifo')]);
    await symlink('/etc', join(root, 'node_modules/escape'));
    await symlink('/etc', join(root, 'app.log.link.log'));
    const { entries, problems } = await scanTree(root);
    expect(problems).toEqual([]);
    expect(sortedKeys(entries)).toEqual([
      '.gitignore', '.skiffignore', 'dist', 'dist/app.js', 'main.ts', 'pkg', 'pkg/.gitignore', 'pkg/debug.log', 'pkg/src', 'pkg/src/out',
    ]);
  });

  it('brings a given matcher up to date with the ignore files it reads', async () => {
    const root = await tempRoot();
    await fixture(root, { '.gitignore': '*.a\n', 'sub/.gitignore': '*.b\n', 'x.a': '', 'x.b': '', 'sub/x.b': '', 'sub/x.c': '' });
    const matcher = await loadIgnoreMatcher(root);
    expect(sortedKeys((await scanTree(root, { matcher })).entries)).toEqual(['.gitignore', 'sub', 'sub/.gitignore', 'sub/x.c', 'x.b']);
    await writeFile(join(root, 'sub/.gitignore'), '*.c\n');
    await rm(join(root, '.gitignore'));
    await writeFile(join(root, '.cfignore'), 'x.b\n');
    const result = await scanTree(root, { matcher });
    expect(result.matcher).toBe(matcher);
    expect(sortedKeys(result.entries)).toEqual(['.cfignore', 'sub', 'sub/.gitignore', 'x.a']);
    expect(matcher.isIgnored('sub/y.c', false)).toBe(true);
    expect(matcher.rootIgnore?.name).toBe('.cfignore');
  });

  it('survives files vanishing while it walks', async () => {
    const root = await tempRoot();
    const layout: Record<string, string> = {};
    for (let d = 0; d < 40; d++) for (let f = 0; f < 60; f++) layout[`churn/d${d}/f${f}.txt`] = `${d}/${f}`;
    layout['stable.txt'] = 'stable';
    await fixture(root, layout);
    const remover = spawn('rm', ['-rf', join(root, 'churn')], { stdio: 'ignore' });
    const exited = new Promise((resolve) => remover.on('exit', resolve));
    const result = await scanTree(root);
    await exited;
    expect(result.problems).toEqual([]);
    expect(result.entries.get('stable.txt')?.hash).toBe(hasher.h64('stable'));
    for (const e of result.entries.values()) {
      if (e.type === 'file' && e.path !== 'stable.txt') expect(e.hash).toBe(hasher.h64(e.path.replace(/^churn\/d(\d+)\/f(\d+)\.txt$/, '$1/$2')));
    }
  });

  it('rejects with SKIFF_E_IO when the root cannot be read', async () => {
    const root = await tempRoot();
    await fixture(root, { file: 'x' });
    await expect(scanTree(join(root, 'missing'))).rejects.toMatchObject({ code: ErrorCode.IO });
    await expect(scanTree(join(root, 'file'))).rejects.toMatchObject({ code: ErrorCode.IO });
  });
});

describe('scanTree walked by the addon (nativeWalk)', () => {
  /** A scan as the JavaScript walk makes it and as the addon's does, each with fresh rules from the files. */
  async function both(root: string, previous: Map<string, IndexEntry>, deferHash: boolean) {
    const run = async (nativeWalk: boolean) => {
      const parts: IndexEntry[][] = [];
      const onEntries = deferHash ? (part: IndexEntry[]) => void parts.push([...part]) : undefined;
      const scan = await scanTree(root, { matcher: await loadIgnoreMatcher(root), previous, hasher, deferHash, nativeWalk, onEntries });
      return { scan, handed: parts.flat() };
    };
    return { js: await run(false), native: await run(true) };
  }

  /** Same entries (the very previous objects where kept), problems, counts; handed over once each, a directory before what is in it. */
  function expectSame({ js, native }: Awaited<ReturnType<typeof both>>, previous: Map<string, IndexEntry>) {
    expect(native.scan.walkedNatively).toBe(true);
    expect(js.scan.walkedNatively).toBe(false);
    const sorted = (m: Map<string, IndexEntry>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    expect(sorted(native.scan.entries)).toEqual(sorted(js.scan.entries));
    for (const [path, entry] of native.scan.entries) {
      if (js.scan.entries.get(path) === previous.get(path)) expect(entry).toBe(previous.get(path));
    }
    const problems = (p: { path: string; code: string }[]) => p.map((x) => `${x.path} ${x.code}`).sort();
    expect(problems(native.scan.problems)).toEqual(problems(js.scan.problems));
    const counts = (s: typeof js.scan) => [s.kept, s.reused, s.hashed, s.deferred];
    expect(counts(native.scan)).toEqual(counts(js.scan));
    if (native.handed.length > 0 || js.handed.length > 0) {
      expect(native.handed.map((e) => e.path).sort()).toEqual([...native.scan.entries.keys()].sort());
      const at = new Map(native.handed.map((e, i) => [e.path, i]));
      expect(at.size).toBe(native.handed.length);
      for (const e of native.handed) {
        const slash = e.path.lastIndexOf('/');
        if (slash > 0) expect(at.get(e.path.slice(0, slash))).toBeLessThan(at.get(e.path)!);
      }
    }
  }

  const LAYOUT = {
    '.gitignore': 'build/\n*.log\n',
    'top.txt': 'top',
    'skip.log': 'log',
    'build/out.o': 'o',
    'src/a.ts': 'a',
    'src/b.ts': 'b',
    'src/lib/c.ts': 'c',
    'src/lib/deep/d.ts': 'd',
    'docs/readme.md': 'r',
    'docs/old/x.md': 'x',
    'mode.sh': 'sh',
    'empty/': '',
  };

  it('is there wherever the addon is built (else the comparisons below would walk in JavaScript twice)', () => {
    expect(loadVerifySaved(peerCredAddonCandidates())).not.toBeNull();
  });

  it.each([true, false])('finds what the JavaScript walk finds with nothing changed, and with every kind of change (deferHash %s)', async (deferHash) => {
    const root = await tempRoot();
    await fixture(root, LAYOUT);
    await symlink('top.txt', join(root, 'src/link'));
    const previous = (await scanTree(root)).entries;
    expectSame(await both(root, previous, deferHash), previous);

    await writeFile(join(root, 'src/a.ts'), 'A');
    await utimes(join(root, 'src/b.ts'), new Date(), new Date(1_000_000));
    await chmod(join(root, 'mode.sh'), 0o755);
    await rm(join(root, 'docs/old'), { recursive: true });
    await mkdir(join(root, 'src/lib/deep/new/er'), { recursive: true });
    await writeFile(join(root, 'src/lib/deep/new/er/e.ts'), 'e');
    await writeFile(join(root, 'src/added.ts'), 'added');
    await fixture(root, { 'fresh/one/f.ts': 'f', 'fresh/two/': '' });
    await rm(join(root, 'src/link'));
    await symlink('src/a.ts', join(root, 'src/link'));
    await symlink('/etc', join(root, 'src/escape'));
    execFileSync('mkfifo', [join(root, 'src/lib/pipe')]);
    await writeFile(join(root, 'src/back\\slash.ts'), 'not a wire path');
    await writeFile(Buffer.concat([Buffer.from(`${root}/docs/`), Buffer.from([0xff, 0x41])]), 'not UTF-8');
    await rm(join(root, 'src/lib/c.ts'));
    await mkdir(join(root, 'src/lib/c.ts'));
    expectSame(await both(root, previous, deferHash), previous);
  });

  it('applies the rules in force now to what the index held: a .gitignore added, edited, removed or no longer a file, a root ignore file added', async () => {
    const root = await tempRoot();
    await fixture(root, { ...LAYOUT, 'src/.gitignore': '*.tmp\n', 'src/z.tmp': 'z', 'docs/.gitignore': '' });
    const previous = (await scanTree(root)).entries;
    expect(previous.has('src/z.tmp')).toBe(false);

    await writeFile(join(root, 'src/lib/.gitignore'), 'deep/\n');
    // Changed as well as ignored now: the addon goes into it (it is the index's), none of it may stay.
    await writeFile(join(root, 'src/lib/deep/new.ts'), 'n');
    await writeFile(join(root, '.gitignore'), '*.log\n');
    await rm(join(root, 'src/.gitignore'));
    await rm(join(root, 'docs/.gitignore'));
    await mkdir(join(root, 'docs/.gitignore'));
    const changed = await both(root, previous, true);
    expectSame(changed, previous);
    const paths = [...changed.native.scan.entries.keys()];
    expect(paths).toContain('build/out.o');
    expect(paths).toContain('src/z.tmp');
    expect(paths).not.toContain('src/lib/deep');
    expect(paths).not.toContain('src/lib/deep/d.ts');

    await writeFile(join(root, '.skiffignore'), 'src/\n');
    const rooted = await both(root, previous, true);
    expectSame(rooted, previous);
    expect([...rooted.native.scan.entries.keys()].filter((p) => p.startsWith('src'))).toEqual([]);
  });

  it('declines an index that names a path twice, and the JavaScript walk takes the tree', async () => {
    const verify = loadVerifySaved(peerCredAddonCandidates())!;
    const root = await tempRoot();
    const rows = new Float64Array(20);
    expect(verify(root, Buffer.from('a\0a'), rows, new Uint8Array(2), SavedRule.INDEX)).toBeNull();
  });
});
