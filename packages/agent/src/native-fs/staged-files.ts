import { loadAddon } from './load-addon.ts';

/*
 * The addon's two calls that take a message's whole small files without
 * JavaScript per file (native/staged-files.c says what each does and which
 * headers it takes; apply/fast-files.ts drives them).
 */

/** Fields of one frame's record, as staged-files.c lays them out. */
export const Rec = {
  START: 0,
  END: 1,
  /** 1: a FILE frame carrying a whole file, with a header of the one layout the addon reads. */
  FAST: 2,
  PATH: 3,
  PATH_LEN: 4,
  SIZE: 5,
  MODE: 6,
  MTIME: 7,
  HASH: 8,
  BATCH: 9,
  LINE_HI: 10,
  LINE_LO: 11,
} as const;
export const RECORD_FIELDS = 12;

export interface StagedFilesAddon {
  /** Splits `message` into frame records (RECORD_FIELDS each); returns how many it filled. */
  scanFrames(message: Uint8Array, records: Float64Array): number;
  /**
   * Writes the fast records from..to-1 into the stage; returns how many it
   * wrote, or -(written + 1) when the kernel will not do it this way.
   */
  writeStagedFiles(message: Uint8Array, records: Float64Array, from: number, to: number, stage: string, umask: number): number;
}

export function loadStagedFiles(candidates: readonly string[]): StagedFilesAddon | null {
  return loadAddon<StagedFilesAddon>(candidates, (a) => typeof a.scanFrames === 'function' && typeof a.writeStagedFiles === 'function');
}
