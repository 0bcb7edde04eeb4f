import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { GITIGNORE_FILE, ROOT_IGNORE_FILES } from './defaults.ts';
import { createIgnoreMatcher, type IgnoreMatcher, type RootIgnoreFile } from './matcher.ts';
import { isVanished } from '../index/vanished.ts';

/** Directories listed at once while collecting `.gitignore` files. */
export const LOAD_CONCURRENCY = 16;


/**
 * Reads the first of ROOT_IGNORE_FILES that exists at `root`, or null when
 * none does. One that exists but cannot be read rejects with SKIFF_E_IO:
 * silently syncing what it was meant to keep out would be worse.
 */
export async function readRootIgnore(root: string): Promise<RootIgnoreFile | null> {
  for (const name of ROOT_IGNORE_FILES) {
    try {
      return { name, text: await readFile(join(root, name), 'utf8') };
    } catch (err) {
      if (isVanished(err)) continue;
      throw new SkiffError(ErrorCode.IO, `cannot read ${name} in ${root}`, { cause: err, path: name });
    }
  }
  return null;
}

/** Text of `dir`'s .gitignore, or null when it has none or it cannot be read. */
async function readGitignore(absDir: string): Promise<string | null> {
  try {
    return await readFile(join(absDir, GITIGNORE_FILE), 'utf8');
  } catch {
    // Unreadable is left to the scan, which reports it for the directory.
    return null;
  }
}

/**
 * A matcher holding every rule of the tree at `root`: the root ignore file and
 * the `.gitignore` of every directory that is not itself ignored (an ignored
 * directory is never descended, so its rules can never matter). For callers
 * that need the rules before they walk, such as the watcher; the scan builds
 * its matcher as it descends instead, reading each `.gitignore` once.
 * Rejects with SKIFF_E_IO when the root cannot be listed.
 */
export async function loadIgnoreMatcher(root: string): Promise<IgnoreMatcher> {
  const matcher = createIgnoreMatcher({ rootIgnore: await readRootIgnore(root) });
  const pending: string[] = [];

  /** Takes in `dir`'s rules, then queues its subdirectories that are not ignored. */
  const take = async (dir: string, dirents: Dirent[]): Promise<void> => {
    const absDir = dir === '' ? root : join(root, dir);
    // Rules first: they decide which subdirectories are ignored.
    if (dirents.some((d) => d.name === GITIGNORE_FILE && d.isFile())) {
      const text = await readGitignore(absDir);
      if (text !== null) matcher.addGitignore(dir, text);
    }
    for (const d of dirents) {
      if (!d.isDirectory()) continue;
      const rel = dir === '' ? d.name : `${dir}/${d.name}`;
      if (!matcher.isIgnored(rel, true)) pending.push(rel);
    }
  };
  const visit = async (dir: string): Promise<void> => {
    let dirents: Dirent[];
    try {
      dirents = await readdir(join(root, dir), { withFileTypes: true });
    } catch {
      return; // vanished or unreadable: the scan reports it
    }
    await take(dir, dirents);
  };

  let rootDirents: Dirent[];
  try {
    rootDirents = await readdir(root, { withFileTypes: true });
  } catch (err) {
    throw new SkiffError(ErrorCode.IO, `cannot list ${root}`, { cause: err });
  }
  await take('', rootDirents);

  // A fixed number of listings in flight, drawn from one queue; a directory
  // is queued only once its parent's rules are in.
  let active = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (active < LOAD_CONCURRENCY && pending.length > 0) {
        const dir = pending.pop()!;
        active++;
        visit(dir)
          .catch(() => undefined) // visit catches its own I/O; nothing may escape the pool
          .finally(() => {
            active--;
            pump();
          });
      }
      if (active === 0 && pending.length === 0) resolve();
    };
    pump();
  });
  return matcher;
}
