import type { Entry } from '@skiff/protocol';

/** One step of a batch, in the order the sender emits them. */
export const OpKind = {
  MKDIR: 'mkdir',
  FILE: 'file',
  /** A file the agent holds at `from` (a move): placed without its bytes. */
  COPY: 'copy',
  SYMLINK: 'symlink',
  DELETE: 'delete',
} as const;
export type OpKind = (typeof OpKind)[keyof typeof OpKind];

export type BatchOp =
  | { kind: typeof OpKind.MKDIR; entry: Entry }
  /** `base`: what the agent holds at the path (a file), which a delta may build on (send-spans.ts). */
  | { kind: typeof OpKind.FILE; entry: Entry; base?: Entry }
  | { kind: typeof OpKind.COPY; entry: Entry; from: string }
  | { kind: typeof OpKind.SYMLINK; entry: Entry }
  | { kind: typeof OpKind.DELETE; path: string };

export interface BatchCounts {
  files: number;
  bytes: number;
  copies: number;
  dirs: number;
  symlinks: number;
  deletes: number;
}

export function countOps(ops: readonly BatchOp[]): BatchCounts {
  const counts: BatchCounts = { files: 0, bytes: 0, copies: 0, dirs: 0, symlinks: 0, deletes: 0 };
  for (const op of ops) {
    if (op.kind === OpKind.FILE) {
      counts.files++;
      counts.bytes += op.entry.size;
    } else if (op.kind === OpKind.COPY) counts.copies++;
    else if (op.kind === OpKind.MKDIR) counts.dirs++;
    else if (op.kind === OpKind.SYMLINK) counts.symlinks++;
    else counts.deletes++;
  }
  return counts;
}
