/**
 * The fixed parts of the ignore rules: what is left out before any ignore file
 * is read, and the names of the files that carry rules.
 */

/** Name of the per-directory ignore file; it applies to its own subtree. */
export const GITIGNORE_FILE = '.gitignore';

/**
 * Root ignore files, by precedence: only the first that exists is read. They
 * come from the tools skiff stands in for (odo, kf, cf), so a project that
 * already has one keeps working unchanged.
 */
export const ROOT_IGNORE_FILES = ['.skiffignore', '.odoignore', '.kfignore', '.cfignore'] as const;
export type RootIgnoreFileName = (typeof ROOT_IGNORE_FILES)[number];

/**
 * Ignored unless an ignore file re-includes them (`!pattern`), at any depth.
 *
 * - `.git`: the repository (a directory, or the `.git` file of a submodule or
 *   worktree); useless in the container and large.
 * - `.skiff/`, `.odo/`: local state of skiff and of odo.
 * - `*.swp`, `*.swo`: vim swap files; `*~`: backups of vim, emacs and others;
 *   `.#*`: emacs lock files (dangling symlinks); `4913`: the file vim creates
 *   and removes at once to probe whether a directory is writable. Each save
 *   in an editor would otherwise sync one or two files nobody wants.
 * - `.skiff-tmp-*`: the agent's temporary names; it refuses them on the wire
 *   because its start-up sweep deletes them.
 *
 * `*.tmp` is deliberately not here: projects keep real data under that name.
 */
export const DEFAULT_IGNORE_PATTERNS: readonly string[] = [
  '.git',
  '.skiff/',
  '.odo/',
  '*.swp',
  '*.swo',
  '*~',
  '.#*',
  '4913',
  '.skiff-tmp-*',
];

/**
 * Top-level names ignored whatever any ignore file says (compared as names,
 * not patterns: they are tested for every path). The root `.skiff` holds the
 * index, which is rewritten after every synced batch: syncing it would make
 * every batch start the next one.
 */
export const ALWAYS_IGNORED_ROOT_NAMES: ReadonlySet<string> = new Set(['.skiff']);

/**
 * Matching is case-sensitive, as git's is by default on Linux, where the
 * synced tree ends up.
 */
export const IGNORE_CASE = false;
