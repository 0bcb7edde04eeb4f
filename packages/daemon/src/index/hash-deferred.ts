import { join } from 'node:path';
import { EntryType, type Hasher } from '@skiff/protocol';
import { UNHASHED, type IndexEntry } from './entry.ts';
import { HASH_CHUNK_BYTES, hashFile, hashFileSync } from './hash-file.ts';

/** Hashing runs in slices of this many ms between yields to the event loop. */
export const HASH_SLICE_MS = 8;

/**
 * Hashes, in place, the files a deferHash scan left UNHASHED. A file that
 * vanished meanwhile is removed from `entries`; one that cannot be read keeps
 * UNHASHED (it is then sent, or reported, by the sync). Returns how many
 * files were hashed.
 */
export async function hashDeferred(root: string, entries: Map<string, IndexEntry>, hasher: Hasher): Promise<number> {
  const buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  let hashed = 0;
  let sliceStart = performance.now();
  for (const [path, entry] of entries) {
    if (entry.type !== EntryType.FILE || entry.hash !== UNHASHED) continue;
    try {
      const { hash, size } = entry.size <= HASH_CHUNK_BYTES ? hashFileSync(join(root, path), hasher, buffer, entry.size) : await hashFile(join(root, path), hasher, { buffer });
      entries.set(path, { ...entry, hash, size });
      hashed++;
    } catch (err) {
      const code = ((err as { cause?: NodeJS.ErrnoException }).cause ?? (err as NodeJS.ErrnoException)).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') entries.delete(path);
    }
    if (performance.now() - sliceStart > HASH_SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return hashed;
}
