import { Target } from '../config/target.ts';
import { dockerTarget } from './docker/docker-target.ts';
import { kubernetesTarget } from './kubernetes/kube-target.ts';
import { localTarget } from './local-target.ts';
import type { TargetContext, TargetDriver } from './target.ts';

/**
 * The one place that maps a target's name to its driver. A target that is
 * not built into this skiff is refused here, never replaced by another.
 */
export function openTarget(kind: Target, ctx: TargetContext): TargetDriver {
  switch (kind) {
    case Target.LOCAL:
      return localTarget(ctx);
    case Target.DOCKER:
      return dockerTarget(ctx);
    case Target.KUBERNETES:
      return kubernetesTarget(ctx);
  }
}
