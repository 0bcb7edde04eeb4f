import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TEMP_PREFIX } from '@skiff/agent';
import { listTree } from './tree-compare.ts';

/**
 * What may be on the agent after a batch was interrupted anywhere before its
 * commit: writes land one path at a time by rename, deletes wait for the
 * commit, so every path of the tree before the batch is still there, and
 * every entry is, by type, mode and every byte, either its version before
 * the batch or its version after it.
 */
export interface MixedVersions {
  /** One line per violation; empty when the root is a valid mix. */
  problems: string[];
  /** Paths the batch changes that already hold their new version. */
  landed: number;
  /** Paths the batch changes, or deletes, that still hold their old version, or are not there yet. */
  waiting: number;
}

export async function checkMixedVersions(root: string, before: string, after: string, skip: (rel: string) => boolean): Promise<MixedVersions> {
  const [now, old, next] = await Promise.all([listTree(root, skip), listTree(before, skip), listTree(after, skip)]);
  const out: MixedVersions = { problems: [], landed: 0, waiting: 0 };
  for (const rel of old.keys()) if (!now.has(rel)) out.problems.push(`lost: ${rel} (${old.get(rel)})`);
  for (const rel of next.keys()) if (!now.has(rel)) out.waiting++;
  for (const [rel, desc] of now) {
    const versions = [
      { dir: before, desc: old.get(rel), isNew: false },
      { dir: after, desc: next.get(rel), isNew: true },
    ];
    let candidates = versions.filter((v) => v.desc === desc);
    if (candidates.length === 0) {
      out.problems.push(`neither version: ${rel} is "${desc}", before "${old.get(rel) ?? 'absent'}", after "${next.get(rel) ?? 'absent'}"`);
      continue;
    }
    if (desc.startsWith('file')) {
      // Synchronous reads: hundreds of small files, one call each instead of a thread-pool round trip.
      const content = readFileSync(join(root, rel));
      candidates = candidates.filter((v) => content.equals(readFileSync(join(v.dir, rel))));
      if (candidates.length === 0) {
        out.problems.push(`partial or foreign content: ${rel} (${desc}) matches neither version byte for byte`);
        continue;
      }
    }
    // Only paths whose two versions differ tell how far the batch got.
    if (candidates.length === 1) {
      if (candidates[0].isNew) out.landed++;
      else out.waiting++;
    }
  }
  return out;
}

/** Paths (relative) of every temporary file of the agent under `root`. */
export async function tempFilesUnder(root: string): Promise<string[]> {
  const names = (await readdir(root, { recursive: true })) as string[];
  return names.filter((rel) => rel.split('/').pop()!.startsWith(TEMP_PREFIX));
}
