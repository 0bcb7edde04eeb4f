import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Xorshift128 } from './prng.ts';

/**
 * The reference tree of DESIGN's "How fast": N files spread evenly over
 * top x sub directories, log-normal sizes (median 2 KiB, sigma 1.5, capped at
 * 8 MiB), content pseudo-random from the seed. The plan (names and sizes) is
 * pure and cheap, so scenarios can pick files to edit without reading the disk;
 * contents are derived per file and per version, so an edit writes bytes no
 * earlier version had.
 */

export const REFERENCE_FILES = 50_000;
export const REFERENCE_TOP_DIRS = 97;
export const REFERENCE_SUB_DIRS = 41;
export const MEDIAN_BYTES = 2048;
export const SIZE_SIGMA = 1.5;
export const CAP_BYTES = 8 * 1024 * 1024;
export const DEFAULT_SEED = 0x5eed;

/** Content streams are keyed by file index and version; this spacing keeps them apart. */
const VERSION_STREAM_STRIDE = 0x100000;
/** Stream used for sizes, distinct from every file's content stream. */
const SIZE_STREAM = 0x7fffffff;

export interface TreeSpec {
  files: number;
  seed: number;
  topDirs: number;
  subDirs: number;
}

export interface PlannedFile {
  /** Relative path with forward slashes. */
  path: string;
  size: number;
}

export interface TreePlan {
  spec: TreeSpec;
  files: PlannedFile[];
  /** Leaf directories, relative. */
  leafDirs: string[];
  /** Every directory including the root. */
  dirCount: number;
  totalBytes: number;
}

/**
 * Keeps the reference density (about 12.6 files per leaf directory) when N is
 * not 50,000: the top level shrinks or grows, the sub level stays at 41.
 */
export function specFor(files: number, seed = DEFAULT_SEED): TreeSpec {
  const topDirs = Math.max(1, Math.round((REFERENCE_TOP_DIRS * files) / REFERENCE_FILES));
  return { files, seed, topDirs, subDirs: REFERENCE_SUB_DIRS };
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export function planTree(spec: TreeSpec): TreePlan {
  const topWidth = String(spec.topDirs - 1).length;
  const subWidth = String(spec.subDirs - 1).length;
  const fileWidth = String(spec.files - 1).length;
  const leafDirs: string[] = [];
  for (let t = 0; t < spec.topDirs; t++) {
    for (let s = 0; s < spec.subDirs; s++) leafDirs.push(`d${pad(t, topWidth)}/s${pad(s, subWidth)}`);
  }
  const rand = new Xorshift128(spec.seed, SIZE_STREAM);
  const files: PlannedFile[] = [];
  let totalBytes = 0;
  for (let n = 0; n < spec.files; n++) {
    const size = Math.min(CAP_BYTES, Math.round(MEDIAN_BYTES * Math.exp(SIZE_SIGMA * rand.nextGaussian())));
    files.push({ path: `${leafDirs[n % leafDirs.length]}/f${pad(n, fileWidth)}.dat`, size });
    totalBytes += size;
  }
  return { spec, files, leafDirs, dirCount: 1 + spec.topDirs + leafDirs.length, totalBytes };
}

/** A reusable buffer big enough for the largest file. */
export function contentBuffer(): Uint32Array {
  return new Uint32Array(CAP_BYTES / 4 + 1);
}

/** The bytes of file `index` at `version` (0 is the generated tree), as a view of `scratch`. */
export function fileContent(seed: number, index: number, version: number, size: number, scratch: Uint32Array): Buffer {
  const rand = new Xorshift128(seed, index + version * VERSION_STREAM_STRIDE);
  rand.fill(scratch, Math.ceil(size / 4));
  return Buffer.from(scratch.buffer, scratch.byteOffset, size);
}

export interface GeneratedTree extends TreePlan {
  root: string;
  generateMs: number;
}

/**
 * Writes the plan under `root` (which must not exist or be empty). Writes are
 * synchronous on purpose: the content buffer is reused for every file, and on
 * tmpfs a synchronous write is a memcpy, so there is nothing to overlap.
 */
export function generateTree(root: string, spec: TreeSpec): GeneratedTree {
  const started = performance.now();
  const plan = planTree(spec);
  for (const dir of plan.leafDirs) mkdirSync(join(root, dir), { recursive: true });
  const scratch = contentBuffer();
  plan.files.forEach((file, index) => {
    writeFileSync(join(root, file.path), fileContent(spec.seed, index, 0, file.size, scratch));
  });
  return { ...plan, root, generateMs: performance.now() - started };
}
