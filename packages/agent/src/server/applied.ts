import { MAX_HEADER_BYTES, type AppliedHeader, type Problem } from '@skiff/protocol';
import type { BatchOutcome } from '../apply/batch.ts';

/** Room left in the header for everything but the problems. */
const HEADER_RESERVE_BYTES = 1024;
export const PROBLEMS_BUDGET_BYTES = MAX_HEADER_BYTES - HEADER_RESERVE_BYTES;

/**
 * The APPLIED header of a batch. Its problems travel in the JSON header, which
 * may not exceed MAX_HEADER_BYTES: a batch where every one of 50,000 files
 * failed (a full disk) would not fit. Problems are kept in order while they fit
 * a budget; the rest are folded into one last problem that says how many were
 * left out, carrying the code and path of the first one omitted.
 */
export function appliedHeader(batch: number, outcome: BatchOutcome, digest: string, entries: number): AppliedHeader {
  return {
    batch,
    written: outcome.written,
    deleted: outcome.deleted,
    bytes: outcome.bytes,
    problems: fitProblems(outcome.problems, PROBLEMS_BUDGET_BYTES),
    digest,
    entries,
  };
}

export function fitProblems(problems: readonly Problem[], budget: number): Problem[] {
  const kept: Problem[] = [];
  let used = 2;
  for (let i = 0; i < problems.length; i++) {
    const size = jsonBytes(problems[i]);
    // Whenever more problems follow, the summary of what comes after must still fit.
    const after = i + 1 < problems.length ? jsonBytes(summary(problems, i + 1)) : 0;
    if (used + size + after > budget) {
      kept.push(summary(problems, i));
      return kept;
    }
    kept.push(problems[i]);
    used += size;
  }
  return kept;
}

/** Detail of the first omitted problem quoted in the summary. */
const SUMMARY_DETAIL_CHARS = 300;

function summary(problems: readonly Problem[], from: number): Problem {
  const first = problems[from];
  return {
    path: first.path,
    code: first.code,
    message: `${problems.length - from} more problems were left out of this report; the first: ${first.message.slice(0, SUMMARY_DETAIL_CHARS)}`,
  };
}

function jsonBytes(p: Problem): number {
  return Buffer.byteLength(JSON.stringify(p)) + 1;
}
