import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync, copyFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EntryType, loadHasher, type FileHeader, type Hasher } from '@skiff/protocol';
import { Batch } from '../src/apply/batch.ts';
import { realFs } from '../src/apply/fs-ops.ts';
import { existsSync } from 'node:fs';
import { loadSavedManifest, MANIFEST_SAVE_DELAY_MS, savedOutOfDate, ManifestPersistence, manifestFileFor, rootIdOf, VOUCH_SLICE_PATHS } from '../src/manifest/persist.ts';
import { scanRoot } from '../src/manifest/scan.ts';
import { decodeStatCache, encodeStatCache, RACY_MS, SavedManifest, type CachedEntry } from '../src/manifest/stat-cache.ts';
import { loadVerifySaved } from '../src/native-fs/verify-saved.ts';
import { addonCandidates } from '../src/init/addon.ts';

/*
 * The agent's manifest saved beside its root (manifest/persist.ts): a
 * restart re-stats and reads only what changed, and nothing in the file is
 * believed that an lstat of now does not confirm.
 */

let hasher: Hasher;
let base: string;
let root: string;
let logs: string[];
let nextBatch = 1;

beforeAll(async () => {
  hasher = await loadHasher();
});

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'skiff-persist-'));
  root = join(base, 'root');
  mkdirSync(root);
  logs = [];
});

afterEach(() => {
  chmodSync(base, 0o755);
  rmSync(base, { recursive: true, force: true });
});

const MTIME = 1_700_000_000_000;
const text = (s: string) => new TextEncoder().encode(s);
const log = (line: string) => logs.push(line);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fileHeader(path: string, content: Uint8Array): FileHeader {
  return { batch: 0, path, size: content.length, mode: 0o644, mtime: MTIME, hash: hasher.h64Bytes(content), offset: 0 };
}

/** An agent's start: load what was saved, scan, and keep it saved from here on. */
function start() {
  const file = manifestFileFor(root)!;
  const id = rootIdOf(root);
  const saved = loadSavedManifest(file, id, hasher.h64Bytes, log);
  const scan = scanRoot(root, hasher, saved);
  const persistence = new ManifestPersistence(file, id, scan.manifest, hasher, log);
  persistence.seed(scan.known, saved, savedOutOfDate(scan, saved));
  return { scan, persistence, manifest: scan.manifest };
}

/**
 * A first sync of `files`, staged, written well before its commit, then
 * saved as a timed save does it once the commit has settled (reading back
 * what the lstat alone cannot vouch for), or as at shutdown (reading nothing).
 */
async function firstSync(files: Record<string, string>, readBudget = Infinity) {
  const agent = start();
  const b = new Batch(nextBatch++, root, agent.manifest, realFs, { staged: true });
  for (const [path, content] of Object.entries(files)) b.file(fileHeader(path, text(content)), text(content));
  await sleep(RACY_MS + 20);
  const out = b.commit();
  agent.persistence.committed(out.paths, out.stagedAt ?? null);
  await sleep(RACY_MS + 20);
  agent.persistence.flush(readBudget);
  return agent;
}

const FILES = { 'a.txt': 'alpha', 'src/b.js': 'beta', 'src/deep/c.md': 'gamma' };

describe('the saved manifest', () => {
  it('sits beside the root, outside it', () => {
    expect(manifestFileFor('/srv/app/src')).toBe('/srv/app/.src.skiff-manifest');
    expect(manifestFileFor('/')).toBeNull();
  });

  it('lets a restart read nothing when nothing changed, with the same digest', async () => {
    const first = await firstSync(FILES);
    const again = start();
    expect(again.scan.hashed).toBe(0);
    expect(again.manifest.digest).toBe(first.manifest.digest);
    expect(again.manifest.digest).toBe(scanRoot(root, hasher).manifest.digest);
  });

  it('holds unchanged directories as recorded, and makes again one whose mode or entries changed', async () => {
    await firstSync(FILES);
    const sorted = (m: ReturnType<typeof start>['manifest']) => [...m.entries()].sort((a, b) => (a.path < b.path ? -1 : 1));
    const again = start();
    // Three files and their two directories, all from the saved rows.
    expect(again.scan.matched).toBe(5);
    expect(sorted(again.manifest)).toEqual(sorted(scanRoot(root, hasher).manifest));
    chmodSync(join(root, 'src'), 0o700);
    writeFileSync(join(root, 'src/deep/new.txt'), 'new');
    const changed = start();
    // The three files still; not src (chmod) nor src/deep (an entry added): they are made again from their lstat.
    expect(changed.scan.matched).toBe(3);
    const fresh = scanRoot(root, hasher).manifest;
    expect(sorted(changed.manifest)).toEqual(sorted(fresh));
    expect(changed.manifest.get('src')?.mode).toBe(0o700);
    expect(changed.manifest.digest).toBe(fresh.digest);
  });

  it('lets a restart without the native lister (Node\'s lstat) read nothing too, and hash what changed', async () => {
    const first = await firstSync(FILES);
    const file = manifestFileFor(root)!;
    const saved = () => loadSavedManifest(file, rootIdOf(root), hasher.h64Bytes, log);
    const again = scanRoot(root, hasher, saved(), null);
    expect(again.hashed).toBe(0);
    expect(again.manifest.digest).toBe(first.manifest.digest);
    writeFileSync(join(root, 'src/b.js'), 'BETA!');
    const changed = scanRoot(root, hasher, saved(), null);
    expect(changed.hashed).toBe(1);
    expect(changed.manifest.digest).toBe(scanRoot(root, hasher).manifest.digest);
  });

  it('saved at shutdown, it vouches for what the stage proves and leaves the rest (a top-level file, renamed at commit) to the next start', async () => {
    await firstSync(FILES, 0);
    expect(start().scan.hashed).toBe(1);
  });

  it('hashes again a file changed behind its back, even at the same size with its mtime put back', async () => {
    const first = await firstSync(FILES);
    const path = join(root, 'src/b.js');
    const before = statSync(path);
    writeFileSync(path, 'BETA');
    utimesSync(path, before.atime, before.mtime);
    const again = start();
    expect(again.scan.hashed).toBe(1);
    expect(again.manifest.get('src/b.js')?.hash).toBe(hasher.h64Bytes(text('BETA')));
    expect(again.manifest.digest).not.toBe(first.manifest.digest);
    expect(again.manifest.digest).toBe(scanRoot(root, hasher).manifest.digest);
  });

  it('knows a file replaced, a file added and a file removed', async () => {
    await firstSync(FILES);
    rmSync(join(root, 'a.txt'));
    writeFileSync(join(root, 'new.txt'), 'new');
    writeFileSync(join(root, 'src/deep/c.md.tmp'), 'other');
    rmSync(join(root, 'src/deep/c.md'));
    symlinkSync('../a.txt', join(root, 'src/deep/c.md'));
    const again = start();
    expect(again.manifest.digest).toBe(scanRoot(root, hasher).manifest.digest);
    expect(again.manifest.get('a.txt')).toBeUndefined();
    expect(again.manifest.get('src/deep/c.md')?.type).toBe('symlink');
  });

  it('does not vouch for a file written too close to the commit: it is hashed at the next start', async () => {
    const agent = start();
    const b = new Batch(nextBatch++, root, agent.manifest, realFs, { staged: true });
    b.file(fileHeader('late', text('late')), text('late'));
    const out = b.commit();
    agent.persistence.committed(out.paths, out.stagedAt ?? null);
    agent.persistence.flush(0);
    expect(start().scan.hashed).toBe(1);
  });

  it('vouches for what a batch wrote outside a stage only by reading it back once settled', async () => {
    const first = await firstSync(FILES);
    const b = new Batch(nextBatch++, root, first.manifest, realFs);
    b.file(fileHeader('src/b.js', text('changed')), text('changed'));
    const out = b.commit();
    first.persistence.committed(out.paths, out.stagedAt ?? null);
    first.persistence.flush(Infinity); // too recent to be settled: not read, not vouched for
    expect(start().scan.hashed).toBe(1);
    expect(start().manifest.get('src/b.js')?.hash).toBe(hasher.h64Bytes(text('changed')));
  });

  it('does not vouch for a file whose content is not what the batch wrote', async () => {
    const first = await firstSync(FILES);
    const b = new Batch(nextBatch++, root, first.manifest, realFs);
    b.file(fileHeader('src/b.js', text('changed')), text('changed'));
    const out = b.commit();
    first.persistence.committed(out.paths, out.stagedAt ?? null);
    writeFileSync(join(root, 'src/b.js'), 'someone else');
    await sleep(RACY_MS + 20);
    first.persistence.flush(Infinity);
    const again = start();
    expect(again.scan.hashed).toBe(1);
    expect(again.manifest.get('src/b.js')?.hash).toBe(hasher.h64Bytes(text('someone else')));
  });

  it.each([
    ['cut short', (t: Buffer) => t.subarray(0, t.length - 10)],
    ['one byte changed', (t: Buffer) => Buffer.from(t.toString('latin1').replace('src/b.js', 'src/b.jz'), 'latin1')],
    ['not a manifest', () => Buffer.from('{"hello":1}\n[]')],
    ['empty', () => Buffer.alloc(0)],
  ])('ignores a saved manifest %s and hashes the root again', async (_name, spoil) => {
    await firstSync(FILES);
    const file = manifestFileFor(root)!;
    writeFileSync(file, spoil(readFileSync(file)));
    const again = start();
    expect(again.scan.hashed).toBe(3);
    expect(again.manifest.digest).toBe(scanRoot(root, hasher).manifest.digest);
  });

  it('ignores the saved manifest of another root', async () => {
    await firstSync(FILES);
    const other = join(base, 'other');
    mkdirSync(other);
    for (const [path, content] of Object.entries(FILES)) {
      mkdirSync(join(other, path, '..'), { recursive: true });
      writeFileSync(join(other, path), content);
    }
    copyFileSync(manifestFileFor(root)!, manifestFileFor(other)!);
    const saved = loadSavedManifest(manifestFileFor(other)!, rootIdOf(other), hasher.h64Bytes, log);
    expect(saved.rows).toBe(0);
    expect(logs.some((l) => l.includes('another root'))).toBe(true);
  });

  it('runs on without it when the parent cannot be written, saying so once', async () => {
    if (process.getuid?.() === 0) return; // root writes anywhere: nothing to prove
    chmodSync(base, 0o555);
    await firstSync(FILES);
    expect(logs.filter((l) => l.includes('cannot save the manifest'))).toHaveLength(1);
    expect(start().scan.hashed).toBe(3);
  });
});

/** Waits until `check` holds, looking every 20 ms, for at most `ms`. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (check()) return true;
  return check();
}

describe('decoding a saved manifest', () => {
  const id = { path: '/r', dev: 1, ino: 2 };
  const stat = { ino: 3, size: 1, mtimeMs: 4, ctimeMs: 5, mode: 0o100644 };
  const file = (path: string, hash: string): CachedEntry => ({ entry: { path, type: EntryType.FILE, size: 1, mtime: 4, mode: 0o644, hash }, stat, hi: 0, lo: 0 });
  const link = (path: string, target: string): CachedEntry => ({ entry: { path, type: EntryType.SYMLINK, size: target.length, mtime: 4, mode: 0o777, hash: '', target }, stat: { ...stat, mode: 0o120777 }, hi: 0, lo: 0 });
  const decode = (entries: CachedEntry[]) => decodeStatCache(encodeStatCache(id, entries, hasher.h64Bytes), id, hasher.h64Bytes);

  it('takes rows whose hashes are hashes and whose names add up, making no path or value until asked', () => {
    const out = decode([file('a', '0123456789abcdef'), link('l', 'a'), file('d/b', 'fedcba9876543210')]);
    expect('saved' in out).toBe(true);
    const saved = (out as { saved: SavedManifest }).saved;
    expect(saved.rows).toBe(3);
    expect(saved.rowOf('d/b')).toBe(2);
    expect(saved.entryAt(1, 'l').target).toBe('a');
    expect(saved.entryAt(2, 'd/b').hash).toBe('fedcba9876543210');
  });

  it.each([
    ['a hash of the wrong length', [file('a', '0123')], 'it holds a malformed hash'],
    ['a hash with a capital', [file('a', '0123456789ABCDEF')], 'it holds a malformed hash'],
    ['a path holding a NUL', [file('a\0b', '0123456789abcdef')], 'its names do not add up'],
    ['a link target holding a NUL', [link('l', 'x\0y'), file('a', '0123456789abcdef')], 'its names do not add up'],
    ['a last value holding a NUL', [file('a', '0123456789abcdef'), link('l', 'x\0y')], 'its names do not add up'],
  ])('refuses %s, whole', (_what, entries, why) => {
    expect(decode(entries as CachedEntry[])).toEqual({ rejected: why });
  });
});

describe('the native walk against the saved manifest', () => {
  const saved = () => loadSavedManifest(manifestFileFor(root)!, rootIdOf(root), hasher.h64Bytes, log);
  const sorted = (m: ReturnType<typeof start>['manifest']) => [...m.entries()].sort((a, b) => (a.path < b.path ? -1 : 1));

  it('is there wherever the addon is built (else the tests below would compare the JavaScript walk with itself)', () => {
    expect(loadVerifySaved(addonCandidates())).not.toBeNull();
  });

  it('vouches for exactly what the JavaScript walk vouches for, on a root changed in every way', async () => {
    await firstSync({ ...FILES, 'keep/x.txt': 'x', 'gone/y.txt': 'y', 'moved/z.txt': 'z', 'mode.sh': 'echo' });
    symlinkSync('a.txt', join(root, 'src/link'));
    await sleep(RACY_MS + 20);
    start().persistence.flush();
    expect(saved().matchStat('src/link', { ...lstatSync(join(root, 'src/link')), isFile: () => false })).toBeGreaterThanOrEqual(0);
    const a = join(root, 'a.txt');
    const before = statSync(a);
    writeFileSync(a, 'ALPHA');
    utimesSync(a, before.atime, before.mtime);
    chmodSync(join(root, 'mode.sh'), 0o755);
    rmSync(join(root, 'gone'), { recursive: true });
    renameSync(join(root, 'moved'), join(root, 'moved2'));
    writeFileSync(join(root, 'src/deep/new.txt'), 'new');
    mkdirSync(join(root, 'fresh/sub'), { recursive: true });
    writeFileSync(join(root, 'fresh/sub/f.txt'), 'f');
    rmSync(join(root, 'src/link'));
    symlinkSync('b.js', join(root, 'src/link'));
    execFileSync('mkfifo', [join(root, 'src/pipe')]);
    writeFileSync(join(root, 'src/back\\slash'), 'not a wire path');
    writeFileSync(Buffer.concat([Buffer.from(`${root}/src/`), Buffer.from([0xff, 0x41])]), 'not UTF-8');

    const js = scanRoot(root, hasher, saved(), undefined, null);
    const native = scanRoot(root, hasher, saved());
    expect(native.matched).toBeGreaterThan(0);
    expect(native.hashed).toBeGreaterThan(0);
    expect(sorted(native.manifest)).toEqual(sorted(js.manifest));
    expect(native.manifest.digest).toBe(js.manifest.digest);
    expect(native.manifest.digest).toBe(scanRoot(root, hasher).manifest.digest);
    expect([native.matched, native.hashed, native.swept]).toEqual([js.matched, js.hashed, js.swept]);
    expect([...native.skipped].sort()).toEqual([...js.skipped].sort());
    expect(native.skipped).toContain('src/pipe');
    expect([...native.known.keys()].sort()).toEqual([...js.known.keys()].sort());
    expect(native.manifest.get('a.txt')?.hash).toBe(hasher.h64Bytes(text('ALPHA')));
    expect(native.manifest.get('src/link')?.target).toBe('b.js');
    expect(native.manifest.get('gone/y.txt')).toBeUndefined();
  });

  it('sweeps the temporary files an agent killed mid-batch left, inside directories it vouches for', async () => {
    await firstSync(FILES);
    const { mtime } = statSync(join(root, 'src/deep'));
    writeFileSync(join(root, 'src/deep/.skiff-tmp-left-1'), 'partial');
    mkdirSync(join(root, '.skiff-tmp-left-2'));
    const again = start();
    expect(again.scan.swept).toBe(2);
    expect(existsSync(join(root, 'src/deep/.skiff-tmp-left-1'))).toBe(false);
    expect(existsSync(join(root, '.skiff-tmp-left-2'))).toBe(false);
    expect(again.scan.hashed).toBe(0);
    expect(statSync(join(root, 'src/deep')).mtime).not.toEqual(mtime);
    expect(again.manifest.digest).toBe(scanRoot(root, hasher).manifest.digest);
  });

  it('declines rows that do not name one distinct path each, for the JavaScript walk to take', () => {
    const verify = loadVerifySaved(addonCandidates())!;
    const rows = (n: number) => [new Float64Array(n * 10), new Uint8Array(n)] as const;
    expect(verify(root, text('a\0a'), ...rows(2))).toBeNull();
    expect(verify(root, text('a\0b\0c'), ...rows(2))).toBeNull();
    expect(verify(root, text('a'), ...rows(2))).toBeNull();
    writeFileSync(join(root, 'a'), '');
    expect(verify(root, text('a\0b'), ...rows(2))?.unmatched.names).toEqual(['a']);
  });
});

describe('the timed save', () => {
  /** One batch of `files` outside a stage, as a save during a session writes them. */
  function write(agent: ReturnType<typeof start>, files: Record<string, string>): void {
    const b = new Batch(nextBatch++, root, agent.manifest, realFs);
    for (const [path, content] of Object.entries(files)) b.file(fileHeader(path, text(content)), text(content));
    const out = b.commit();
    agent.persistence.committed(out.paths, out.stagedAt ?? null);
  }

  it('waits until batches stop: saves coming less than its delay apart postpone it, and it follows the last', async () => {
    const agent = start();
    const file = manifestFileFor(root)!;
    const gap = MANIFEST_SAVE_DELAY_MS * 0.6;
    for (let i = 0; i < 3; i++) {
      write(agent, { [`f${i}.txt`]: `v${i}` });
      await sleep(gap);
    }
    // 1.8 delays after the first batch, 0.6 after the last: a save on a timer from the first would be there.
    expect(existsSync(file)).toBe(false);
    expect(await until(() => existsSync(file), MANIFEST_SAVE_DELAY_MS * 3)).toBe(true);
    const again = start();
    expect(again.scan.hashed).toBe(0);
    expect(again.manifest.digest).toBe(agent.manifest.digest);
  });

  it('vouches in slices, letting a batch commit between them, and the file it writes holds for both', async () => {
    const agent = start();
    const many: Record<string, string> = {};
    for (let i = 0; i < VOUCH_SLICE_PATHS * 2 + 10; i++) many[`d${i % 40}/f${i}.txt`] = `content ${i}`;
    const b = new Batch(nextBatch++, root, agent.manifest, realFs, { staged: true });
    for (const [path, content] of Object.entries(many)) b.file(fileHeader(path, text(content)), text(content));
    await sleep(RACY_MS + 20);
    const out = b.commit();
    agent.persistence.committed(out.paths, out.stagedAt ?? null);
    // A timer due with the save's and made after it runs right after the save's first slice: a save done in
    // one go would have written the file by then. The batch it commits lands between two slices.
    const file = manifestFileFor(root)!;
    const between = new Promise<{ saved: boolean }>((resolve) =>
      setTimeout(() => {
        const saved = existsSync(file);
        write(agent, { 'd0/f0.txt': 'changed between slices' });
        resolve({ saved });
      }, MANIFEST_SAVE_DELAY_MS),
    );
    const mid = await between;
    expect(mid.saved).toBe(false);
    // The save goes on from where it was (not a new delay later).
    expect(await until(() => existsSync(file), MANIFEST_SAVE_DELAY_MS / 2)).toBe(true);
    agent.persistence.flush(0);
    const again = start();
    // Only the file the late batch wrote outside a stage (too recent to be read back) is hashed again.
    expect(again.scan.hashed).toBeLessThanOrEqual(1);
    expect(again.manifest.get('d0/f0.txt')?.hash).toBe(hasher.h64Bytes(text('changed between slices')));
    expect(again.manifest.digest).toBe(scanRoot(root, hasher).manifest.digest);
  });
});
