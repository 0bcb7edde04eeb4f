import { fileURLToPath } from 'node:url';
import { loadAddonOrReason, type AddonOutcome } from '../native-fs/load-addon.ts';

/** What packages/agent/native/reaper.c exports. */
export interface ReaperAddon {
  /** waitpid(pid, WNOHANG): the exit when `pid` was a zombie child of ours, else null. Throws for pid <= 0. */
  reap(pid: number): { pid: number; status: number; exitCode: number | null; signal: number | null } | null;
  /** prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are reparented to us. */
  setChildSubreaper(): boolean;
  isChildSubreaper(): boolean;
}

/** Explicit location of reaper.node, for an agent copied somewhere without the package layout. */
export const REAPER_ADDON_VAR = 'SKIFF_AGENT_REAPER_ADDON';

/**
 * Where reaper.node may be, first match wins: the explicit variable; next to
 * the running file (the self-contained bundle, dist/bundle/ or wherever
 * `copy-to` put it, ships the addon beside skiff-agent.js); the package's
 * build output seen from dist/skiff-agent.js or from the source (src/init/).
 */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env, base: string = import.meta.url): string[] {
  const candidates: string[] = [];
  const explicit = env[REAPER_ADDON_VAR];
  if (explicit) candidates.push(explicit);
  for (const relative of ['./reaper.node', '../native/build/Release/reaper.node', '../../native/build/Release/reaper.node']) {
    candidates.push(fileURLToPath(new URL(relative, base)));
  }
  return candidates;
}

export type AddonLoad = AddonOutcome<ReaperAddon>;

export function loadReaperAddon(env: NodeJS.ProcessEnv = process.env): AddonLoad {
  return loadAddonOrReason<ReaperAddon>(addonCandidates(env), (a) => (typeof a.reap === 'function' ? null : 'reap'));
}
