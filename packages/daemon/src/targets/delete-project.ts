import { loadProjectConfig, toAppConfig } from '../config/project.ts';
import { resolveTarget, type Target } from '../config/target.ts';
import { openTarget } from './open.ts';

export interface DeleteResult {
  target: Target;
  /** What was removed, one line each ("container skiff-app-1a2b", "volume ...", "agent root /..."). */
  removed: string[];
}

/**
 * `skiff delete`: removes everything the project's target made (the local
 * target's private root; a Docker container and its volumes; a Kubernetes
 * instance's objects), found by the project's identity, whether a session
 * runs or not. The caller stops a running session first.
 */
export async function deleteProjectTarget(root: string, flag: Target | undefined, where: { localRoot?: string; kubeContext?: string; namespace?: string } = {}): Promise<DeleteResult> {
  const config = await loadProjectConfig(root);
  const target = resolveTarget(flag, config.target);
  const driver = openTarget(target, { projectRoot: root, config, appSpec: toAppConfig(config), ...where });
  return { target, removed: await driver.delete() };
}
