import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_DIGEST, EntryType, entryLine, loadHasher, manifestDigest, type Entry, type Hasher } from '@skiff/protocol';
import { dirEntry, fileEntry, linkEntry } from '../src/manifest/entries.ts';
import { Manifest, type SavedRows } from '../src/manifest/manifest.ts';
import { scanRoot } from '../src/manifest/scan.ts';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await loadHasher();
});

/** A small deterministic PRNG, so a failing sequence can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The entries a manifest should hold, computed the slow way from a plain map. */
function fullDigest(entries: Map<string, Entry>): string {
  return manifestDigest(entries.values(), hasher.h64);
}

describe('Manifest', () => {
  it('starts empty with the empty digest', () => {
    const m = new Manifest(hasher.h64);
    expect(m.digest).toBe(EMPTY_DIGEST);
    expect(m.size).toBe(0);
  });

  it.each([1, 2, 3, 42, 1234])('keeps the incremental digest equal to a full recompute after random operations (seed %i)', (seed) => {
    const rand = prng(seed);
    const m = new Manifest(hasher.h64);
    const model = new Map<string, Entry>();
    const names = ['a', 'b', 'c', 'd'];
    const randomPath = () => {
      const depth = 1 + Math.floor(rand() * 3);
      return Array.from({ length: depth }, () => names[Math.floor(rand() * names.length)]).join('/');
    };
    /** What the model does on a delete: the path and everything under it go. */
    const modelDeleteTree = (p: string) => {
      for (const k of [...model.keys()]) if (k === p || k.startsWith(`${p}/`)) model.delete(k);
    };
    for (let i = 0; i < 2000; i++) {
      const p = randomPath();
      const op = rand();
      if (op < 0.2) {
        m.deleteTree(p);
        modelDeleteTree(p);
      } else {
        // Parents are directories first, as on disk.
        const parts = p.split('/');
        for (let d = 1; d < parts.length; d++) {
          const dir = parts.slice(0, d).join('/');
          if (model.get(dir)?.type !== EntryType.DIR) {
            modelDeleteTree(dir);
            const e = dirEntry(dir, 0o755, i);
            m.set(e);
            model.set(dir, e);
          }
        }
        const kind = op < 0.6 ? 'file' : op < 0.8 ? 'dir' : 'link';
        const e =
          kind === 'file'
            ? fileEntry(p, Math.floor(rand() * 100), i, rand() < 0.5 ? 0o644 : 0o755, hasher.h64(`content ${Math.floor(rand() * 5)}`))
            : kind === 'dir'
              ? dirEntry(p, rand() < 0.5 ? 0o755 : 0o700, i)
              : linkEntry(p, names[Math.floor(rand() * names.length)], i);
        if (model.get(p)?.type === EntryType.DIR && e.type !== EntryType.DIR) modelDeleteTree(p);
        m.set(e);
        model.set(p, e);
      }
      if (i % 97 === 0) expect(m.digest).toBe(fullDigest(model));
    }
    expect(m.digest).toBe(fullDigest(model));
    expect(m.size).toBe(model.size);
    expect(new Set([...m.entries()].map((e) => e.path))).toEqual(new Set(model.keys()));
  });

  it.each([1, 7, 99])('holds saved rows without entries and stays equal to a full recompute through any operation (seed %i)', (seed) => {
    const rand = prng(seed);
    // A saved manifest of files under a few directories; the scan vouched for some of its rows.
    const rows: Entry[] = [];
    for (let i = 0; i < 60; i++) rows.push(fileEntry(`d${i % 4}/f${i}`, i, i, 0o644, hasher.h64(`row ${i}`)));
    const line = (e: Entry) => hasher.h64(entryLine(e));
    const saved: SavedRows = {
      rowOf: (path) => {
        const i = rows.findIndex((e) => e.path === path);
        return i < 0 ? undefined : i;
      },
      pathAt: (i) => rows[i].path,
      entryAt: (i) => ({ ...rows[i] }),
      lineHi: (i) => parseInt(line(rows[i]).slice(0, 8), 16),
      lineLo: (i) => parseInt(line(rows[i]).slice(8), 16),
    };
    const m = new Manifest(hasher.h64);
    const model = new Map<string, Entry>();
    for (let d = 0; d < 4; d++) {
      m.set(dirEntry(`d${d}`, 0o755, 1));
      model.set(`d${d}`, dirEntry(`d${d}`, 0o755, 1));
    }
    const held = new Uint8Array(rows.length);
    rows.forEach((e, i) => {
      if (rand() < 0.8) {
        held[i] = 1;
        model.set(e.path, e);
      }
    });
    m.adoptSaved(saved, held);
    expect(m.digest).toBe(fullDigest(model));
    expect(m.size).toBe(model.size);
    for (let step = 0; step < 40; step++) {
      const r = rand();
      const path = rows[Math.floor(rand() * rows.length)].path;
      if (r < 0.3) {
        expect(m.get(path)).toEqual(model.get(path));
      } else if (r < 0.6) {
        // Parents are directories first, as on disk.
        const dir = path.slice(0, path.indexOf('/'));
        if (!model.has(dir)) {
          m.set(dirEntry(dir, 0o755, step));
          model.set(dir, dirEntry(dir, 0o755, step));
        }
        const e = fileEntry(path, step, step, 0o600, hasher.h64(`new ${step}`));
        m.set(e);
        model.set(path, e);
      } else if (r < 0.75) {
        expect(m.rowOf(path) === undefined || model.get(path) !== undefined).toBe(true);
      } else if (r < 0.9) {
        m.deleteTree(path);
        model.delete(path);
      } else {
        const dir = `d${Math.floor(rand() * 4)}`;
        m.deleteTree(dir);
        for (const k of [...model.keys()]) if (k === dir || k.startsWith(`${dir}/`)) model.delete(k);
      }
      expect(m.digest, `step ${step}`).toBe(fullDigest(model));
      expect(m.size, `step ${step}`).toBe(model.size);
    }
    expect(new Set([...m.entries()].map((e) => e.path))).toEqual(new Set(model.keys()));
  });

  it('removes a whole subtree on a recursive delete and comes back to the empty digest', () => {
    const m = new Manifest(hasher.h64);
    m.set(dirEntry('src', 0o755, 1));
    m.set(dirEntry('src/lib', 0o755, 1));
    m.set(fileEntry('src/lib/a.ts', 3, 1, 0o644, '0123456789abcdef'));
    m.set(linkEntry('src/link', 'lib/a.ts', 1));
    m.set(fileEntry('srcfile', 3, 1, 0o644, '0123456789abcdef'));
    expect(m.deleteTree('src')).toBe(4);
    expect([...m.entries()].map((e) => e.path)).toEqual(['srcfile']);
    expect(m.deleteTree('srcfile')).toBe(1);
    expect(m.digest).toBe(EMPTY_DIGEST);
  });

  it('drops a directory subtree when the directory is replaced by a file', () => {
    const m = new Manifest(hasher.h64);
    m.set(dirEntry('d', 0o755, 1));
    m.set(fileEntry('d/x', 1, 1, 0o644, '0123456789abcdef'));
    m.set(fileEntry('d', 1, 1, 0o644, 'fedcba9876543210'));
    expect(m.get('d/x')).toBeUndefined();
    expect(m.digest).toBe(manifestDigest([fileEntry('d', 1, 1, 0o644, 'fedcba9876543210')], hasher.h64));
  });
});

describe('scanRoot', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('records files, directories and links with content hashes, sweeping leftover temporary files', () => {
    const root = mkdtempSync(join(tmpdir(), 'skiff-scan-'));
    dirs.push(root);
    mkdirSync(join(root, 'src/deep'), { recursive: true });
    writeFileSync(join(root, 'src/a.txt'), 'hello');
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    writeFileSync(join(root, 'src/deep/big.bin'), big);
    writeFileSync(join(root, 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(root, 'run.sh'), 0o755);
    symlinkSync('src/a.txt', join(root, 'link'));
    writeFileSync(join(root, 'src/.skiff-tmp-dead-1'), 'half a file');

    const { manifest, swept } = scanRoot(root, hasher);
    expect(swept).toBe(1);
    const byPath = new Map([...manifest.entries()].map((e) => [e.path, e]));
    expect([...byPath.keys()].sort()).toEqual(['link', 'run.sh', 'src', 'src/a.txt', 'src/deep', 'src/deep/big.bin']);
    expect(byPath.get('src/a.txt')).toMatchObject({ type: 'file', size: 5, mode: 0o644, hash: hasher.h64('hello') });
    expect(byPath.get('src/deep/big.bin')).toMatchObject({ size: big.length, hash: hasher.h64Bytes(big) });
    expect(byPath.get('run.sh')?.mode).toBe(0o755);
    expect(byPath.get('link')).toMatchObject({ type: 'symlink', target: 'src/a.txt', size: 9 });
    expect(manifest.digest).toBe(manifestDigest(byPath.values(), hasher.h64));
    expect(scanRoot(root, hasher).swept).toBe(0);
  });
});
