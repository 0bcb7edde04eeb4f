import { PackOut, PackResult, type NativeFileIo } from '@skiff/agent/file-io';
import { FRAME_PREFIX_BYTES, MAX_CHUNK_BYTES, type Entry, type FramePacker } from '@skiff/protocol';
import { rememberLineHash } from '../core/tree-state.ts';

/*
 * Small files read straight into the message being packed, by the addon
 * (native/pack-file.c): a first sync's 50,000 files were each read into a
 * buffer, hashed through the wasm hasher, given a header object made and
 * serialised, and copied into the message; with the push now the busier
 * side of a first sync, that was time the sync waited for. The frame is the
 * one FramePacker.add makes of the same header (the mtime written with 17
 * digits, which reads back as the same number), and the line hash of the
 * entry sent comes with it, so the digests at the end hash no line for it.
 */

export { PackResult };

/** Room packFile may need beyond the path: the prefix, the header's other fields, a chunk and one byte more. */
const PACK_ROOM = FRAME_PREFIX_BYTES + 256 + MAX_CHUNK_BYTES + 1;
/** Batch numbers the addon writes as they are (a uint32). */
const MAX_NATIVE_BATCH = 0xffff_ffff;

export class PackedFiles {
  private readonly out = new Float64Array(4);
  private view: Buffer | null = null;
  /** After pack() sent a file: the message to send now, when the file filled one. */
  message: Uint8Array | null = null;
  /** After pack() sent a file: the two halves of its entry's line hash. */
  lineHi = 0;
  lineLo = 0;

  /** `keepFor`: the hash function whose line hash cache (lineHashOf) gets each entry sent; null keeps none. */
  constructor(
    private readonly packFile: NonNullable<NativeFileIo['packFile']>,
    private readonly keepFor: ((s: string) => string) | null,
  ) {}

  /** Whether files of `batch` can be packed here. */
  static covers(batch: number): boolean {
    return batch <= MAX_NATIVE_BATCH;
  }

  /** Makes room for `entry`'s frame: the message to send first, if the pending ones had to go (FramePacker.reserve). */
  reserve(packer: FramePacker, entry: Entry): Uint8Array | null {
    return packer.reserve(PACK_ROOM + entry.path.length);
  }

  /**
   * Packs root/entry.path into the room reserve() made: the entry as sent
   * (its size and hash as read), or PackResult.LARGE or NOT_PLAIN, nothing
   * packed then. Throws as Node's calls would for a file it cannot read.
   */
  pack(packer: FramePacker, root: string, entry: Entry, batch: number): Entry | PackResult {
    const buffer = packer.buffer;
    const end = this.packFile(root, entry.path, buffer, packer.pending, batch, entry.mode, entry.mtime, entry.size, this.out);
    if (end < 0) return end as PackResult;
    const at = this.out[PackOut.HASH_AT];
    const actual: Entry = { ...entry, size: this.out[PackOut.SIZE], hash: this.text(buffer).toString('latin1', at, at + 16) };
    this.lineHi = this.out[PackOut.LINE_HI];
    this.lineLo = this.out[PackOut.LINE_LO];
    if (this.keepFor !== null) rememberLineHash(this.keepFor, actual, this.lineHi, this.lineLo);
    this.message = packer.written(end);
    return actual;
  }

  /** `buffer` as a Buffer, to read the hash's digits: one view per message buffer. */
  private text(buffer: Uint8Array): Buffer {
    const v = this.view;
    if (v !== null && v.buffer === buffer.buffer && v.byteOffset === buffer.byteOffset) return v;
    this.view = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    return this.view;
  }
}
