import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EMPTY_DIGEST, ErrorCode, entryLine, loadHasher, manifestDigest } from '@skiff/protocol';
import {
  INDEX_VERSION,
  indexPath,
  loadIndex,
  saveIndex,
  scanTree,
  STATE_DIR,
  UNKNOWN_INO,
  type IndexEntry,
} from '../src/index/index.ts';

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'skiff-index-'));
  roots.push(root);
  return root;
}

const SAMPLE: IndexEntry[] = [
  { path: 'src', type: 'dir', size: 0, mtime: 1_700_000_000_000, mode: 0o755, hash: '', ino: 11 },
  { path: 'src/main.ts', type: 'file', size: 42, mtime: 1_700_000_000_123.456, mode: 0o644, hash: '0123456789abcdef', ino: 12 },
  { path: 'run.sh', type: 'file', size: 0, mtime: 1, mode: 0o755, hash: 'ef46db3751d8e999', ino: 13 },
  { path: 'link', type: 'symlink', size: 11, mtime: 2, mode: 0o777, hash: '', target: 'src/main.ts', ino: 14 },
  { path: 'ünï cødé', type: 'file', size: 1, mtime: 3, mode: 0o600, hash: 'ffffffffffffffff', ino: 15 },
];
const sample = () => new Map(SAMPLE.map((e) => [e.path, e]));

async function writeIndex(root: string, text: string): Promise<void> {
  await mkdir(join(root, STATE_DIR), { recursive: true });
  await writeFile(indexPath(root), text);
}

describe('index store', () => {
  it('round-trips entries', async () => {
    const root = await tempRoot();
    await saveIndex(root, sample());
    const loaded = await loadIndex(root);
    expect(loaded.warning).toBeUndefined();
    expect(loaded.entries).toEqual(sample());
  });

  it('round-trips a real scan', async () => {
    const root = await tempRoot();
    await mkdir(join(root, 'a/b'), { recursive: true });
    await writeFile(join(root, 'a/b/c.txt'), 'content');
    const { entries } = await scanTree(root);
    await saveIndex(root, entries);
    expect((await loadIndex(root)).entries).toEqual(entries);
    // .skiff/ itself is never part of the tree.
    expect((await scanTree(root)).entries).toEqual(entries);
  });

  it('writes one compact versioned document', async () => {
    const root = await tempRoot();
    await saveIndex(root, sample());
    const text = await readFile(indexPath(root), 'utf8');
    expect(text).not.toContain('\n');
    const doc = JSON.parse(text);
    expect(doc.version).toBe(INDEX_VERSION);
    // The digest, then the columns: paths, five numbers per entry, values.
    const [digest, paths, numbers, values] = doc.entries;
    expect(digest).toMatch(/^[0-9a-f]{16}$/);
    expect(paths).toEqual(SAMPLE.map((e) => e.path));
    expect(numbers).toHaveLength(SAMPLE.length * 5);
    expect(values).toEqual(['', '0123456789abcdef', 'ef46db3751d8e999', 'src/main.ts', 'ffffffffffffffff']);
  });

  it('a missing file is an empty index without a warning', async () => {
    const root = await tempRoot();
    expect(await loadIndex(root)).toEqual({ entries: new Map() });
  });

  it.each([
    ['corrupt JSON', '{"version":1,"entries":[{"pa'],
    ['an empty file', ''],
    ['not an object', '[1,2]'],
    ['an unknown version', JSON.stringify({ version: 2, entries: [] })],
    ['no version', JSON.stringify({ entries: [] })],
    ['entries not an array', JSON.stringify({ version: 1, entries: {} })],
    ['a path the wire refuses', JSON.stringify({ version: 1, entries: [{ ...SAMPLE[1], path: '../escape' }] })],
    ['a bad hash', JSON.stringify({ version: 1, entries: [{ ...SAMPLE[1], hash: 'xyz' }] })],
    ['a bad type', JSON.stringify({ version: 1, entries: [{ ...SAMPLE[1], type: 'fifo' }] })],
    ['a negative size', JSON.stringify({ version: 1, entries: [{ ...SAMPLE[1], size: -1 }] })],
    ['a symlink without target', JSON.stringify({ version: 1, entries: [{ ...SAMPLE[3], target: undefined }] })],
    ['a bad inode', JSON.stringify({ version: 1, entries: [{ ...SAMPLE[1], ino: 'x' }] })],
    ['a null entry', JSON.stringify({ version: 1, entries: [null] })],
    ['columns of different lengths', '{"version":3,"check":"","entries":["0000000000000000",["a"],[0,1,2,420],["0123456789abcdef"]]}'],
    ['an unknown type number', '{"version":3,"check":"","entries":["0000000000000000",["a"],[7,1,2,420,3],["0123456789abcdef"]]}'],
    ['no digest', '{"version":3,"check":"","entries":[["a"],[0,1,2,420,3],["0123456789abcdef"]]}'],
    ['a path the wire refuses, in columns', '{"version":3,"check":"","entries":["0000000000000000",["../a"],[0,1,2,420,3],["0123456789abcdef"]]}'],
  ])('%s: empty index and a SKIFF_E_INDEX_CORRUPT warning', async (_name, text) => {
    const root = await tempRoot();
    await writeIndex(root, text);
    const loaded = await loadIndex(root);
    expect(loaded.entries.size).toBe(0);
    expect(loaded.warning).toMatchObject({ name: 'SkiffError', code: ErrorCode.INDEX_CORRUPT });
    expect(loaded.warning?.message).toContain(indexPath(root));
    expect(loaded.warning?.cause).toBeDefined();
  });

  it('reads the objects of a version 1 index', async () => {
    const root = await tempRoot();
    await writeIndex(root, JSON.stringify({ version: 1, entries: SAMPLE }));
    const loaded = await loadIndex(root);
    expect(loaded.warning).toBeUndefined();
    expect(loaded.entries).toEqual(sample());
  });

  it.each([
    ['a changed byte', (t: string) => t.replace('src/main.ts', 'src/main.js')],
    ['a cut', (t: string) => t.slice(0, -20)],
    ['a column cut short', (t: string) => t.replace(',493,11,', ',493,')],
  ])('with a hasher, a saved index with %s is discarded with a warning', async (_name, spoil) => {
    const hasher = await loadHasher();
    const root = await tempRoot();
    await saveIndex(root, sample(), hasher.h64);
    expect((await loadIndex(root, hasher.h64)).entries).toEqual(sample());
    await writeIndex(root, spoil(await readFile(indexPath(root), 'utf8')));
    const loaded = await loadIndex(root, hasher.h64);
    expect(loaded.entries.size).toBe(0);
    expect(loaded.warning?.code).toBe(ErrorCode.INDEX_CORRUPT);
  });

  it('refuses a row whose path the wire refuses, checksum or not', async () => {
    const root = await tempRoot();
    await saveIndex(root, new Map([['../escape', { ...SAMPLE[1], path: '../escape' }]]));
    expect((await loadIndex(root)).warning?.code).toBe(ErrorCode.INDEX_CORRUPT);
  });

  it('an index that is a directory is a warning too, not a rejection', async () => {
    const root = await tempRoot();
    await mkdir(indexPath(root), { recursive: true });
    expect((await loadIndex(root)).warning?.code).toBe(ErrorCode.INDEX_CORRUPT);
  });

  it('keeps entries without an inode, which load with UNKNOWN_INO', async () => {
    const root = await tempRoot();
    const { ino: _ino, ...plain } = SAMPLE[1];
    await saveIndex(root, new Map([[plain.path, plain]]));
    expect((await loadIndex(root)).entries.get(plain.path)).toEqual({ ...plain, ino: UNKNOWN_INO });
  });

  it('replaces the previous index atomically and leaves no temporary file', async () => {
    const root = await tempRoot();
    await saveIndex(root, sample());
    await saveIndex(root, new Map([[SAMPLE[0].path, SAMPLE[0]]]));
    await Promise.all([saveIndex(root, sample()), saveIndex(root, sample())]);
    expect(await readdir(join(root, STATE_DIR))).toEqual(['index.json']);
    expect((await loadIndex(root)).entries).toEqual(sample());
  });

  it('rejects with SKIFF_E_IO when it cannot write, and leaves no temporary file', async () => {
    const root = await tempRoot();
    await saveIndex(root, sample());
    // The target is now a non-empty directory: the rename over it fails.
    await rm(indexPath(root));
    await mkdir(join(indexPath(root), 'blocker'), { recursive: true });
    await expect(saveIndex(root, sample())).rejects.toMatchObject({ code: ErrorCode.IO });
    expect((await readdir(join(root, STATE_DIR))).sort()).toEqual(['index.json']);
  });

  it('records the digest of its entries, and gives it back only under a matching checksum', async () => {
    const hasher = await loadHasher();
    const root = await tempRoot();
    await saveIndex(root, sample(), hasher.h64);
    const loaded = await loadIndex(root, hasher.h64);
    expect(loaded.digest).toBe(manifestDigest(SAMPLE, hasher.h64));
    // A digest handed in by the caller is the one recorded.
    await saveIndex(root, sample(), hasher.h64, 'aaaaaaaaaaaaaaaa');
    expect((await loadIndex(root, hasher.h64)).digest).toBe('aaaaaaaaaaaaaaaa');
    // Read without a hasher, or written without one: no digest to trust.
    expect((await loadIndex(root)).digest).toBeUndefined();
    await saveIndex(root, sample());
    expect((await loadIndex(root, hasher.h64)).digest).toBeUndefined();
    // An empty index records the empty digest.
    await saveIndex(root, new Map(), hasher.h64);
    expect(await loadIndex(root, hasher.h64)).toEqual({ entries: new Map(), digest: EMPTY_DIGEST });
    // A digest edited by hand fails the checksum.
    await saveIndex(root, sample(), hasher.h64);
    const text = await readFile(indexPath(root), 'utf8');
    const recorded = manifestDigest(SAMPLE, hasher.h64);
    await writeIndex(root, text.replace(recorded, recorded.replace(/^./, recorded[0] === 'f' ? 'e' : 'f')));
    expect((await loadIndex(root, hasher.h64)).warning?.code).toBe(ErrorCode.INDEX_CORRUPT);
  });

  it('reads a version 2 index (rows with their line hashes, no digest)', async () => {
    const hasher = await loadHasher();
    const root = await tempRoot();
    const rows = SAMPLE.map((e) => {
      const hex = hasher.h64(entryLine(e));
      return [e.path, e.type, e.size, e.mtime, e.mode, e.type === 'symlink' ? e.target : e.hash, e.ino, parseInt(hex.slice(0, 8), 16), parseInt(hex.slice(8), 16)];
    });
    const body = JSON.stringify(rows);
    await writeIndex(root, `{"version":2,"check":"${hasher.h64(body)}","entries":${body}}`);
    const loaded = await loadIndex(root, hasher.h64);
    expect(loaded.warning).toBeUndefined();
    expect(loaded.digest).toBeUndefined();
    expect(loaded.entries).toEqual(sample());
  });
});
