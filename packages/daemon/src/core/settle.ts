/**
 * Which batches settle before they go out (see "Settling" in coalesce.ts):
 * one that only deletes — a tree being removed reaches the mass-deletion
 * guard whole, not first file first — and one that creates directories — a
 * checkout, an unpack or a cp -r whose first directory came alone is still
 * one batch and one restart. A save creates no directory and never settles,
 * nor does a batch with nothing in it. Pure.
 */
export interface SettleInput {
  /** Operations in the planned batch. */
  total: number;
  deletes: number;
  /** Directories the batch creates (or whose mode it changes). */
  dirs: number;
}

export function needsSettle(batch: SettleInput): boolean {
  return batch.total > 0 && (batch.deletes === batch.total || batch.dirs > 0);
}
