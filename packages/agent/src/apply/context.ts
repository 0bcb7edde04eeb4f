import type { Manifest } from '../manifest/manifest.ts';
import type { FsOps } from './fs-ops.ts';
import type { TreeGuard } from './tree-guard.ts';

/** What every apply step works with: the root, its manifest, the guard of the current batch. */
export interface ApplyContext {
  /** Absolute, symlink-free path of the root (of the stage, for a staged batch: see stage.ts). */
  readonly root: string;
  readonly fs: FsOps;
  readonly manifest: Manifest;
  readonly guard: TreeGuard;
  /**
   * The batch writes into a stage nobody else sees (stage.ts): a new file is
   * created at its real name there, without a temporary name and a rename.
   */
  readonly staged: boolean;
}

/** Seconds since the epoch, as utimes takes them, from wire milliseconds. */
export function toSeconds(ms: number): number {
  return ms / 1000;
}
