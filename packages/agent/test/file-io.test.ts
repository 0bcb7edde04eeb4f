import { closeSync, existsSync, futimesSync, lstatSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addonCandidates } from '../src/init/addon.ts';
import { addonFailure, loadFileIo } from '../src/native-fs/file-io.ts';

/*
 * The native whole-file calls (native/reaper.c writeNewFile, readFileInto)
 * must leave what Node's calls leave — content, mode, and an mtime equal to
 * the one futimesSync sets from the same seconds — never write through a
 * symlink or over anything, and fail with the errors Node's calls throw.
 * Skipped when the addon was not built: Node's calls are then used.
 */
const io = loadFileIo(addonCandidates());

describe.skipIf(io === null)('native file calls', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-fileio-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a new file with the mtime futimes would give it, for seeded random mtimes', () => {
    let seed = 5;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 200; i++) {
      // Milliseconds with a fraction, as Node's Stats report them (the agent's wire mtime).
      const mtimeMs = Math.floor(rand() * 2e12) + Math.floor(rand() * 1e6) / 1e6;
      const data = Buffer.from(`file ${i}`);
      io!.writeNewFile(join(dir, `n${i}`), data, 0o644, false, mtimeMs / 1000);
      const fd = openSync(join(dir, `j${i}`), 'w');
      futimesSync(fd, mtimeMs / 1000, mtimeMs / 1000);
      closeSync(fd);
      expect(lstatSync(join(dir, `n${i}`)).mtimeMs, String(mtimeMs)).toBe(lstatSync(join(dir, `j${i}`)).mtimeMs);
      expect(readFileSync(join(dir, `n${i}`))).toEqual(data);
    }
  });

  it('sets the mode the umask would cut when asked to', () => {
    io!.writeNewFile(join(dir, 'x'), new Uint8Array(0), 0o777, true, 1);
    expect(lstatSync(join(dir, 'x')).mode & 0o777).toBe(0o777);
    expect(lstatSync(join(dir, 'x')).size).toBe(0);
  });

  it('never writes over anything or through a symlink', () => {
    writeFileSync(join(dir, 'taken'), 'old');
    symlinkSync(join(dir, 'target'), join(dir, 'link'));
    expect(() => io!.writeNewFile(join(dir, 'taken'), Buffer.from('new'), 0o644, false, 1)).toThrow(expect.objectContaining({ code: 'EEXIST', syscall: 'open' }));
    expect(() => io!.writeNewFile(join(dir, 'link'), Buffer.from('new'), 0o644, false, 1)).toThrow(expect.objectContaining({ syscall: 'open' }));
    expect(readFileSync(join(dir, 'taken'), 'utf8')).toBe('old');
    expect(existsSync(join(dir, 'target'))).toBe(false);
    expect(() => io!.writeNewFile(join(dir, 'no/such/dir'), Buffer.from('x'), 0o644, false, 1)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('reads a file up to the end of the buffer, and fails as readFileSync would', () => {
    writeFileSync(join(dir, 'small'), 'hello');
    const buf = Buffer.alloc(8);
    expect(io!.readFileInto(join(dir, 'small'), buf)).toBe(5);
    expect(buf.subarray(0, 5).toString()).toBe('hello');
    writeFileSync(join(dir, 'long'), 'a'.repeat(100));
    expect(io!.readFileInto(join(dir, 'long'), buf)).toBe(8);
    expect(() => io!.readFileInto(join(dir, 'gone'), buf)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open', path: join(dir, 'gone') }));
    expect(() => io!.readFileInto(dir, buf)).toThrow(expect.objectContaining({ code: 'EISDIR', syscall: 'read' }));
  });

  it('names errno and system call of a failure as Node does', () => {
    const err = addonFailure(-(28 * 8 + 2), '/x');
    expect(err).toMatchObject({ code: 'ENOSPC', errno: -28, syscall: 'write', path: '/x' });
    expect(err.message).toBe("ENOSPC: no space left on device, write '/x'");
  });
});
