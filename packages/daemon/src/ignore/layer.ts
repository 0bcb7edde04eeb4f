import ignore, { type Ignore } from 'ignore';
import { IGNORE_CASE } from './defaults.ts';
import { asDirectoryPattern, splitPatternLines } from './patterns.ts';

/** What one layer of rules says about a path. */
export const Verdict = {
  /** No rule of the layer matches: earlier layers decide. */
  NONE: 'none',
  IGNORED: 'ignored',
  /** A `!pattern` matches: re-included over earlier layers. */
  UNIGNORED: 'unignored',
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/**
 * Appended to every compiled layer so that no directory tested as a parent
 * ('a/', 'a/b/') is ever ignored within the layer. See RuleLayer.
 */
const OPEN_PARENT_DIRS = '!*/';

/**
 * The `ignore` package memoises every path it tests, and its parents, for the
 * life of the instance. A daemon tests every path of the tree and then every
 * watched change, so each view is recompiled (from the same patterns, which
 * is cheap) after this many tests, bounding that memo to a few megabytes.
 */
export const LAYER_TESTS_BEFORE_RECOMPILE = 65_536;

/** One compiled `ignore` instance with a bounded memo. */
class View {
  private ig: Ignore;
  private tests = 0;
  constructor(private readonly patterns: readonly string[]) {
    this.ig = View.compile(patterns);
  }
  private static compile(patterns: readonly string[]): Ignore {
    // allowRelativePaths: an odd path gets an answer instead of a throw.
    return ignore({ ignorecase: IGNORE_CASE, allowRelativePaths: true }).add([...patterns, OPEN_PARENT_DIRS]);
  }
  test(path: string): Verdict {
    if (++this.tests > LAYER_TESTS_BEFORE_RECOMPILE) {
      this.ig = View.compile(this.patterns);
      this.tests = 1;
    }
    const result = this.ig.test(path);
    return result.ignored ? Verdict.IGNORED : result.unignored ? Verdict.UNIGNORED : Verdict.NONE;
  }
}

/**
 * The rules of one ignore file (or of the built-in defaults), rooted at a
 * directory of the tree.
 *
 * A layer answers for the path itself only, never for its parents: whether
 * a parent directory is ignored is decided across all layers by the matcher,
 * which may have re-included a directory that this layer ignores. The
 * `ignore` package, though, always checks parents and lets an ignored parent
 * decide. Two compiled views get the path-only answer out of it:
 *
 * - every view ends with `!*` + `/`, which re-includes every directory tested
 *   in the trailing-slash form the package uses for parents, so parents never
 *   decide;
 * - paths are therefore always tested without a trailing slash; a directory
 *   is tested against the directory view, whose directory-only patterns
 *   (`target/`) have lost their slash and so match it as a plain path, and a
 *   file against the file view, where they stay directory-only.
 *
 * A layer none of whose patterns has a slash (once a directory-only slash is
 * dropped) matches by base name only, as git does for such patterns; it is
 * then tested with the base name alone, which spares the package its parent
 * walk and lets its memo serve every file of the same name. Most layers are
 * like this, the defaults included.
 *
 * Invariant: test(p, isDir) is the verdict of the last rule of this layer
 * that matches p itself, as `git check-ignore` would give it for p with no
 * parent excluded.
 */
export class RuleLayer {
  /** The layer's directory ('' for the root); its patterns are relative to it. */
  readonly dir: string;
  /** The text the layer was built from, to tell whether a re-read changed it. */
  readonly source: string;
  private readonly files: View;
  private readonly dirs: View;
  private readonly byName: boolean;
  /** For a layer matched by base name: names no pattern can match, told apart without the package. */
  private readonly cannotMatch: ((name: string) => boolean) | null;

  constructor(dir: string, patterns: string | readonly string[]) {
    this.dir = dir;
    const lines = typeof patterns === 'string' ? splitPatternLines(patterns) : [...patterns];
    this.source = typeof patterns === 'string' ? patterns : lines.join('\n');
    const dirLines = lines.map(asDirectoryPattern);
    this.files = new View(lines);
    this.dirs = new View(dirLines);
    this.byName = dirLines.every((line) => line.startsWith('#') || !line.includes('/'));
    this.cannotMatch = this.byName ? nameFilter(dirLines) : null;
  }

  /** `relPath` is relative to this layer's directory, without a trailing slash; `name` is its last segment. */
  test(relPath: string, isDir: boolean, name: string): Verdict {
    const path = this.byName ? name : relPath;
    if (this.cannotMatch?.(path)) return Verdict.NONE;
    return (isDir ? this.dirs : this.files).test(path);
  }
}

const GLOB_CHARS = /[*?[]/;

/**
 * A quick refusal for a layer matched by base name: each pattern's literal
 * head (before its first glob character) and tail (after its last) must
 * begin and end the name for the pattern to match it, so a name that fits
 * no pattern's head and tail matches none, and the package (a few regular
 * expressions per name, for every file of the tree) is not asked. A pattern
 * with a backslash escape or blanks around it, or any when case is ignored,
 * turns the filter off.
 * Returns null when no pattern is left to filter on.
 */
function nameFilter(lines: readonly string[]): ((name: string) => boolean) | null {
  if (IGNORE_CASE) return null;
  const fits: Array<{ head: string; tail: string; exact: boolean }> = [];
  for (const line of lines) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    // Spaces around a pattern follow rules of their own (leading ones count, trailing ones mostly not).
    if (line !== line.trim()) return null;
    const body = line.startsWith('!') ? line.slice(1) : line;
    if (body.includes('\\')) return null;
    const first = body.search(GLOB_CHARS);
    if (first < 0) {
      fits.push({ head: body, tail: body, exact: true });
      continue;
    }
    let last = first;
    for (let i = first; i < body.length; i++) if (GLOB_CHARS.test(body[i]) || body[i] === ']') last = i;
    fits.push({ head: body.slice(0, first), tail: body.slice(last + 1), exact: false });
  }
  if (fits.length === 0) return null;
  return (name) => {
    for (const f of fits) {
      if (f.exact ? name === f.head : name.length >= f.head.length + f.tail.length && name.startsWith(f.head) && name.endsWith(f.tail)) return false;
    }
    return true;
  };
}
