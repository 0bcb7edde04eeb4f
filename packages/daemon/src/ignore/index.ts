export {
  ALWAYS_IGNORED_ROOT_NAMES,
  DEFAULT_IGNORE_PATTERNS,
  GITIGNORE_FILE,
  IGNORE_CASE,
  ROOT_IGNORE_FILES,
  type RootIgnoreFileName,
} from './defaults.ts';
export { LAYER_TESTS_BEFORE_RECOMPILE, RuleLayer, Verdict } from './layer.ts';
export {
  createIgnoreMatcher,
  DIR_VERDICT_MEMO_LIMIT,
  IgnoreMatcher,
  type IgnoreMatcherInit,
  type RootIgnoreFile,
} from './matcher.ts';
export { LOAD_CONCURRENCY, loadIgnoreMatcher, readRootIgnore } from './load.ts';
export { asDirectoryPattern, splitPatternLines } from './patterns.ts';
