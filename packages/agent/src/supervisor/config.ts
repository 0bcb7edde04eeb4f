import { APP_CONFIG_ENV, ErrorCode, SkiffError, appSpecProblem, normaliseAppSpec, type AppSpec } from '@skiff/protocol';

/**
 * What the supervisor runs: an AppSpec (first from SKIFF_APP, later from the
 * daemon's APP_SPEC frames), plus the directory it runs in (the sync root).
 * `run` and `assemble` are shell command lines, run with `/bin/sh -c` in
 * `workdir`.
 */
export interface AppConfig extends AppSpec {
  workdir: string;
}

/** The variable that carries the initial app spec (JSON of AppConfig without workdir). */
export const APP_CONFIG_VAR = APP_CONFIG_ENV;

function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return JSON.stringify(value) ?? String(value);
}

/**
 * The app config from the environment. `root` (the directory the agent syncs
 * into) is the working directory: SKIFF_APP does not carry one, because only
 * the agent knows where its root is (a private directory for the local target,
 * the source volume in a container). An unset or empty SKIFF_APP is an empty
 * config: the supervisor then looks for `.s2i/bin/run` after the first sync.
 */
export function appConfigFromEnv(env: Record<string, string | undefined>, root: string): AppConfig {
  const text = env[APP_CONFIG_VAR];
  if (text === undefined || text.trim() === '') return { workdir: root };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SkiffError(ErrorCode.CONFIG, `${APP_CONFIG_VAR} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseAppConfig(raw, root);
}

/** Validates a decoded SKIFF_APP value (the same check as an APP_SPEC frame's). Pure. */
export function parseAppConfig(raw: unknown, root: string): AppConfig {
  const problem = appSpecProblem(raw);
  if (problem !== null) {
    const what = problem.field === '' ? APP_CONFIG_VAR : `${APP_CONFIG_VAR}: "${problem.field}"`;
    throw new SkiffError(ErrorCode.CONFIG, `${what} must be ${problem.expected}, got ${show(problem.value)}`);
  }
  return { ...normaliseAppSpec(raw as Record<string, unknown>), workdir: root };
}
