import { chmod, cp, mkdir, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Prng } from './fault-seed.ts';
import { listTree } from './tree-compare.ts';

/**
 * Source trees for the fault tests: a first tree, then trees derived from it
 * by the edits a developer makes between two syncs (content edits, a rewritten
 * multi-MiB file, deletes of files and of a directory, renames of files and of
 * a directory, new files in new directories, a retargeted and a new symlink,
 * mode changes). Each state is its own directory, so the bytes of both the
 * old and the new version of every path stay at hand for comparison.
 *
 * Names are never reused for another type (a new name is always fresh), so
 * a path that exists before a batch must still exist, in one version or the
 * other, at any point inside it.
 */
const KiB = 1024;
const MiB = 1024 * KiB;

/** Files of the first tree, besides the multi-chunk ones. */
export const SMALL_FILES = 300;
/** Larger than one 1 MiB chunk, so they travel in several frames and land through one temporary file. */
export const BIG_FILE_BYTES = [3 * MiB + 123, 2 * MiB + 77];
/** Directories that no edit deletes or renames: the symlinks point into them, the big files live there. */
const STABLE_TOP = ['lib', 'media'];
const TOP = ['src', 'lib', 'assets', 'docs dir', 'ünï'];
const SUBDIRS = 6;
/** Edits per derived tree. */
const EDITS = { modified: 25, deleted: 12, renamed: 10, created: 20, createdLarge: 12 };
const SMALL_MAX_BYTES = 64 * KiB;
/** A few files much larger than most, still a single chunk. */
const LARGE_SMALL_BYTES = [200 * KiB, 900 * KiB];

function smallSize(rand: Prng): number {
  if (rand.next() < 0.02) return rand.pick(LARGE_SMALL_BYTES);
  return Math.floor(Math.exp(rand.next() * Math.log(SMALL_MAX_BYTES)));
}

async function put(path: string, data: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
}

export async function writeFirstTree(root: string, rand: Prng): Promise<void> {
  await mkdir(root, { recursive: true });
  for (let i = 0; i < SMALL_FILES; i++) {
    const top = TOP[i % TOP.length];
    const deep = rand.next() < 0.3 ? `/deep${rand.int(0, 2)}` : '';
    await put(join(root, top, `sub${rand.int(0, SUBDIRS)}${deep}`, `f${i}.dat`), rand.bytes(smallSize(rand)));
  }
  for (const [i, size] of BIG_FILE_BYTES.entries()) await put(join(root, 'media', `big-${i}.bin`), rand.bytes(size));
  await put(join(root, 'bin', 'run.sh'), Buffer.from('#!/bin/sh\necho hello\n'));
  await chmod(join(root, 'bin', 'run.sh'), 0o755);
  await mkdir(join(root, 'empty', 'nested'), { recursive: true });
  await symlink('lib', join(root, 'link-to-lib'));
  await symlink('bin/run.sh', join(root, 'latest'));
}

/** Copies `from` to `to` (modes, links and times kept), then edits `to`. */
export async function deriveTree(from: string, to: string, rand: Prng, step: number): Promise<void> {
  await cp(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  let fresh = 0;
  const freshName = () => `n${step}-${fresh++}.dat`;
  const skipIndex = (rel: string) => rel === '.skiff';

  // Whole directories first: one deleted, one renamed, one with a new mode.
  const dirs = [...(await listTree(to, skipIndex))]
    .filter(([rel, desc]) => desc.startsWith('dir') && rel.split('/').length === 2 && !STABLE_TOP.includes(rel.split('/')[0]))
    .map(([rel]) => rel)
    .sort();
  const [gone, moved, retuned] = rand.sample(dirs, 3);
  await rm(join(to, gone), { recursive: true });
  await rename(join(to, moved), join(to, `${moved}-r${step}`));
  await chmod(join(to, retuned), 0o750);

  const tree = await listTree(to, skipIndex);
  const files = [...tree].filter(([, desc]) => desc.startsWith('file')).map(([rel]) => rel).sort();
  const big = files.filter((rel) => rel.startsWith('media/'));
  const small = files.filter((rel) => !rel.startsWith('media/') && rel !== 'bin/run.sh');
  const picked = rand.sample(small, EDITS.modified + EDITS.deleted + EDITS.renamed);
  const modified = picked.slice(0, EDITS.modified);
  const deleted = picked.slice(EDITS.modified, EDITS.modified + EDITS.deleted);
  const renamed = picked.slice(EDITS.modified + EDITS.deleted);

  for (const rel of modified) await writeFile(join(to, rel), rand.bytes(smallSize(rand)));
  for (const rel of deleted) await unlink(join(to, rel));
  for (const rel of renamed) await rename(join(to, rel), join(to, rand.pick(TOP), freshName()));
  // One multi-chunk file rewritten in place (same size, new bytes), another moved.
  await writeFile(join(to, big[0]), rand.bytes(BIG_FILE_BYTES[0]));
  await mkdir(join(to, 'media', `moved${step}`), { recursive: true });
  await rename(join(to, big[big.length - 1]), join(to, 'media', `moved${step}`, freshName()));
  for (let i = 0; i < EDITS.created; i++) {
    const where = i % 2 === 0 ? join(`fresh${step}`, 'deep') : rand.pick(TOP);
    await put(join(to, where, freshName()), rand.bytes(smallSize(rand)));
  }
  // Enough new bytes in small files that they span several of the sender's messages before the large ones.
  for (let i = 0; i < EDITS.createdLarge; i++) await put(join(to, rand.pick(TOP), freshName()), rand.bytes(LARGE_SMALL_BYTES[1]));
  // Modes: a file's alone (content unchanged), and the script's.
  await chmod(join(to, rand.pick(modified)), 0o640);
  await chmod(join(to, 'bin', 'run.sh'), step % 2 === 0 ? 0o700 : 0o755);
  // Links last, pointing at files that exist now.
  const target = rand.pick(modified);
  await unlink(join(to, 'latest'));
  await symlink(target, join(to, 'latest'));
  await symlink(`../${TOP[0]}`, join(to, `fresh${step}`, `link-${step}`));
}

/** The states a test syncs through: [empty, first tree, derived, derived again]. */
export async function treeStates(base: string, rand: Prng): Promise<string[]> {
  const states = [0, 1, 2, 3].map((i) => join(base, `state-${i}`));
  await mkdir(states[0], { recursive: true });
  await writeFirstTree(states[1], rand);
  await deriveTree(states[1], states[2], rand, 2);
  await deriveTree(states[2], states[3], rand, 3);
  return states;
}
