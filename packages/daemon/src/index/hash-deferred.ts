import { join } from 'node:path';
import { EntryType, type Hasher } from '@skiff/protocol';
import { UNHASHED, type IndexEntry } from './entry.ts';
import { SLICE_MS, TimeSlicer } from '../util/time-slicer.ts';
import { HASH_CHUNK_BYTES, hashFile, hashFileSync } from './hash-file.ts';
import { isVanished } from './vanished.ts';

/** Hashing runs in slices between yields to the event loop (util/time-slicer.ts). */
export const HASH_SLICE_MS = SLICE_MS;

/**
 * Hashes, in place, the files a deferHash scan left UNHASHED, but those
 * `leave` names (a large file about to go as a delta is hashed as it is
 * sent: reading it twice was half the time of such a push). A file that
 * vanished meanwhile is removed from `entries`; one that cannot be read keeps
 * UNHASHED (it is then sent, or reported, by the sync). Returns how many
 * files were hashed.
 */
export async function hashDeferred(root: string, entries: Map<string, IndexEntry>, hasher: Hasher, leave: (entry: IndexEntry) => boolean = () => false): Promise<number> {
  const buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  let hashed = 0;
  const slicer = new TimeSlicer(HASH_SLICE_MS);
  for (const [path, entry] of entries) {
    if (entry.type !== EntryType.FILE || entry.hash !== UNHASHED || leave(entry)) continue;
    try {
      const { hash, size } = entry.size <= HASH_CHUNK_BYTES ? hashFileSync(join(root, path), hasher, buffer, entry.size) : await hashFile(join(root, path), hasher, { buffer });
      entries.set(path, { ...entry, hash, size });
      hashed++;
    } catch (err) {
      if (isVanished((err as { cause?: unknown }).cause ?? err)) entries.delete(path);
    }
    await slicer.maybeYield();
  }
  return hashed;
}
