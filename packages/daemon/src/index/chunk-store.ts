import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_DIR } from './store.ts';

/**
 * The chunks (core/cdc.ts) of large files' contents as they were sent, so
 * that the next change of such a file can travel as a delta against the
 * version the agent holds: `.skiff/chunks/<content hash>`, one small JSON
 * document `{"size":N,"lengths":[...],"hashes":[...]}` per content.
 *
 * A list is looked up by the content hash the agent's entry has; it is only
 * a guide to which runs of that content can be reused. Nothing depends on it
 * being right: the agent checks the delta's result against the new content's
 * hash before it replaces anything, and a wrong guess costs a whole send.
 * So a list that does not add up to the size it claims, or cannot be read,
 * is simply not used; writing one that fails is not an error either.
 * Lists whose content no longer is on the agent are removed by prune().
 */
export const CHUNKS_DIR = 'chunks';
const HASH_RE = /^[0-9a-f]{16}$/;
/** Lists kept in memory besides the disk. */
const MEMORY_LISTS = 64;

export interface ChunkList {
  size: number;
  lengths: number[];
  /** xxhash64 of each chunk, 16 hex digits. */
  hashes: string[];
}

export class ChunkStore {
  private readonly dir: string;
  private readonly memory = new Map<string, ChunkList>();

  constructor(private readonly root: string) {
    this.dir = join(root, STATE_DIR, CHUNKS_DIR);
  }

  /** The chunks of the content with hash `hash` and `size` bytes, or null. */
  get(hash: string, size: number): ChunkList | null {
    if (!HASH_RE.test(hash)) return null;
    let list = this.memory.get(hash);
    if (list === undefined) {
      try {
        list = parseList(readFileSync(join(this.dir, hash), 'utf8'));
      } catch {
        return null;
      }
      if (list === undefined) return null;
      this.remember(hash, list);
    }
    return list.size === size ? list : null;
  }

  /** Whether a list is kept for the content with hash `hash` (a cheap look, not a read). */
  has(hash: string): boolean {
    return HASH_RE.test(hash) && (this.memory.has(hash) || existsSync(join(this.dir, hash)));
  }

  put(hash: string, list: ChunkList): void {
    if (!HASH_RE.test(hash)) return;
    this.remember(hash, list);
    const file = join(this.dir, hash);
    const temp = `${file}.${process.pid}.tmp`;
    try {
      // Not recursive: a project directory that vanished must not be recreated.
      for (const dir of [join(this.root, STATE_DIR), this.dir]) {
        try {
          mkdirSync(dir);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      writeFileSync(temp, JSON.stringify(list));
      renameSync(temp, file);
    } catch {
      try {
        unlinkSync(temp);
      } catch {
        // Never written.
      }
    }
  }

  /**
   * Removes the lists of contents not in `kept()` (the contents the agent
   * holds), asked for only when there are lists: most projects have none,
   * and the set of every file's hash is not made for nothing.
   */
  prune(kept: () => ReadonlySet<string>): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    if (names.length === 0) return;
    const keep = kept();
    for (const name of names) {
      if (keep.has(name)) continue;
      this.memory.delete(name);
      try {
        unlinkSync(join(this.dir, name));
      } catch {
        // Gone already.
      }
    }
  }

  private remember(hash: string, list: ChunkList): void {
    this.memory.delete(hash);
    this.memory.set(hash, list);
    if (this.memory.size > MEMORY_LISTS) this.memory.delete(this.memory.keys().next().value!);
  }
}

function parseList(text: string): ChunkList | undefined {
  const doc = JSON.parse(text) as Partial<ChunkList>;
  const { size, lengths, hashes } = doc;
  if (typeof size !== 'number' || !Array.isArray(lengths) || !Array.isArray(hashes) || lengths.length !== hashes.length) return undefined;
  let sum = 0;
  for (let i = 0; i < lengths.length; i++) {
    const n = lengths[i];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0 || typeof hashes[i] !== 'string' || !HASH_RE.test(hashes[i])) return undefined;
    sum += n;
  }
  return sum === size ? { size, lengths, hashes } : undefined;
}
