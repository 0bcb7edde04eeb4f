import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Xorshift128 } from './prng.ts';
import { contentBuffer, fileContent, type TreePlan } from './tree.ts';

/**
 * Saves made to the source tree during a run, deterministic from the seed.
 * Each save writes a version of the file no earlier save wrote, in place
 * (truncate and write, as most editors save), and returns a copy of the bytes
 * so the destination can be checked for exactly them.
 */

/** Files larger than this are not picked for a save: an editor saves source files, not the tree's multi-MiB assets. */
export const SAVE_MAX_BYTES = 64 * 1024;

export interface Save {
  /** Relative path. */
  rel: string;
  bytes: Buffer;
}

export interface PendingSave extends Save {
  write(): void;
}

export class Editor {
  private readonly versions = new Map<number, number>();
  private readonly scratch = contentBuffer();

  constructor(
    private readonly root: string,
    private readonly plan: TreePlan,
  ) {}

  /** `count` distinct file indices of at most `maxBytes`, the same for the same salt. */
  pick(count: number, salt: number, maxBytes = SAVE_MAX_BYTES): number[] {
    const rand = new Xorshift128(this.plan.spec.seed, salt);
    const chosen = new Set<number>();
    const eligible = this.plan.files.filter((f) => f.size <= maxBytes).length;
    const want = Math.min(count, eligible);
    while (chosen.size < want) {
      const index = Math.floor(rand.nextFloat() * this.plan.files.length);
      if (this.plan.files[index].size <= maxBytes) chosen.add(index);
    }
    return [...chosen];
  }

  /**
   * The next version of file `index`, not yet written: the caller starts
   * watching the destination for `bytes`, then calls `write()`.
   */
  next(index: number): PendingSave {
    const version = (this.versions.get(index) ?? 0) + 1;
    const file = this.plan.files[index];
    const bytes = Buffer.from(fileContent(this.plan.spec.seed, index, version, file.size, this.scratch));
    const path = join(this.root, file.path);
    return {
      rel: file.path,
      bytes,
      write: () => {
        this.versions.set(index, version);
        writeFileSync(path, bytes);
      },
    };
  }
}
