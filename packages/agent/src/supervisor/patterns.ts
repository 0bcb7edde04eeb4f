import ignore from 'ignore';

/**
 * Gitignore-style path patterns (the `ignore` package, the same syntax as
 * skiff's ignore files) for `assembleOn` and `hotReload`. Pure.
 *
 * Paths are wire paths: relative, '/'-separated, normalised. A pattern
 * `src/` matches everything under src, `*.css` matches at any depth, a leading
 * `/` anchors at the root, `!pattern` re-excludes.
 */
export type PathMatcher = (path: string) => boolean;

/** A matcher for `patterns`, or null when there are none (the caller decides what "no patterns" means). */
export function compilePatterns(patterns: readonly string[] | undefined): PathMatcher | null {
  if (patterns === undefined || patterns.length === 0) return null;
  const ig = ignore().add([...patterns]);
  return (path) => {
    // `ignore` throws on paths it considers not relative ('', './x', '/x');
    // such a path cannot come from a valid batch, so it matches nothing.
    if (!ignore.isPathValid(path)) return false;
    return ig.ignores(path);
  };
}

/** True when `paths` is non-empty and every one matches. */
export function allMatch(matcher: PathMatcher | null, paths: readonly string[]): boolean {
  return matcher !== null && paths.length > 0 && paths.every(matcher);
}

/** True when some path matches. */
export function someMatch(matcher: PathMatcher | null, paths: readonly string[]): boolean {
  return matcher !== null && paths.some(matcher);
}
