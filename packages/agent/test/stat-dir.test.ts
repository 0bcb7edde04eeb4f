import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addonCandidates } from '../src/init/addon.ts';
import { loadRawStatDir, loadRawStatDirs, rawStat, rawUsable, rawVanished, type RawListing } from '../src/native-fs/stat-dir.ts';

/*
 * The native directory lister (native/list-dir.c: lstatDir, and lstatDirs
 * on the pool) must report what Node's lstat reports, field for field,
 * mtimeMs and ctimeMs computed the same way (saved mtimes are compared for
 * equality), and must not vouch for a name that is not UTF-8. Skipped when
 * the addon was not built (no C toolchain): the scans then use Node's calls,
 * which the other tests cover.
 */
const statDir = loadRawStatDir(addonCandidates());
const statDirs = loadRawStatDirs(addonCandidates());

/** A listing as name → what the lister says of it (null: not vouched for). */
function byName(l: RawListing): Map<string, ReturnType<typeof rawStat> | null> {
  const out = new Map<string, ReturnType<typeof rawStat> | null>();
  for (let i = 0; i < l.names.length; i++) if (!rawVanished(l, i)) out.set(l.names[i], rawUsable(l, i) ? rawStat(l, i) : null);
  return out;
}

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
    const listed = byName(statDir!(dir)!);
    expect([...listed.keys()].sort()).toEqual(['dangling', 'file.txt', 'link', 'sub', 'ünï cødé']);
    for (const [name, stat] of listed) {
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
    expect(listed.names).toHaveLength(1);
    expect(rawUsable(listed, 0)).toBe(false);
    expect(statDir!(join(dir, 'missing'))).toBeNull();
    expect(statDir!(join(dir, listed.names[0]))).toBeNull();
  });

  it('throws for a directory it cannot open for another reason', () => {
    expect(() => statDir!(join(dir, 'x'.repeat(300)))).toThrow(/ENAMETOOLONG|too long/i);
  });
});

describe.skipIf(statDirs === null)('lstatDirs (on the pool)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-statdirs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists each directory as lstatDir does, in the order asked: null for one gone or not a directory, an Error for one it cannot open', async () => {
    const dirs: string[] = [];
    for (let d = 0; d < 20; d++) {
      const sub = join(dir, `d${d}`);
      mkdirSync(sub);
      for (let f = 0; f < d; f++) writeFileSync(join(sub, `f${f}`), 'x'.repeat(f));
      if (d % 3 === 0) symlinkSync(`f0`, join(sub, 'link'));
      dirs.push(sub);
    }
    writeFileSync(join(dir, 'plain'), '');
    const asked = [...dirs, join(dir, 'missing'), join(dir, 'plain'), join(dir, 'x'.repeat(300)), join(dir, 'd0')];
    const results = await statDirs!(asked);
    expect(results).toHaveLength(asked.length);
    for (const [i, path] of asked.entries()) {
      const result = results[i];
      if (result instanceof Error) {
        expect(path.endsWith('x'.repeat(300)), path).toBe(true);
        expect(result.message).toMatch(/too long/i);
        continue;
      }
      const sync = statDir!(path);
      if (sync === null) {
        expect(result, path).toBeNull();
        continue;
      }
      expect(byName(result!), path).toEqual(byName(sync));
    }
    expect(results.filter((r) => r === null)).toHaveLength(2);
  });

  it('takes an empty list', async () => {
    expect(await statDirs!([])).toEqual([]);
  });
});
