import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * skiff-launch (packages/agent/native/skiff-launch.c): the leader of the app's
 * process group that SIGKILLs the group when the agent dies, however it dies.
 * Without it the app runs under plain `/bin/sh -c` and outlives an agent
 * killed with SIGKILL (except as PID 1 of a container, whose death ends the
 * whole PID namespace).
 */
export const LAUNCHER_NAME = 'skiff-launch';

/** Explicit location of skiff-launch, for an agent copied somewhere without the package layout. */
export const LAUNCHER_VAR = 'SKIFF_AGENT_LAUNCHER';

/** What `skiff-launch --version` prints: the link contract this agent speaks (see skiff-launch.c). */
export const LAUNCHER_VERSION = 'skiff-launch 1';

/** How long the one probe run of a candidate may take (a static binary answers in a millisecond). */
export const LAUNCHER_PROBE_TIMEOUT_MS = 5_000;

export type LauncherLoad = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Where skiff-launch may be, first match wins: next to the running file (a
 * self-contained agent bundle); the package's build output seen from the
 * bundle (dist/) or from the source (src/supervisor/). SKIFF_AGENT_LAUNCHER,
 * when set, is the only place: an operator's explicit choice that is wrong
 * is reported, not papered over by another binary.
 */
export function launcherCandidates(env: NodeJS.ProcessEnv = process.env, base: string = import.meta.url): string[] {
  const explicit = env[LAUNCHER_VAR];
  if (explicit) return [explicit];
  return [`./${LAUNCHER_NAME}`, `../native/build/Release/${LAUNCHER_NAME}`, `../../native/build/Release/${LAUNCHER_NAME}`].map((relative) =>
    fileURLToPath(new URL(relative, base)),
  );
}

/**
 * The first candidate that runs and speaks this agent's link contract. Each
 * is run once with --version: a binary built for another C library or CPU
 * (an agent copied into a different image) fails here, not at the app's start.
 */
export function findLauncher(env: NodeJS.ProcessEnv = process.env): LauncherLoad {
  const candidates = launcherCandidates(env);
  const failures: string[] = [];
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const probe = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: LAUNCHER_PROBE_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
    const answer = probe.stdout?.trim() ?? '';
    if (probe.error === undefined && probe.status === 0 && answer === LAUNCHER_VERSION) return { ok: true, path };
    const why = probe.error?.message ?? (probe.status === 0 ? `answered ${JSON.stringify(answer)}, expected ${JSON.stringify(LAUNCHER_VERSION)}` : `exited with ${probe.status ?? probe.signal}`);
    failures.push(`${path}: ${why}`);
  }
  if (failures.length > 0) return { ok: false, reason: `${LAUNCHER_NAME} does not run here (${failures.join('; ')})` };
  return {
    ok: false,
    reason: `${LAUNCHER_NAME} not found (looked in ${candidates.join(', ')}; build it with: node packages/agent/native/build.mjs)`,
  };
}
