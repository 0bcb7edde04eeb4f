import { ErrorCode, SkiffError } from '@skiff/protocol';
import { Target } from '../config/project.ts';
import { dockerTarget } from './docker/docker-target.ts';
import { localTarget } from './local-target.ts';
import type { TargetContext, TargetDriver } from './target.ts';

/**
 * The one place that maps a target's name to its driver. A target that is
 * not built into this skiff is refused here, never replaced by another.
 */
export function openTarget(kind: string, ctx: TargetContext): TargetDriver {
  switch (kind) {
    case Target.LOCAL:
      return localTarget(ctx);
    case Target.DOCKER:
      return dockerTarget(ctx);
    case Target.KUBERNETES:
      throw new SkiffError(ErrorCode.CONFIG, `target "${kind}" is not available in this version of skiff; use "local"`);
    default:
      throw new SkiffError(ErrorCode.CONFIG, `unknown target "${kind}"; known targets: ${Object.values(Target).join(', ')}`);
  }
}

/**
 * The target, decided once: the command line's `--target`, else skiff.yaml's
 * `target`, else local (the config's default).
 */
export function resolveTarget(flag: string | undefined, configured: string): string {
  return flag ?? configured;
}
