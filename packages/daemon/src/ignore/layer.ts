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

  constructor(dir: string, patterns: string | readonly string[]) {
    this.dir = dir;
    const lines = typeof patterns === 'string' ? splitPatternLines(patterns) : [...patterns];
    this.source = typeof patterns === 'string' ? patterns : lines.join('\n');
    const dirLines = lines.map(asDirectoryPattern);
    this.files = new View(lines);
    this.dirs = new View(dirLines);
    this.byName = dirLines.every((line) => line.startsWith('#') || !line.includes('/'));
  }

  /** `relPath` is relative to this layer's directory, without a trailing slash. */
  test(relPath: string, isDir: boolean): Verdict {
    const path = this.byName ? relPath.slice(relPath.lastIndexOf('/') + 1) : relPath;
    return (isDir ? this.dirs : this.files).test(path);
  }
}
