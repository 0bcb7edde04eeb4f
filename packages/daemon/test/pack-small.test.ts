import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadFileIo } from '@skiff/agent/file-io';
import { FramePacker, Kind, MAX_CHUNK_BYTES, decodeFrames, entryLine, loadHasher, type Entry, type FileHeader, type Hasher } from '@skiff/protocol';
import { peerCredAddonCandidates } from '../src/control/peer-cred.ts';
import { lineHashOf } from '../src/core/tree-state.ts';
import { PackResult, PackedFiles } from '../src/sync/pack-small.ts';

/*
 * A small file read straight into the message by the addon
 * (native/pack-file.c, sync/pack-small.ts) must give the frame the packer
 * gives the same file read the usual way: the same header values once
 * decoded (the mtime the same double), the same content, the hash of what
 * was read; the entry sent with its size and hash as read, its line hash the
 * hasher's; a file grown past a chunk, a path JSON would escape and a file
 * that cannot be read left to the usual way, with nothing packed.
 * Skipped without the addon: files are then always read the usual way.
 */
const packFile = loadFileIo(peerCredAddonCandidates())?.packFile ?? null;

let hasher: Hasher;
beforeAll(async () => {
  hasher = await loadHasher();
});

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'skiff-pack-small-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function entry(path: string, size: number, over: Partial<Entry> = {}): Entry {
  return { path, type: 'file', size, mtime: 1_700_000_000_123.456, mode: 0o644, hash: '', ...over };
}

let seed = 11;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);

describe.skipIf(packFile === null)('small files packed by the addon', () => {
  it('give the frames the packer gives them read the usual way, with the hasher line hashes', () => {
    const packed = new PackedFiles(packFile!, hasher.h64);
    const native = new FramePacker();
    const usual = new FramePacker();
    const entries: Entry[] = [];
    mkdirSync(join(root, 'd'));
    for (let i = 0; i < 300; i++) {
      const size = i % 50 === 0 ? 0 : Math.floor(rand() ** 3 * 200_000);
      const path = i % 3 === 0 ? `d/f${i}` : `f ${i}~.txt`;
      const data = Buffer.alloc(size, i);
      writeFileSync(join(root, path), data);
      // Scanned sizes that differ from what is read: smaller, larger, with more or fewer digits.
      const scanned = i % 7 === 0 ? size * 10 + 3 : i % 11 === 0 ? Math.floor(size / 10) : size;
      const mtime = i % 5 === 0 ? Math.floor(rand() * 2e12) : Math.floor(rand() * 2e12) + Math.floor(rand() * 1e6) / 1e6;
      entries.push(entry(path, scanned, { mtime, mode: [0o644, 0o755, 0o600, 0o4755][i % 4] }));
    }
    const nativeSent: Entry[] = [];
    const lines: Array<{ hi: number; lo: number }> = [];
    const nativeMessages: Uint8Array[] = [];
    for (const e of entries) {
      const first = packed.reserve(native, e);
      if (first) nativeMessages.push(first.slice());
      const actual = packed.pack(native, root, e, 7);
      expect(typeof actual).toBe('object');
      nativeSent.push(actual as Entry);
      lines.push({ hi: packed.lineHi, lo: packed.lineLo });
      if (packed.message) nativeMessages.push(packed.message.slice());
    }
    nativeMessages.push(native.flush()!.slice());
    const usualMessages: Uint8Array[] = [];
    for (const e of entries) {
      const data = readFileSync(join(root, e.path));
      const header: FileHeader = { batch: 7, path: e.path, size: data.length, mode: e.mode, mtime: e.mtime, hash: hasher.h64Bytes(data), offset: 0 };
      const m = usual.add(Kind.FILE, header, data);
      if (m) usualMessages.push(m.slice());
    }
    usualMessages.push(usual.flush()!);
    const nativeFrames = nativeMessages.flatMap((m) => decodeFrames(m));
    const usualFrames = usualMessages.flatMap((m) => decodeFrames(m));
    expect(nativeFrames.length).toBe(entries.length);
    nativeFrames.forEach((f, i) => {
      expect(f.header).toEqual(usualFrames[i].header);
      expect(Buffer.from(f.payload).equals(Buffer.from(usualFrames[i].payload))).toBe(true);
      const h = f.header as FileHeader;
      expect(nativeSent[i]).toEqual({ ...entries[i], size: h.size, hash: h.hash });
      // The addon's line hash, given and remembered: the one the hasher gives a copy of the entry.
      expect(lines[i]).toEqual(lineHashOf(hasher.h64, { ...nativeSent[i] }));
      expect(lineHashOf(hasher.h64, nativeSent[i])).toEqual(lines[i]);
      expect(entryLine(nativeSent[i])).toContain(h.hash);
    });
  });

  it('leaves a grown file, a path JSON escapes, a negative mtime and an unreadable file to the usual way, packing nothing', () => {
    const packed = new PackedFiles(packFile!, hasher.h64);
    const packer = new FramePacker();
    writeFileSync(join(root, 'big'), Buffer.alloc(MAX_CHUNK_BYTES + 1));
    writeFileSync(join(root, 'q"uote'), 'x');
    writeFileSync(join(root, 'é'), 'x');
    writeFileSync(join(root, 'old'), 'x');
    writeFileSync(join(root, 'locked'), 'x');
    chmodSync(join(root, 'locked'), 0);
    mkdirSync(join(root, 'dir'));
    symlinkSync('nowhere', join(root, 'dangling'));
    const tries: Array<[Entry, PackResult | string]> = [
      [entry('big', 10), PackResult.LARGE],
      [entry('q"uote', 1), PackResult.NOT_PLAIN],
      [entry('é', 1), PackResult.NOT_PLAIN],
      [entry('old', 1, { mtime: -5 }), PackResult.NOT_PLAIN],
      [entry('gone', 1), 'ENOENT'],
      [entry('dir', 1), 'EISDIR'],
      [entry('dangling', 1), 'ENOENT'],
    ];
    if (process.getuid?.() !== 0) tries.push([entry('locked', 1), 'EACCES']);
    for (const [e, want] of tries) {
      packed.reserve(packer, e);
      if (typeof want === 'string') expect(() => packed.pack(packer, root, e, 1)).toThrow(expect.objectContaining({ code: want }));
      else expect(packed.pack(packer, root, e, 1)).toBe(want);
      expect(packer.pending).toBe(0);
    }
  });
});
