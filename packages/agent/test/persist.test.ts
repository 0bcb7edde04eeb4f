import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, copyFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadHasher, type FileHeader, type Hasher } from '@skiff/protocol';
import { Batch } from '../src/apply/batch.ts';
import { realFs } from '../src/apply/fs-ops.ts';
import { loadSavedManifest, ManifestPersistence, manifestFileFor, rootIdOf } from '../src/manifest/persist.ts';
import { scanRoot } from '../src/manifest/scan.ts';
import { RACY_MS } from '../src/manifest/stat-cache.ts';

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
  persistence.seed(scan.known, saved, scan.hashed > 0 || scan.matched !== saved.size);
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
    expect(saved.size).toBe(0);
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
