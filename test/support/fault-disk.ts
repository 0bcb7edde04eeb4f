import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * A project sized against a 2 MiB agent disk. The first tree takes about
 * 1.1 MiB; the edits then replace one file with a larger version and add a
 * new one, each bigger than what is left (a replacement needs room for its
 * temporary file while the old version still stands), next to small edits
 * that fit. Sizes keep ~90 KiB of margin against tmpfs's 4 KiB pages.
 */
const KiB = 1024;
const MiB = 1024 * KiB;

export const DISK_BYTES = 2 * MiB;
/** What the disk grows to when a test makes room. */
export const ROOMY_DISK_BYTES = 16 * MiB;
/** A file no 2 MiB disk holding the first tree has room for. */
export const OVERSIZED_BYTES = 1.5 * MiB;

const KEPT_FILES = 10;

async function put(root: string, rel: string, data: Buffer): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await writeFile(join(root, rel), data);
}

export async function writeFittingTree(project: string): Promise<void> {
  for (let i = 0; i < KEPT_FILES; i++) await put(project, `keep/k${i}.txt`, randomBytes(KiB));
  await put(project, 'data/replaced.bin', randomBytes(900 * KiB));
  await put(project, 'data/other.bin', randomBytes(200 * KiB));
}

export interface OverflowingEdits {
  /** Paths whose new version cannot fit: each must come back as SKIFF_E_DISK_FULL. */
  tooBig: string[];
  /** The agent's bytes of the files being replaced, which must survive. */
  previous: Map<string, Buffer>;
}

/**
 * Each file is written in `staging` (outside the project, same file system)
 * and moved in whole, as editors save: a watching session never reads one
 * half-written, so which files fit does not depend on when it looked.
 */
export async function writeOverflowingEdits(project: string, staging: string): Promise<OverflowingEdits> {
  const previous = new Map([['data/replaced.bin', await readFile(join(project, 'data/replaced.bin'))]]);
  await mkdir(staging, { recursive: true });
  let n = 0;
  const save = async (rel: string, data: Buffer) => {
    const staged = join(staging, `edit-${n++}`);
    await writeFile(staged, data);
    await mkdir(dirname(join(project, rel)), { recursive: true });
    await rename(staged, join(project, rel));
  };
  // These fit.
  await save('data/other.bin', randomBytes(150 * KiB));
  await save('keep/k3.txt', randomBytes(KiB));
  for (let i = 0; i < 5; i++) await save(`fresh/s${i}.txt`, randomBytes(2 * KiB));
  // These do not: the replacement's temporary file and the new file each exceed the free space.
  await save('data/replaced.bin', randomBytes(1.2 * MiB));
  await save('fresh/huge.bin', randomBytes(OVERSIZED_BYTES));
  return { tooBig: ['data/replaced.bin', 'fresh/huge.bin'], previous };
}
