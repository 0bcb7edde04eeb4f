import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, loadHasher, type FileHeader, type Hasher } from '@skiff/protocol';
import { Batch } from '../src/apply/batch.ts';
import { createdWithMode, realFs, type FsOps } from '../src/apply/fs-ops.ts';
import { TEMP_PREFIX } from '../src/apply/temp-name.ts';
import { Manifest } from '../src/manifest/manifest.ts';
import { scanRoot } from '../src/manifest/scan.ts';

let hasher: Hasher;
let base: string;
let root: string;
let outside: string;
let manifest: Manifest;
let nextBatch = 1;

beforeAll(async () => {
  hasher = await loadHasher();
});

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'skiff-apply-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, 'keep.txt'), 'outside');
  manifest = scanRoot(root, hasher).manifest;
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

const MTIME = 1_700_000_000_000;

function fileHeader(path: string, content: Uint8Array, over: Partial<FileHeader> = {}): FileHeader {
  return { batch: 0, path, size: content.length, mode: 0o644, mtime: MTIME, hash: hasher.h64Bytes(content), offset: 0, ...over };
}

function begin(fs: FsOps = realFs): Batch {
  return new Batch(nextBatch++, root, manifest, fs);
}

/** Every name under `dir` that is a temporary file. */
function temps(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => p.split('/').pop()!.startsWith(TEMP_PREFIX));
}

/** The manifest kept incrementally must describe exactly what a fresh scan of the disk finds. */
function expectManifestMatchesDisk(): void {
  const scanned = scanRoot(root, hasher).manifest;
  const strip = (m: Manifest) =>
    [...m.entries()].map(({ mtime: _m, ...rest }) => rest).sort((a, b) => a.path.localeCompare(b.path));
  expect(strip(manifest)).toEqual(strip(scanned));
  expect(manifest.digest).toBe(scanned.digest);
}

const text = (s: string) => new TextEncoder().encode(s);

describe('files', () => {
  it('writes a whole file under its real name with mode and mtime, leaving no temporary file', () => {
    const b = begin();
    b.file(fileHeader('bin/run.sh', text('#!/bin/sh\necho hi\n'), { mode: 0o755 }), text('#!/bin/sh\necho hi\n'));
    b.file(fileHeader('empty', text('')), text(''));
    const out = b.commit();
    expect(out).toMatchObject({ written: 2, deleted: 0, bytes: 18, problems: [] });
    expect(out.paths.sort()).toEqual(['bin/run.sh', 'empty']);
    const st = statSync(join(root, 'bin/run.sh'));
    expect(st.mode & 0o777).toBe(0o755);
    expect(Math.round(st.mtimeMs)).toBe(MTIME);
    expect(readFileSync(join(root, 'empty')).length).toBe(0);
    expect(temps(root)).toEqual([]);
    expectManifestMatchesDisk();
  });

  it('streams a file in chunks through a temporary name, never showing a partial file', () => {
    writeFileSync(join(root, 'big.bin'), 'old version');
    const content = Buffer.alloc(3 * 1024 * 1024, 1);
    for (let i = 0; i < content.length; i += 4099) content[i] = i % 251;
    const h = fileHeader('big.bin', content);
    const chunk = 1024 * 1024;
    const b = begin();
    for (let at = 0; at < content.length; at += chunk) {
      if (at > 0) {
        expect(readFileSync(join(root, 'big.bin'), 'utf8')).toBe('old version');
        expect(temps(root)).toHaveLength(1);
      }
      b.file({ ...h, offset: at }, content.subarray(at, at + chunk));
    }
    expect(readFileSync(join(root, 'big.bin')).equals(content)).toBe(true);
    expect(b.commit().problems).toEqual([]);
    expect(temps(root)).toEqual([]);
    expectManifestMatchesDisk();
  });

  it('refuses a chunk of a file never begun, or at the wrong offset, as a protocol state error', () => {
    const content = text('0123456789');
    const b = begin();
    expect(() => b.file(fileHeader('x', content, { offset: 5 }), content.subarray(5))).toThrow(
      expect.objectContaining({ code: ErrorCode.PROTOCOL_STATE }),
    );
    b.file(fileHeader('y', content), content.subarray(0, 4));
    expect(() => b.file(fileHeader('y', content, { offset: 6 }), content.subarray(6))).toThrow(
      expect.objectContaining({ code: ErrorCode.PROTOCOL_STATE }),
    );
    b.abort();
    expect(temps(root)).toEqual([]);
  });

  it('reports a file still incomplete at commit as a problem and keeps the previous version', () => {
    writeFileSync(join(root, 'half'), 'previous');
    manifest = scanRoot(root, hasher).manifest;
    const content = text('0123456789');
    const b = begin();
    b.file(fileHeader('half', content), content.subarray(0, 3));
    const out = b.commit();
    expect(out.problems).toEqual([expect.objectContaining({ path: 'half', code: ErrorCode.SIZE_MISMATCH })]);
    expect(readFileSync(join(root, 'half'), 'utf8')).toBe('previous');
    expect(temps(root)).toEqual([]);
    expectManifestMatchesDisk();
  });

  it('removes every temporary file of an aborted batch and keeps files completed before it', () => {
    writeFileSync(join(root, 'a.txt'), 'old');
    manifest = scanRoot(root, hasher).manifest;
    const content = Buffer.alloc(100, 9);
    const b = begin();
    b.file(fileHeader('done.txt', text('done')), text('done'));
    b.file(fileHeader('a.txt', content), content.subarray(0, 50));
    b.file(fileHeader('sub/b.txt', content), content.subarray(0, 10));
    b.abort();
    expect(temps(root)).toEqual([]);
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('old');
    expect(existsSync(join(root, 'sub/b.txt'))).toBe(false);
    expect(readFileSync(join(root, 'done.txt'), 'utf8')).toBe('done');
    expectManifestMatchesDisk();
  });

  it('refuses names reserved for temporary files', () => {
    const b = begin();
    b.file(fileHeader(`d/${TEMP_PREFIX}x`, text('x')), text('x'));
    expect(b.commit().problems).toEqual([expect.objectContaining({ code: ErrorCode.UNSUPPORTED_FILE })]);
    expect(temps(root)).toEqual([]);
  });
});

describe('a full disk', () => {
  /** The real filesystem, except that writes fail with ENOSPC while `full` is set. */
  let full = false;
  const fillingDisk: FsOps = {
    ...realFs,
    writeSync: ((...args: unknown[]) => {
      if (full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return (realFs.writeSync as (...a: unknown[]) => number)(...args);
    }) as FsOps['writeSync'],
  };

  it('keeps the previous version, removes the temporary file and still applies the other files', () => {
    writeFileSync(join(root, 'data.json'), '{"v":1}');
    manifest = scanRoot(root, hasher).manifest;
    const big = Buffer.alloc(300, 3);
    const b = begin(fillingDisk);
    full = true;
    b.file(fileHeader('data.json', text('{"v":2}')), text('{"v":2}'));
    full = false;
    b.file(fileHeader('big.bin', big), big.subarray(0, 100));
    full = true;
    b.file(fileHeader('big.bin', big, { offset: 100 }), big.subarray(100, 200));
    full = false;
    // The rest of a file that already failed is dropped quietly, not a protocol error.
    b.file(fileHeader('big.bin', big, { offset: 200 }), big.subarray(200));
    b.file(fileHeader('other.txt', text('fine')), text('fine'));
    const out = b.commit();
    expect(out.problems.map((p) => [p.path, p.code])).toEqual([
      ['data.json', ErrorCode.DISK_FULL],
      ['big.bin', ErrorCode.DISK_FULL],
    ]);
    expect(out.written).toBe(1);
    expect(readFileSync(join(root, 'data.json'), 'utf8')).toBe('{"v":1}');
    expect(existsSync(join(root, 'big.bin'))).toBe(false);
    expect(readFileSync(join(root, 'other.txt'), 'utf8')).toBe('fine');
    expect(temps(root)).toEqual([]);
    expectManifestMatchesDisk();
  });
});

describe('symlinks', () => {
  it('creates a link to inside the root and replaces a link at a file name without following it', () => {
    symlinkSync(join(outside, 'keep.txt'), join(root, 'was-link'));
    manifest = scanRoot(root, hasher).manifest;
    const b = begin();
    b.file(fileHeader('src/a.txt', text('a')), text('a'));
    b.symlink({ batch: 0, path: 'link', target: 'src/a.txt', mtime: MTIME });
    b.file(fileHeader('was-link', text('now a file')), text('now a file'));
    expect(b.commit().problems).toEqual([]);
    expect(readlinkSync(join(root, 'link'))).toBe('src/a.txt');
    expect(lstatSync(join(root, 'was-link')).isFile()).toBe(true);
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('outside');
    expectManifestMatchesDisk();
  });

  it('refuses a link whose target leaves the root, at apply time too', () => {
    const b = begin();
    b.symlink({ batch: 0, path: 'd/evil', target: '../../outside', mtime: MTIME });
    expect(b.commit().problems).toEqual([expect.objectContaining({ path: 'd/evil', code: ErrorCode.SYMLINK_ESCAPE })]);
    expect(existsSync(join(root, 'd/evil'))).toBe(false);
  });

  it.each([
    ['pointing outside the root', () => join(outside)],
    ['pointing inside the root', () => 'inside'],
  ])('never writes, creates or deletes through a parent that is a symlink %s', (_name, target) => {
    mkdirSync(join(root, 'inside'));
    symlinkSync(target(), join(root, 'via'));
    manifest = scanRoot(root, hasher).manifest;
    const b = begin();
    b.file(fileHeader('via/x.txt', text('x')), text('x'));
    b.file(fileHeader('via/deeper/y.txt', text('y')), text('y'));
    b.mkdir({ batch: 0, path: 'via/dir', mode: 0o755 });
    b.symlink({ batch: 0, path: 'via/l', target: '../inside', mtime: MTIME });
    b.delete({ batch: 0, path: 'via/keep.txt' });
    const out = b.commit();
    expect(out.problems.map((p) => [p.path, p.code]).sort()).toEqual([
      ['via/deeper/y.txt', ErrorCode.SYMLINK_ESCAPE],
      ['via/dir', ErrorCode.SYMLINK_ESCAPE],
      ['via/keep.txt', ErrorCode.SYMLINK_ESCAPE],
      ['via/l', ErrorCode.SYMLINK_ESCAPE],
      ['via/x.txt', ErrorCode.SYMLINK_ESCAPE],
    ]);
    expect(readdirSync(outside)).toEqual(['keep.txt']);
    expect(readdirSync(join(root, 'inside'))).toEqual([]);
    expect(temps(base)).toEqual([]);
  });

  it('turns a symlink into a directory when the batch deletes the link', () => {
    symlinkSync(outside, join(root, 'was-link'));
    manifest = scanRoot(root, hasher).manifest;
    const b = begin();
    b.delete({ batch: 0, path: 'was-link' });
    b.file(fileHeader('was-link/x.txt', text('x')), text('x'));
    expect(b.commit().problems).toEqual([]);
    expect(lstatSync(join(root, 'was-link')).isDirectory()).toBe(true);
    expect(readdirSync(outside)).toEqual(['keep.txt']);
    expectManifestMatchesDisk();
  });
});

describe('directories and deletes', () => {
  it('creates directories with their mode, including an empty one, and chmods an existing one', () => {
    mkdirSync(join(root, 'existing'), { mode: 0o700 });
    manifest = scanRoot(root, hasher).manifest;
    const b = begin();
    b.mkdir({ batch: 0, path: 'empty/inner', mode: 0o750 });
    b.mkdir({ batch: 0, path: 'existing', mode: 0o755 });
    b.mkdir({ batch: 0, path: 'readonly', mode: 0o555 });
    b.file(fileHeader('readonly/f', text('f')), text('f'));
    // A new directory its owner can write through has its mode from the start (unless the umask cuts it);
    // one the agent could not write into is made writable until the commit.
    expect(statSync(join(root, 'empty/inner')).mode & 0o777).toBe(createdWithMode(0o750) ? 0o750 : 0o700);
    expect(statSync(join(root, 'readonly')).mode & 0o777).toBe(0o700);
    expect(b.commit().problems).toEqual([]);
    expect(statSync(join(root, 'empty/inner')).mode & 0o777).toBe(0o750);
    expect(statSync(join(root, 'existing')).mode & 0o777).toBe(0o755);
    expect(statSync(join(root, 'readonly')).mode & 0o777).toBe(0o555);
    expect(readFileSync(join(root, 'readonly/f'), 'utf8')).toBe('f');
    expectManifestMatchesDisk();
    chmodSync(join(root, 'readonly'), 0o755);
  });

  it('runs deletes at commit, after the writes of the batch', () => {
    writeFileSync(join(root, 'old-name.txt'), 'content');
    manifest = scanRoot(root, hasher).manifest;
    const b = begin();
    b.delete({ batch: 0, path: 'old-name.txt' });
    b.file(fileHeader('new-name.txt', text('content')), text('content'));
    // Mid-batch, the moved file exists under both names: never under neither.
    expect(existsSync(join(root, 'old-name.txt'))).toBe(true);
    expect(existsSync(join(root, 'new-name.txt'))).toBe(true);
    const out = b.commit();
    expect(out).toMatchObject({ written: 1, deleted: 1, problems: [] });
    expect(out.paths.sort()).toEqual(['new-name.txt', 'old-name.txt']);
    expect(existsSync(join(root, 'old-name.txt'))).toBe(false);
    expectManifestMatchesDisk();
  });

  it('deletes a directory recursively and treats a missing path as already deleted', () => {
    mkdirSync(join(root, 'dir/sub'), { recursive: true });
    writeFileSync(join(root, 'dir/sub/f'), 'f');
    symlinkSync(outside, join(root, 'dir/link-out'));
    manifest = scanRoot(root, hasher).manifest;
    const b = begin();
    b.delete({ batch: 0, path: 'dir' });
    b.delete({ batch: 0, path: 'dir/sub/f' });
    b.delete({ batch: 0, path: 'never-there' });
    b.delete({ batch: 0, path: 'never/there/either' });
    const out = b.commit();
    expect(out).toMatchObject({ deleted: 1, problems: [] });
    expect(existsSync(join(root, 'dir'))).toBe(false);
    expect(manifest.size).toBe(0);
    expect(readdirSync(outside)).toEqual(['keep.txt']);
  });

  it('replaces a file by a directory and back again', () => {
    writeFileSync(join(root, 'a'), 'was a file');
    manifest = scanRoot(root, hasher).manifest;
    let b = begin();
    b.delete({ batch: 0, path: 'a' });
    b.mkdir({ batch: 0, path: 'a', mode: 0o755 });
    b.file(fileHeader('a/b', text('b')), text('b'));
    expect(b.commit().problems).toEqual([]);
    expect(readFileSync(join(root, 'a/b'), 'utf8')).toBe('b');
    expectManifestMatchesDisk();

    b = begin();
    b.delete({ batch: 0, path: 'a/b' });
    b.delete({ batch: 0, path: 'a' });
    b.file(fileHeader('a', text('a file again')), text('a file again'));
    expect(b.commit().problems).toEqual([]);
    expect(readFileSync(join(root, 'a'), 'utf8')).toBe('a file again');
    expectManifestMatchesDisk();
  });

  it('lets the incoming entry win over whatever is in the way, without a delete', () => {
    mkdirSync(join(root, 'dir-then-file/deep'), { recursive: true });
    writeFileSync(join(root, 'dir-then-file/deep/x'), 'x');
    writeFileSync(join(root, 'file-then-dir'), 'f');
    writeFileSync(join(root, 'file-then-parent'), 'f');
    manifest = scanRoot(root, hasher).manifest;
    const b = begin();
    b.file(fileHeader('dir-then-file', text('now a file')), text('now a file'));
    b.mkdir({ batch: 0, path: 'file-then-dir', mode: 0o755 });
    b.file(fileHeader('file-then-parent/child', text('c')), text('c'));
    b.symlink({ batch: 0, path: 'file-then-dir/l', target: '../dir-then-file', mtime: MTIME });
    expect(b.commit().problems).toEqual([]);
    expect(lstatSync(join(root, 'dir-then-file')).isFile()).toBe(true);
    expect(lstatSync(join(root, 'file-then-dir')).isDirectory()).toBe(true);
    expect(readFileSync(join(root, 'file-then-parent/child'), 'utf8')).toBe('c');
    expectManifestMatchesDisk();
  });

  it('keeps what the batch wrote inside a directory it also deletes, and removes the rest', () => {
    mkdirSync(join(root, 'd'));
    writeFileSync(join(root, 'd/stale'), 'stale');
    writeFileSync(join(root, 'd/kept'), 'old');
    manifest = scanRoot(root, hasher).manifest;
    const b = begin();
    b.file(fileHeader('d/kept', text('new')), text('new'));
    b.delete({ batch: 0, path: 'd' });
    expect(b.commit().problems).toEqual([]);
    expect(readdirSync(join(root, 'd'))).toEqual(['kept']);
    expect(readFileSync(join(root, 'd/kept'), 'utf8')).toBe('new');
    expectManifestMatchesDisk();
  });
});

describe('startup sweep', () => {
  it('removes temporary files a killed agent left anywhere under the root', () => {
    mkdirSync(join(root, 'a/b'), { recursive: true });
    writeFileSync(join(root, `${TEMP_PREFIX}1`), 'x');
    writeFileSync(join(root, `a/b/${TEMP_PREFIX}2`), 'x');
    symlinkSync('nowhere', join(root, `a/${TEMP_PREFIX}3`));
    writeFileSync(join(root, 'a/b/real'), 'real');
    const { manifest: m, swept } = scanRoot(root, hasher);
    expect(swept).toBe(3);
    expect(temps(root)).toEqual([]);
    expect([...m.entries()].map((e) => e.path).sort()).toEqual(['a', 'a/b', 'a/b/real']);
  });
});
