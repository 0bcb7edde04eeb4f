import { EntryType, entryLine, parentOf, type Entry } from '@skiff/protocol';

/** Hash of one entry line (the protocol hasher's xxhash64). */
export type LineHash = (line: string) => string;

/** An entry with the two 32-bit halves of its line's hash, kept so that removing it costs no hashing. */
interface Slot {
  entry: Entry;
  hi: number;
  lo: number;
  /** The saved manifest's row it came from unchanged (see adoptSaved), while it is that entry. */
  row?: number;
}

/**
 * Rows of a saved manifest, vouched for by the start-up scan, that the
 * manifest holds without having made their entries yet (see adoptSaved).
 */
export interface SavedRows {
  /** Row index of `path`, or undefined. */
  rowOf(path: string): number | undefined;
  /** Path of row `i`. */
  pathAt(i: number): string;
  /** The entry of row `i`. */
  entryAt(i: number, path: string): Entry;
  lineHi(i: number): number;
  lineLo(i: number): number;
}

/**
 * The agent's view of its root: every path under it with what it is, plus the
 * manifest digest (XOR of the hash of every entry line, see protocol entry.ts).
 *
 * Invariant: `digest` always equals manifestDigest(entries()). Each change XORs
 * out the line hash of the entry it replaces (kept beside the entry, so it is
 * never computed twice) and XORs in the new one's, so keeping the digest
 * current costs one string hash per change and a reconnect needs no rescan.
 * The digest is held as two 32-bit numbers: parsing and formatting hex at
 * every change cost more than the hash itself. A children index per directory
 * makes a recursive delete cost the size of the subtree, not the size of the
 * manifest.
 *
 * Rows of the manifest saved by the last run that the start-up scan found
 * unchanged are held as row numbers (`held`), with their line hashes already
 * in the digest: a restart with nothing changed makes no entry object for
 * them (measured: a third of the start-up scan's time went to making and
 * collecting 50,000 of them). A row becomes a real entry when it is asked
 * for; everything that walks the manifest or its children (entries(),
 * deleteTree, a directory replaced) turns all of them into entries first.
 */
export class Manifest {
  private byPath = new Map<string, Slot>();
  /** Directory path ('' for the root) → wire paths of its direct children. */
  private children = new Map<string, Set<string>>();
  private hi = 0;
  private lo = 0;
  private saved: SavedRows | null = null;
  /** Rows of `saved` held and not made into entries yet (1), per row. */
  private held: Uint8Array | null = null;
  private heldCount = 0;

  constructor(private readonly hashLine: LineHash) {}

  get digest(): string {
    return (this.hi >>> 0).toString(16).padStart(8, '0') + (this.lo >>> 0).toString(16).padStart(8, '0');
  }

  get size(): number {
    return this.byPath.size + this.heldCount;
  }

  get(path: string): Entry | undefined {
    return (this.byPath.get(path) ?? this.promote(path))?.entry;
  }

  *entries(): IterableIterator<Entry> {
    this.promoteAll();
    for (const slot of this.byPath.values()) yield slot.entry;
  }

  /**
   * Holds the rows of `saved` marked in `rows` (vouched for by the start-up
   * scan), their line hashes given to the digest now, their entries made
   * only when asked for. Only on a manifest that holds none yet.
   */
  adoptSaved(saved: SavedRows, rows: Uint8Array): void {
    if (this.saved !== null) throw new Error('Manifest.adoptSaved: rows are held already');
    this.saved = saved;
    this.held = rows;
    for (let i = 0; i < rows.length; i++) {
      if (rows[i] === 0) continue;
      this.heldCount++;
      this.hi ^= saved.lineHi(i);
      this.lo ^= saved.lineLo(i);
    }
  }

  /** The saved row `path`'s entry is still the one of (see adoptSaved), or undefined. */
  rowOf(path: string): number | undefined {
    return (this.byPath.get(path) ?? this.promote(path))?.row;
  }

  /** Makes the held row of `path`, if any, a real entry; returns its slot. */
  private promote(path: string): Slot | undefined {
    if (this.held === null) return undefined;
    const row = this.saved!.rowOf(path);
    if (row === undefined || this.held[row] === 0) return undefined;
    return this.promoteRow(row, path);
  }

  private promoteRow(row: number, path: string): Slot {
    const saved = this.saved!;
    this.held![row] = 0;
    this.heldCount--;
    // Its line hash is in the digest already: it moves from the held part to the slot.
    const slot: Slot = { entry: saved.entryAt(row, path), hi: saved.lineHi(row), lo: saved.lineLo(row), row };
    this.byPath.set(path, slot);
    this.link(path);
    return slot;
  }

  /** Makes every held row a real entry, so that walks and the children index see them. */
  private promoteAll(): void {
    if (this.held === null) return;
    const held = this.held;
    for (let i = 0; i < held.length; i++) if (held[i] !== 0) this.promoteRow(i, this.saved!.pathAt(i));
    this.held = null;
    this.saved = null;
  }

  /**
   * Records `entry`, replacing whatever was at its path. A directory replaced by
   * a file or a symlink loses its subtree, as it does on disk.
   */
  set(entry: Entry): void {
    const h = this.hashLine(entryLine(entry));
    this.setHashed(entry, parseInt(h.slice(0, 8), 16), parseInt(h.slice(8, 16), 16));
  }

  /** set(), given the two halves of the entry's line hash (the addon hashed it as it wrote the file: apply/fast-files.ts). */
  setHashed(entry: Entry, hi: number, lo: number): void {
    const old = this.byPath.get(entry.path) ?? this.promote(entry.path);
    if (old !== undefined) {
      if (old.entry.type === EntryType.DIR && entry.type !== EntryType.DIR) this.removeChildren(entry.path);
      this.hi ^= old.hi;
      this.lo ^= old.lo;
    } else {
      this.link(entry.path);
    }
    const slot: Slot = { entry, hi, lo };
    this.byPath.set(entry.path, slot);
    this.hi ^= slot.hi;
    this.lo ^= slot.lo;
  }

  /** The two halves of the line hash of `path`'s entry, as the digest holds them. */
  lineHash(path: string): { hi: number; lo: number } | undefined {
    return this.byPath.get(path) ?? this.promote(path);
  }

  /** Removes `path` and, for a directory, everything under it. Returns how many entries went. */
  deleteTree(path: string): number {
    this.promoteAll();
    const old = this.byPath.get(path);
    if (old === undefined) return 0;
    let removed = 0;
    if (old.entry.type === EntryType.DIR) removed += this.removeChildren(path);
    this.byPath.delete(path);
    this.hi ^= old.hi;
    this.lo ^= old.lo;
    this.unlink(path);
    return removed + 1;
  }

  /** A new, empty manifest hashing lines the same way. */
  emptyLike(): Manifest {
    return new Manifest(this.hashLine);
  }

  /**
   * Takes over everything `other` holds, which is left empty. Only for an
   * empty manifest: a batch built apart (a first sync staged outside the
   * root) becomes the root's manifest once its files are in place.
   */
  adopt(other: Manifest): void {
    if (this.size !== 0 || other.held !== null) throw new Error('Manifest.adopt: this manifest is not empty');
    [this.byPath, other.byPath] = [other.byPath, this.byPath];
    [this.children, other.children] = [other.children, this.children];
    [this.hi, this.lo, other.hi, other.lo] = [other.hi, other.lo, 0, 0];
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
