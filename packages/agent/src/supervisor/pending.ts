/**
 * What arrived while the supervisor was busy (assembling, stopping, starting):
 * committed batches and app spec changes, folded into one further decision,
 * so that a storm of batches during a restart costs one more restart, not
 * one each. Pure.
 */
export interface PendingWork {
  readonly paths: Set<string>;
  /** Committed batches folded in (0: only the spec changed). */
  batches: number;
  specChanged: boolean;
  /** Some folded spec change had a different assemble command. */
  assembleChanged: boolean;
}

export function emptyWork(): PendingWork {
  return { paths: new Set(), batches: 0, specChanged: false, assembleChanged: false };
}

export function foldBatch(work: PendingWork | null, paths: readonly string[]): PendingWork {
  const next = work ?? emptyWork();
  for (const path of paths) next.paths.add(path);
  next.batches += 1;
  return next;
}

export function foldSpecChange(work: PendingWork | null, assembleChanged: boolean): PendingWork {
  const next = work ?? emptyWork();
  next.specChanged = true;
  next.assembleChanged ||= assembleChanged;
  return next;
}
