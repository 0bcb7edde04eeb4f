import { parentOf } from '@skiff/protocol';
import { ALWAYS_IGNORED_ROOT_NAMES, DEFAULT_IGNORE_PATTERNS, type RootIgnoreFileName } from './defaults.ts';
import { RuleLayer, Verdict } from './layer.ts';

/** The root ignore file in use: the first of ROOT_IGNORE_FILES that exists. */
export interface RootIgnoreFile {
  name: RootIgnoreFileName;
  text: string;
}

export interface IgnoreMatcherInit {
  /** Text of each `.gitignore`, by the wire path of the directory holding it ('' for the root). */
  gitignores?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** The root ignore file, when there is one. */
  rootIgnore?: RootIgnoreFile | null;
}

/**
 * Past this many remembered directory verdicts the memo is dropped and
 * rebuilt on demand, so a long-lived matcher stays small whatever it is asked.
 */
export const DIR_VERDICT_MEMO_LIMIT = 100_000;

/**
 * Decides which wire paths are left out of the sync. Pure: the rules come in
 * as text, no file is read here.
 *
 * Layering. A path is tested against, in order:
 *   1. DEFAULT_IGNORE_PATTERNS (rooted at the tree root);
 *   2. each `.gitignore` from the root down to the directory holding the path,
 *      each with patterns relative to its own directory (so `/build` anchors
 *      to that directory, as in git); a `.gitignore` inside a directory does
 *      not apply to the directory itself;
 *   3. the root ignore file (.skiffignore, .odoignore, .kfignore or .cfignore);
 *   4. ALWAYS_IGNORED_ROOT_NAMES, which nothing re-includes.
 * The last layer with a matching rule decides, and within a layer the last
 * matching rule does, so a deeper `.gitignore` overrides a shallower one and
 * the root ignore file's `!pattern` re-includes what any `.gitignore`
 * excluded.
 *
 * Directories. A path is ignored when it is itself ignored by the layering
 * above or when any directory above it is. As in git, nothing below an
 * ignored directory can be re-included by a rule about the file
 * (`build/` then `!build/keep.txt` keeps build/ out); to re-include it, the
 * directory itself must be re-included (`!build/`) in a later layer, which
 * in practice means the root ignore file.
 */
export class IgnoreMatcher {
  private readonly defaults = new RuleLayer('', DEFAULT_IGNORE_PATTERNS);
  private root: RuleLayer | null = null;
  private rootFile: RootIgnoreFile | null = null;
  private readonly gitignores = new Map<string, RuleLayer>();
  /** The .gitignore layers that apply to paths in a directory, root first. */
  private readonly chains = new Map<string, readonly RuleLayer[]>();
  /** Whether a directory is ignored, counting its parents. */
  private readonly dirVerdicts = new Map<string, boolean>();
  /** How many times verdicts were forgotten: rules of a directory made before the last time look their parts up again. */
  private forgotten = 0;

  constructor(init: IgnoreMatcherInit = {}) {
    const gitignores = init.gitignores ?? {};
    const pairs = gitignores instanceof Map ? gitignores.entries() : Object.entries(gitignores);
    for (const [dir, text] of pairs) this.gitignores.set(dir, new RuleLayer(dir, text));
    this.setRootIgnore(init.rootIgnore ?? null);
  }

  /** The root ignore file in use, if any. */
  get rootIgnore(): RootIgnoreFile | null {
    return this.rootFile;
  }

  /** Directories whose `.gitignore` is in effect, sorted. */
  get gitignoreDirs(): string[] {
    return [...this.gitignores.keys()].sort();
  }

  /**
   * Sets (or replaces) the `.gitignore` of `dir`. Returns false, changing
   * nothing, when the text is the one already in effect, so a re-read of an
   * unchanged file keeps every memoised verdict.
   */
  addGitignore(dir: string, text: string): boolean {
    if (this.gitignores.get(dir)?.source === text) return false;
    this.gitignores.set(dir, new RuleLayer(dir, text));
    this.forget();
    return true;
  }

  /** Drops the `.gitignore` of `dir`. Returns whether there was one. */
  removeGitignore(dir: string): boolean {
    if (!this.gitignores.delete(dir)) return false;
    this.forget();
    return true;
  }

  /** Replaces the root ignore file (null: none exists). */
  setRootIgnore(file: RootIgnoreFile | null): void {
    if (file?.name === this.rootFile?.name && file?.text === this.rootFile?.text) return;
    this.rootFile = file;
    this.root = file === null ? null : new RuleLayer('', file.text);
    this.forget();
  }

  /**
   * Whether `relPath` (a wire path; '' is the root, never ignored) is left
   * out. `isDir` says whether the path is a directory, for `name/` patterns;
   * a symlink counts as a file, as in git.
   */
  isIgnored(relPath: string, isDir: boolean): boolean {
    if (relPath === '') return false;
    const parent = parentOf(relPath);
    if (parent !== '' && this.isDirIgnored(parent)) return true;
    return this.decide(relPath, parent, isDir);
  }

  /**
   * The rules for the entries of one directory: `inDir(dir).isIgnored(name,
   * rel, isDir)` answers what isIgnored(rel, isDir) does for rel = dir/name,
   * with what every entry of the directory shares (its parents' verdict, its
   * chain of .gitignore layers) looked up once instead of per entry. A walk
   * asks it of every entry: for the 54,000 of the reference tree, 22 vs
   * 31 ms on a cold process, 6-9 vs 13-22 ms warm.
   */
  inDir(dir: string): DirRules {
    let generation = -1;
    let ignored = false;
    let chain: readonly RuleLayer[] = [];
    return {
      isIgnored: (name, relPath, isDir) => {
        // A rule file read meanwhile (verdicts forgotten) may change what the directory's entries share.
        if (generation !== this.forgotten) {
          ignored = dir !== '' && this.isDirIgnored(dir);
          chain = this.chainFor(dir);
          generation = this.forgotten;
        }
        return ignored || this.decideIn(relPath, name, dir, chain, isDir);
      },
    };
  }

  /** decide() for an entry `name` of `parent`, whose chain of .gitignore layers is `chain`. */
  private decideIn(relPath: string, name: string, parent: string, chain: readonly RuleLayer[], isDir: boolean): boolean {
    if (parent === '' && ALWAYS_IGNORED_ROOT_NAMES.has(name)) return true;
    let verdict: Verdict = this.root ? this.root.test(relPath, isDir, name) : Verdict.NONE;
    for (let i = chain.length - 1; i >= 0 && verdict === Verdict.NONE; i--) {
      const layer = chain[i];
      verdict = layer.test(layer.dir === '' ? relPath : relPath.slice(layer.dir.length + 1), isDir, name);
    }
    if (verdict === Verdict.NONE) verdict = this.defaults.test(relPath, isDir, name);
    return verdict === Verdict.IGNORED;
  }

  private isDirIgnored(dir: string): boolean {
    const known = this.dirVerdicts.get(dir);
    if (known !== undefined) return known;
    const parent = parentOf(dir);
    const ignored = (parent !== '' && this.isDirIgnored(parent)) || this.decide(dir, parent, true);
    if (this.dirVerdicts.size >= DIR_VERDICT_MEMO_LIMIT) this.dirVerdicts.clear();
    this.dirVerdicts.set(dir, ignored);
    return ignored;
  }

  /** The verdict of the layers on the path itself, last layer first. */
  private decide(relPath: string, parent: string, isDir: boolean): boolean {
    return this.decideIn(relPath, relPath.slice(relPath.lastIndexOf('/') + 1), parent, this.chainFor(parent), isDir);
  }

  private chainFor(dir: string): readonly RuleLayer[] {
    let chain = this.chains.get(dir);
    if (chain) return chain;
    const own = this.gitignores.get(dir);
    const above = dir === '' ? [] : this.chainFor(parentOf(dir));
    chain = own ? [...above, own] : above;
    if (this.chains.size >= DIR_VERDICT_MEMO_LIMIT) this.chains.clear();
    this.chains.set(dir, chain);
    return chain;
  }

  private forget(): void {
    this.forgotten++;
    this.chains.clear();
    this.dirVerdicts.clear();
  }
}

/** A matcher from rule texts; see IgnoreMatcher for how they combine. */
export function createIgnoreMatcher(init: IgnoreMatcherInit = {}): IgnoreMatcher {
  return new IgnoreMatcher(init);
}

/** The rules for the entries of one directory (IgnoreMatcher.inDir). */
export interface DirRules {
  /** Whether the entry `name` of the directory, at wire path `relPath`, is left out (see IgnoreMatcher.isIgnored). */
  isIgnored(name: string, relPath: string, isDir: boolean): boolean;
}
