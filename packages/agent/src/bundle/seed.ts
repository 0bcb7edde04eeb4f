import { cp, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, SkiffError } from '@skiff/protocol';

/**
 * `skiff-agent seed FROM TO`: the `copy-files-to-volume` step. The first time
 * a source volume is mounted, it is filled with what the app image holds at
 * its workdir (FROM, seen through the image's own filesystem), so files the
 * image built are not hidden by an empty volume. The volume remembers it was
 * seeded (SEEDED_MARKER under skiff's own directory, which the project's
 * rules always ignore), so a volume the user emptied is never refilled.
 *
 * It runs as the image's user, through the bundle's own loader, in any image:
 * no `cp` of the image is needed. Symlinks are copied as symlinks.
 */
export const SEEDED_MARKER = '.skiff/seeded';

export interface SeedResult {
  from: string;
  to: string;
  /** Entries directly under FROM that were copied; 0 when the volume was seeded before or FROM is absent. */
  copied: number;
  alreadySeeded: boolean;
}

export async function seedVolume(from: string, to: string): Promise<SeedResult> {
  const marker = join(to, SEEDED_MARKER);
  if (await exists(marker)) return { from, to, copied: 0, alreadySeeded: true };
  let names: string[] = [];
  try {
    names = (await stat(from)).isDirectory() ? await readdir(from) : [];
  } catch {
    names = []; // the image has nothing at its workdir: nothing to seed
  }
  try {
    for (const name of names) {
      await cp(join(from, name), join(to, name), { recursive: true, force: false, errorOnExist: false, preserveTimestamps: true, verbatimSymlinks: true });
    }
    await mkdir(join(to, '.skiff'), { recursive: true });
    await writeFile(marker, `${new Date().toISOString()} from ${from}\n`);
  } catch (cause) {
    throw new SkiffError(ErrorCode.IO, `seed: cannot copy ${from} into ${to}: ${(cause as Error).message}`, { cause });
  }
  return { from, to, copied: names.length, alreadySeeded: false };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
