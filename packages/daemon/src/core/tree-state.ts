import { EMPTY_DIGEST, entryLine, xorDigest, type Entry } from '@skiff/protocol';

/**
 * A tree of entries with its manifest digest kept current on every change, so
 * that comparing with the agent costs O(changed paths), not O(tree). Pure: the
 * 64-bit string hash is passed in.
 *
 * Invariant: `digest` always equals manifestDigest(entries) — each set/delete
 * XORs the old entry's line hash out and the new one's in.
 */
export class TreeState<E extends Entry = Entry> {
  private readonly map = new Map<string, E>();
  private _digest = EMPTY_DIGEST;

  constructor(
    private readonly h64: (s: string) => string,
    entries: Iterable<E> = [],
  ) {
    for (const e of entries) this.set(e);
  }

  get digest(): string {
    return this._digest;
  }

  get size(): number {
    return this.map.size;
  }

  get(path: string): E | undefined {
    return this.map.get(path);
  }

  has(path: string): boolean {
    return this.map.has(path);
  }

  values(): IterableIterator<E> {
    return this.map.values();
  }

  /** The live map, read-only: callers that need a snapshot copy it. */
  get entries(): ReadonlyMap<string, E> {
    return this.map;
  }

  set(entry: E): void {
    const old = this.map.get(entry.path);
    if (old) this._digest = xorDigest(this._digest, this.h64(entryLine(old)));
    this.map.set(entry.path, entry);
    this._digest = xorDigest(this._digest, this.h64(entryLine(entry)));
  }

  delete(path: string): E | undefined {
    const old = this.map.get(path);
    if (!old) return undefined;
    this.map.delete(path);
    this._digest = xorDigest(this._digest, this.h64(entryLine(old)));
    return old;
  }

  /** Deletes `path` and, when it is a directory, everything under it. O(tree) only then. */
  deleteTree(path: string): E[] {
    const removed: E[] = [];
    const top = this.delete(path);
    if (top) removed.push(top);
    if (!top || top.type === 'dir') {
      const prefix = `${path}/`;
      for (const p of [...this.map.keys()]) {
        if (p.startsWith(prefix)) removed.push(this.delete(p)!);
      }
    }
    return removed;
  }

  /** Paths at or under `path` (the path itself first when present). */
  pathsUnder(path: string): string[] {
    const out: string[] = this.map.has(path) ? [path] : [];
    const prefix = `${path}/`;
    for (const p of this.map.keys()) if (p.startsWith(prefix)) out.push(p);
    return out;
  }

  clone(): TreeState<E> {
    const copy = new TreeState<E>(this.h64);
    for (const [k, v] of this.map) copy.map.set(k, v);
    copy._digest = this._digest;
    return copy;
  }
}
