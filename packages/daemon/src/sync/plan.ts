import { EntryType, parentOf, type Entry } from '@skiff/protocol';
import { deletionRoots, diff } from '../core/diff.ts';
import { OpKind, type BatchOp } from './batch-ops.ts';

/**
 * The operations that turn the agent's tree (`remote`) into the local one.
 * Pure. Invariants the agent relies on:
 *  - directories come first, parents before children;
 *  - then copies (moves), before any write: a write may replace a directory
 *    on the way to a copy's source;
 *  - deletes come last (the agent applies them at commit, after the writes);
 *  - a path that is written in this batch is never also deleted: the write
 *    replaces whatever was in the way (a file that became a directory or the
 *    reverse), and a commit-time delete would otherwise remove the new entry;
 *  - a rename (a file gone from one path and the same content new at
 *    another, see core/diff.ts) travels as a COPY from the old path plus the
 *    delete of the old path, so no content is sent again; without `copies`
 *    (an agent that does not take them), as a write of the new path.
 *
 * Paths for which `ignored(path, isDir)` holds on the agent's side are not
 * skiff's: never deleted, never compared (what `assemble` built there stays).
 */
export interface PlanOptions {
  /** The agent takes COPY frames. */
  copies?: boolean;
  /** Whether a path of the agent's tree is ignored by the project's rules (itself or a directory above it). */
  ignored?: (path: string, isDir: boolean) => boolean;
}

export function planOps(remote: ReadonlyMap<string, Entry>, local: ReadonlyMap<string, Entry>, opts: PlanOptions = {}): BatchOp[] {
  const d = diff(opts.ignored ? visible(remote, opts.ignored) : remote, local);
  const dirs: Entry[] = [...d.dirsCreated];
  const writes: Entry[] = [...d.created, ...d.modified];
  const copies: Array<{ entry: Entry; from: string }> = [];
  for (const { from, to } of d.renamed) {
    // The source must still be the old file when the copy runs: not replaced here by another entry, and a real hash.
    if (opts.copies && to.hash !== '' && !local.has(from.path)) copies.push({ entry: to, from: from.path });
    else writes.push(to);
  }

  // A directory whose mode changed shows up as modified: MKDIR chmods an existing one.
  const ops: BatchOp[] = [];
  const written = new Set<string>();
  for (const entry of [...dirs, ...writes.filter((e) => e.type === EntryType.DIR)].sort(byPath)) {
    if (written.has(entry.path)) continue;
    written.add(entry.path);
    ops.push({ kind: OpKind.MKDIR, entry });
  }
  for (const { entry, from } of copies.sort((a, b) => byPath(a.entry, b.entry))) {
    written.add(entry.path);
    ops.push({ kind: OpKind.COPY, entry, from });
  }
  for (const entry of writes.sort(byPath)) {
    if (entry.type === EntryType.DIR || written.has(entry.path)) continue;
    written.add(entry.path);
    if (entry.type === EntryType.SYMLINK) ops.push({ kind: OpKind.SYMLINK, entry });
    else {
      const base = remote.get(entry.path);
      ops.push(base?.type === EntryType.FILE && base.hash !== '' ? { kind: OpKind.FILE, entry, base } : { kind: OpKind.FILE, entry });
    }
  }
  for (const root of deletionRoots(d)) {
    for (const path of opts.ignored ? sparingIgnored(root, remote, opts.ignored) : [root]) {
      if (!written.has(path)) ops.push({ kind: OpKind.DELETE, path });
    }
  }
  return ops;
}

/**
 * The deletes that remove `root` from the agent's tree but spare what the
 * project ignores under it: a directory holding an ignored entry (build/
 * with its *.o) is not deleted whole; its other entries are, one by one, and
 * the directory stays for what it still holds.
 */
function sparingIgnored(root: string, remote: ReadonlyMap<string, Entry>, ignored: (path: string, isDir: boolean) => boolean): string[] {
  if (remote.get(root)?.type !== EntryType.DIR) return [root];
  const prefix = `${root}/`;
  const under = [...remote.values()].filter((e) => e.path.startsWith(prefix));
  const spared = under.filter((e) => ignored(e.path, e.type === EntryType.DIR)).map((e) => e.path);
  if (spared.length === 0) return [root];
  const holdsSpared = (dir: string) => spared.some((p) => p.startsWith(`${dir}/`));
  const isSpared = (path: string) => spared.some((p) => path === p || path.startsWith(`${p}/`));
  const out: string[] = [];
  const visit = (dir: string): void => {
    for (const e of under) {
      if (parentOf(e.path) !== dir || isSpared(e.path)) continue;
      if (e.type === EntryType.DIR && holdsSpared(e.path)) visit(e.path);
      else out.push(e.path);
    }
  };
  visit(root);
  return out.sort();
}

/** The entries of `tree` that the project's rules do not ignore. */
export function visible<E extends Entry>(tree: ReadonlyMap<string, E>, ignored: (path: string, isDir: boolean) => boolean): Map<string, E> {
  const out = new Map<string, E>();
  for (const [path, e] of tree) if (!ignored(path, e.type === EntryType.DIR)) out.set(path, e);
  return out;
}

function byPath(a: Entry, b: Entry): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * What planOps plans for `entries` against an empty agent, without the diff:
 * a directory, a file or a symlink each (a first sync streams the scan's
 * entries as the walk finds them, SyncEngine.syncIntoEmptyAgent). The walk hands a
 * directory's own entry over before anything under it, and sendBatch sends
 * each part's directories before its files, so a parent always comes first.
 */
export function opsForEmptyAgent(entries: readonly Entry[]): BatchOp[] {
  return entries.map((entry): BatchOp => {
    if (entry.type === EntryType.DIR) return { kind: OpKind.MKDIR, entry };
    if (entry.type === EntryType.SYMLINK) return { kind: OpKind.SYMLINK, entry };
    return { kind: OpKind.FILE, entry };
  });
}
