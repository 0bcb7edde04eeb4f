import type { ChildProcess } from 'node:child_process';

/**
 * Long-lived processes the benchmark starts (rsync daemons, agents, watcher
 * probes). Each is stopped by its owner in a finally block; this registry is
 * the last resort when the run itself is interrupted, so none outlives it.
 */
const live = new Set<ChildProcess>();

export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

export function killTracked(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}
