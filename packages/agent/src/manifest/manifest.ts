import { EMPTY_DIGEST, EntryType, entryLine, parentOf, xorDigest, type Entry } from '@skiff/protocol';

/** Hash of one entry line (the protocol hasher's xxhash64). */
export type LineHash = (line: string) => string;

/**
 * The agent's view of its root: every path under it with what it is, plus the
 * manifest digest (XOR of the hash of every entry line, see protocol entry.ts).
 *
 * Invariant: `digest` always equals manifestDigest(entries()). Each change XORs
 * out the line of the entry it replaces and XORs in the new one, so keeping the
 * digest current costs one string hash per change and a reconnect needs no
 * rescan. A children index per directory makes a recursive delete cost the
 * size of the subtree, not the size of the manifest.
 */
export class Manifest {
  private readonly byPath = new Map<string, Entry>();
  /** Directory path ('' for the root) → wire paths of its direct children. */
  private readonly children = new Map<string, Set<string>>();
  private current = EMPTY_DIGEST;

  constructor(private readonly hashLine: LineHash) {}

  get digest(): string {
    return this.current;
  }

  get size(): number {
    return this.byPath.size;
  }

  get(path: string): Entry | undefined {
    return this.byPath.get(path);
  }

  entries(): IterableIterator<Entry> {
    return this.byPath.values();
  }

  /**
   * Records `entry`, replacing whatever was at its path. A directory replaced by
   * a file or a symlink loses its subtree, as it does on disk.
   */
  set(entry: Entry): void {
    const old = this.byPath.get(entry.path);
    if (old !== undefined) {
      if (old.type === EntryType.DIR && entry.type !== EntryType.DIR) this.removeChildren(entry.path);
      this.current = xorDigest(this.current, this.hashLine(entryLine(old)));
    } else {
      this.link(entry.path);
    }
    this.byPath.set(entry.path, entry);
    this.current = xorDigest(this.current, this.hashLine(entryLine(entry)));
  }

  /** Removes `path` and, for a directory, everything under it. Returns how many entries went. */
  deleteTree(path: string): number {
    const old = this.byPath.get(path);
    if (old === undefined) return 0;
    let removed = 0;
    if (old.type === EntryType.DIR) removed += this.removeChildren(path);
    this.byPath.delete(path);
    this.current = xorDigest(this.current, this.hashLine(entryLine(old)));
    this.unlink(path);
    return removed + 1;
  }

  private removeChildren(dir: string): number {
    const kids = this.children.get(dir);
    if (kids === undefined) return 0;
    let removed = 0;
    // Copy: deleteTree unlinks each child from this very set.
    for (const child of [...kids]) removed += this.deleteTree(child);
    this.children.delete(dir);
    return removed;
  }

  private link(path: string): void {
    const dir = parentOf(path);
    let kids = this.children.get(dir);
    if (kids === undefined) {
      kids = new Set();
      this.children.set(dir, kids);
    }
    kids.add(path);
  }

  private unlink(path: string): void {
    const dir = parentOf(path);
    const kids = this.children.get(dir);
    if (kids === undefined) return;
    kids.delete(path);
    if (kids.size === 0) this.children.delete(dir);
  }
}
