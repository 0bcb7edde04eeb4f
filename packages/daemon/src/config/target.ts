import { ErrorCode, SkiffError } from '@skiff/protocol';

/**
 * Where a project's agent runs: the one vocabulary for skiff.yaml's `target`,
 * the `--target` flag and the control API. Kept apart from the skiff.yaml
 * parser so that the CLI can check a flag without loading a YAML library.
 */
export const Target = { LOCAL: 'local', DOCKER: 'docker', KUBERNETES: 'kubernetes' } as const;
export type Target = (typeof Target)[keyof typeof Target];

export const TARGETS: readonly Target[] = Object.values(Target);

export function isTarget(value: unknown): value is Target {
  return typeof value === 'string' && (TARGETS as readonly string[]).includes(value);
}

/** The valid values, quoted, for messages: `"local", "docker", "kubernetes"`. */
export function targetChoices(): string {
  return TARGETS.map((t) => `"${t}"`).join(', ');
}

/** `value` as a Target, or SKIFF_E_CONFIG naming `source` (e.g. `--target`) and the valid values. */
export function parseTarget(value: unknown, source: string): Target {
  if (isTarget(value)) return value;
  throw new SkiffError(ErrorCode.CONFIG, `${source} must be one of ${targetChoices()}, got ${JSON.stringify(value)}`);
}

/**
 * The target of a session or a push, decided in one place: the command
 * line's choice, else the project's skiff.yaml, else local.
 */
export function resolveTarget(flag: Target | undefined, configured: Target | undefined): Target {
  return flag ?? configured ?? Target.LOCAL;
}
