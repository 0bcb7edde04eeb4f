/*
 * Restart backoff for an app that exits on its own. Pure.
 *
 * `failures` counts consecutive short runs, including the one that just ended:
 * the first exit waits `base`, each further quick exit doubles the wait up to
 * `cap`. A run that lasted `stableMs` or more resets the count, so an app that
 * crashes once a day restarts after `base`, not after `cap`.
 */

/** Consecutive failures after a run of `ranForMs` ended, given the count before it. */
export function nextFailures(previous: number, ranForMs: number, stableMs: number): number {
  return ranForMs >= stableMs ? 1 : previous + 1;
}

/** Delay before the next start after `failures` consecutive failures (failures >= 1). */
export function backoffDelay(failures: number, baseMs: number, capMs: number): number {
  if (failures <= 1) return Math.min(baseMs, capMs);
  // 2 ** 60 overflows nothing in a double but the product can exceed any cap; clamp first.
  const exponent = Math.min(failures - 1, 52);
  return Math.min(capMs, baseMs * 2 ** exponent);
}
