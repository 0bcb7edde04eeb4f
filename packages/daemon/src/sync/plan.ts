import { EntryType, type Entry } from '@skiff/protocol';
import { deletionRoots, diff } from '../core/diff.ts';
import { OpKind, type BatchOp } from './batch-ops.ts';

/**
 * The operations that turn the agent's tree (`remote`) into the local one.
 * Pure. Invariants the agent relies on:
 *  - directories come first, parents before children;
 *  - deletes come last (the agent applies them at commit, after the writes);
 *  - a path that is written in this batch is never also deleted: the write
 *    replaces whatever was in the way (a file that became a directory or the
 *    reverse), and a commit-time delete would otherwise remove the new entry;
 *  - a rename travels as a write of the new path and a delete of the old.
 */
export function planOps(remote: ReadonlyMap<string, Entry>, local: ReadonlyMap<string, Entry>): BatchOp[] {
  const d = diff(remote, local);
  const dirs: Entry[] = [...d.dirsCreated];
  const writes: Entry[] = [...d.created, ...d.modified, ...d.renamed.map((r) => r.to)];

  // A directory whose mode changed shows up as modified: MKDIR chmods an existing one.
  const ops: BatchOp[] = [];
  const written = new Set<string>();
  for (const entry of [...dirs, ...writes.filter((e) => e.type === EntryType.DIR)].sort(byPath)) {
    if (written.has(entry.path)) continue;
    written.add(entry.path);
    ops.push({ kind: OpKind.MKDIR, entry });
  }
  for (const entry of writes.sort(byPath)) {
    if (entry.type === EntryType.DIR || written.has(entry.path)) continue;
    written.add(entry.path);
    ops.push(entry.type === EntryType.SYMLINK ? { kind: OpKind.SYMLINK, entry } : { kind: OpKind.FILE, entry });
  }
  for (const path of deletionRoots(d)) {
    if (!written.has(path)) ops.push({ kind: OpKind.DELETE, path });
  }
  return ops;
}

function byPath(a: Entry, b: Entry): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

