import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, loadHasher, type FileHeader, type Hasher } from '@skiff/protocol';
import { Batch } from '../src/apply/batch.ts';
import { realFs } from '../src/apply/fs-ops.ts';
import { isEmptyRoot } from '../src/apply/stage.ts';
import { TEMP_PREFIX } from '../src/apply/temp-name.ts';
import { Manifest } from '../src/manifest/manifest.ts';
import { scanRoot } from '../src/manifest/scan.ts';

/*
 * A batch into an empty root is staged (apply/stage.ts): written under a
 * temporary-named directory inside the root and moved into place at commit.
 * What must hold: nothing of the batch is under a real name before the
 * commit, everything is after it (modes, mtimes, links, the manifest), an
 * aborted or cut batch leaves the root as it was, and an incomplete file is
 * never moved in.
 */

let hasher: Hasher;
let base: string;
let root: string;
let manifest: Manifest;
let nextBatch = 1;

beforeAll(async () => {
  hasher = await loadHasher();
});

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'skiff-stage-'));
  root = join(base, 'root');
  mkdirSync(root);
  manifest = scanRoot(root, hasher).manifest;
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

const MTIME = 1_700_000_000_000;
const text = (s: string) => new TextEncoder().encode(s);

function fileHeader(path: string, content: Uint8Array, over: Partial<FileHeader> = {}): FileHeader {
  return { batch: 0, path, size: content.length, mode: 0o644, mtime: MTIME, hash: hasher.h64Bytes(content), offset: 0, ...over };
}

function staged(): Batch {
  expect(isEmptyRoot(root, realFs)).toBe(true);
  return new Batch(nextBatch++, root, manifest, realFs, { staged: true });
}

/** Names directly in the root that are not temporary. */
function realNames(): string[] {
  return readdirSync(root).filter((n) => !n.startsWith(TEMP_PREFIX));
}

function expectManifestMatchesDisk(): void {
  const scanned = scanRoot(root, hasher).manifest;
  const strip = (m: Manifest) => [...m.entries()].map(({ mtime: _m, ...rest }) => rest).sort((a, b) => a.path.localeCompare(b.path));
  expect(strip(manifest)).toEqual(strip(scanned));
  expect(manifest.digest).toBe(scanned.digest);
}

describe('a staged first sync', () => {
  it('shows nothing under a real name until the commit, then everything with its mode, mtime and link', () => {
    const b = staged();
    b.mkdir({ batch: 0, path: 'src', mode: 0o750 });
    b.file(fileHeader('src/a.js', text('a')), text('a'));
    b.file(fileHeader('bin/run', text('#!/bin/sh\n'), { mode: 0o755 }), text('#!/bin/sh\n'));
    b.file(fileHeader('shared', text('g+w'), { mode: 0o664 }), text('g+w'));
    b.symlink({ batch: 0, path: 'link', target: 'src/a.js', mtime: MTIME });
    expect(realNames()).toEqual([]);
    expect(manifest.size).toBe(0);
    const out = b.commit();
    expect(out.problems).toEqual([]);
    expect(out.paths.sort()).toEqual(['bin/run', 'link', 'shared', 'src', 'src/a.js']);
    expect(readdirSync(root).sort()).toEqual(['bin', 'link', 'shared', 'src']);
    expect(statSync(join(root, 'src')).mode & 0o777).toBe(0o750);
    expect(statSync(join(root, 'bin/run')).mode & 0o777).toBe(0o755);
    expect(statSync(join(root, 'shared')).mode & 0o777).toBe(0o664);
    expect(Math.round(statSync(join(root, 'src/a.js')).mtimeMs)).toBe(MTIME);
    expect(lstatSync(join(root, 'link')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(root, 'link'), 'utf8')).toBe('a');
    expectManifestMatchesDisk();
  });

  it('leaves the root empty when aborted, whatever it had written', () => {
    const b = staged();
    b.file(fileHeader('x/y/z', text('z')), text('z'));
    const big = Buffer.alloc(3 << 20, 7);
    b.file(fileHeader('big', big), big.subarray(0, 1 << 20));
    b.abort();
    expect(readdirSync(root)).toEqual([]);
    expect(manifest.size).toBe(0);
  });

  it('never moves in a file whose last bytes did not arrive', () => {
    const b = staged();
    const big = Buffer.alloc(3 << 20, 9);
    b.file(fileHeader('big', big), big.subarray(0, 1 << 20));
    b.file(fileHeader('small', text('s')), text('s'));
    const out = b.commit();
    expect(out.problems.map((p) => [p.path, p.code])).toEqual([['big', ErrorCode.SIZE_MISMATCH]]);
    expect(readdirSync(root)).toEqual(['small']);
    expectManifestMatchesDisk();
  });

  it('keeps the last of two versions of a path sent in the same batch', () => {
    const b = staged();
    b.file(fileHeader('f', text('first')), text('first'));
    b.file(fileHeader('f', text('second, longer')), text('second, longer'));
    expect(b.commit().problems).toEqual([]);
    expect(readFileSync(join(root, 'f'), 'utf8')).toBe('second, longer');
    expect(readdirSync(root)).toEqual(['f']);
    expectManifestMatchesDisk();
  });

  it('wins over what appeared in the root meanwhile: a file replaced, a directory merged into', () => {
    const b = staged();
    b.file(fileHeader('top', text('ours')), text('ours'));
    b.file(fileHeader('dir/ours', text('o')), text('o'));
    writeFileSync(join(root, 'top'), 'theirs');
    mkdirSync(join(root, 'dir'));
    writeFileSync(join(root, 'dir/theirs'), 't');
    expect(b.commit().problems).toEqual([]);
    expect(readFileSync(join(root, 'top'), 'utf8')).toBe('ours');
    expect(readdirSync(join(root, 'dir')).sort()).toEqual(['ours', 'theirs']);
    expect(readdirSync(root).filter((n) => n.startsWith(TEMP_PREFIX))).toEqual([]);
  });

  it('writes through no symlink the batch itself made in the stage', () => {
    const b = staged();
    b.symlink({ batch: 0, path: 'l', target: 'elsewhere', mtime: MTIME });
    b.file(fileHeader('l', text('a file now')), text('a file now'));
    expect(b.commit().problems).toEqual([]);
    expect(lstatSync(join(root, 'l')).isFile()).toBe(true);
    expect(readdirSync(root)).toEqual(['l']);
    expectManifestMatchesDisk();
  });
});

describe('isEmptyRoot', () => {
  it('is true for nothing but leftover temporary names, false for anything else', () => {
    expect(isEmptyRoot(root, realFs)).toBe(true);
    mkdirSync(join(root, `${TEMP_PREFIX}leftover`));
    expect(isEmptyRoot(root, realFs)).toBe(true);
    symlinkSync('nowhere', join(root, 'dangling'));
    expect(isEmptyRoot(root, realFs)).toBe(false);
  });
});
