import { checkMessage, decodeFrameAt, type Frame } from '@skiff/protocol';
import { addonCandidates } from '../init/addon.ts';
import { RECORD_FIELDS, Rec, loadStagedFiles, type StagedFilesAddon } from '../native-fs/staged-files.ts';
import type { Batch } from './batch.ts';
import { PROCESS_UMASK } from './fs-ops.ts';

/*
 * A message applied with its whole small files written by the addon when a
 * staged batch (a first sync, stage.ts) is open: measured on the first sync
 * of 50,000 files, the agent spent more per file in JavaScript (the JSON
 * header parsed and checked, the calls from the frame to writeNewFile, the
 * objects all that made and their collection) than in the system calls
 * that write it. native/staged-files.c takes only FILE frames whose header
 * has the very layout JSON.stringify gives a valid one; every other frame,
 * and any of those the addon cannot write as a new file under real
 * directories, goes the usual way.
 *
 * What the connection did before holds: every frame of the message is
 * checked before any is applied (the first problem in frame order throws,
 * with the decoder's error), frames are applied in their order, and a file
 * the addon writes is recorded as Batch.file() records it.
 */

/** Frames the addon splits a message into at once; a message with more has the rest decoded here. */
const MAX_RECORDS = 16_384;

/** What a message is applied to: the connection. */
export interface MessageTarget {
  handle(frame: Frame): void;
  /** The open batch when it is `id` and the addon may write into its stage (Batch.nativeStage); else null. */
  stagedBatch(id: number): Batch | null;
  isClosing(): boolean;
}

export class FastFiles {
  private records: Float64Array | null = null;
  /** False once the kernel refused the addon's way of creating files: every file goes the usual way then. */
  private writes = true;

  constructor(private readonly addon: StagedFilesAddon) {}

  apply(message: Uint8Array, target: MessageTarget): void {
    checkMessage(message);
    const rec = (this.records ??= new Float64Array(MAX_RECORDS * RECORD_FIELDS));
    const count = this.addon.scanFrames(message, rec);
    // Everything is decoded (and so checked) before anything is applied, as decodeFrames does.
    const decoded: (Frame | undefined)[] = new Array(count);
    for (let i = 0; i < count; i++) if (rec[i * RECORD_FIELDS + Rec.FAST] !== 1) decoded[i] = frameAt(message, rec, i);
    const rest: Frame[] = [];
    for (let at = count === 0 ? 0 : rec[(count - 1) * RECORD_FIELDS + Rec.END]; at < message.length; ) {
      const next = decodeFrameAt(message, at);
      rest.push(next.frame);
      at = next.end;
    }
    const text = Buffer.from(message.buffer, message.byteOffset, message.length);
    let i = 0;
    while (i < count) {
      if (target.isClosing()) return;
      const batch = this.writes && rec[i * RECORD_FIELDS + Rec.FAST] === 1 ? target.stagedBatch(rec[i * RECORD_FIELDS + Rec.BATCH]) : null;
      if (batch === null) {
        target.handle(decoded[i] ?? frameAt(message, rec, i));
        i++;
        continue;
      }
      const end = runEnd(rec, i, count);
      const result = this.addon.writeStagedFiles(message, rec, i, end, batch.nativeStage!, PROCESS_UMASK ?? -1);
      const written = result >= 0 ? result : -result - 1;
      if (result < 0) this.writes = false;
      for (let j = i; j < i + written; j++) recordWritten(batch, text, rec, j);
      i += written;
      // The file the addon stopped at goes the usual way, which makes or replaces what was in its way or says why it failed.
      if (i < end) {
        target.handle(frameAt(message, rec, i));
        i++;
      }
    }
    for (const frame of rest) {
      if (target.isClosing()) return;
      target.handle(frame);
    }
  }
}

/** The addon's calls, or null without them (every message is then decoded and applied in JavaScript). */
export function loadFastFiles(): FastFiles | null {
  const addon = loadStagedFiles(addonCandidates());
  return addon === null ? null : new FastFiles(addon);
}

function frameAt(message: Uint8Array, rec: Float64Array, i: number): Frame {
  return decodeFrameAt(message, rec[i * RECORD_FIELDS + Rec.START]).frame;
}

/** Where the run of fast records of one batch that starts at `i` ends. */
function runEnd(rec: Float64Array, i: number, count: number): number {
  const id = rec[i * RECORD_FIELDS + Rec.BATCH];
  let end = i + 1;
  while (end < count && rec[end * RECORD_FIELDS + Rec.FAST] === 1 && rec[end * RECORD_FIELDS + Rec.BATCH] === id) end++;
  return end;
}

function recordWritten(batch: Batch, text: Buffer, rec: Float64Array, j: number): void {
  const o = j * RECORD_FIELDS;
  const path = text.toString('latin1', rec[o + Rec.PATH], rec[o + Rec.PATH] + rec[o + Rec.PATH_LEN]);
  const hash = text.toString('latin1', rec[o + Rec.HASH], rec[o + Rec.HASH] + 16);
  batch.wroteStaged(path, rec[o + Rec.SIZE], rec[o + Rec.MTIME], rec[o + Rec.MODE], hash, rec[o + Rec.LINE_HI], rec[o + Rec.LINE_LO]);
}
