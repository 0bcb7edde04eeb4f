import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addonCandidates } from '../src/init/addon.ts';
import { loadStatDir } from '../src/native-fs/stat-dir.ts';

/*
 * The native directory lister (native/reaper.c lstatDir) must report what
 * Node's lstat reports, field for field, mtimeMs and ctimeMs computed the
 * same way (saved mtimes are compared for equality), and must not vouch for
 * a name that is not UTF-8. Skipped when the addon was not built (no C
 * toolchain): the scans then use Node's calls, which the other tests cover.
 */
const statDir = loadStatDir(addonCandidates());

describe.skipIf(statDir === null)('lstatDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-statdir-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports every entry as lstat does', () => {
    writeFileSync(join(dir, 'file.txt'), 'content');
    mkdirSync(join(dir, 'sub'));
    symlinkSync('file.txt', join(dir, 'link'));
    symlinkSync('nowhere', join(dir, 'dangling'));
    writeFileSync(join(dir, 'ünï cødé'), '');
    const listed = statDir!(dir)!;
    expect(listed.map((e) => e.name).sort()).toEqual(['dangling', 'file.txt', 'link', 'sub', 'ünï cødé']);
    for (const { name, stat } of listed) {
      const st = lstatSync(join(dir, name));
      expect(stat, name).not.toBeNull();
      const { mode, ino, size, mtimeMs, ctimeMs, nlink } = stat!;
      expect({ mode, ino, size, mtimeMs, ctimeMs, nlink }, name).toEqual({ mode: st.mode, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, nlink: st.nlink });
      expect([stat!.isFile(), stat!.isDirectory(), stat!.isSymbolicLink()], name).toEqual([st.isFile(), st.isDirectory(), st.isSymbolicLink()]);
    }
  });

  it('does not vouch for a name that is not UTF-8, and says null for a directory that is not there', () => {
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/bad-`), Buffer.from([0xff, 0xfe])]), 'x');
    const listed = statDir!(dir)!;
    expect(listed).toHaveLength(1);
    expect(listed[0].stat).toBeNull();
    expect(statDir!(join(dir, 'missing'))).toBeNull();
    expect(statDir!(join(dir, listed[0].name))).toBeNull();
  });
});
