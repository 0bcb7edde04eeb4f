import { describe, expect, it } from 'vitest';
import { decodeFrames, decodeInventoryPage, encodeFrame, encodeInventory, FramePacker } from '../src/codec.ts';
import { FRAME_PREFIX_BYTES, MAX_CHUNK_BYTES, MAX_HEADER_BYTES } from '../src/limits.ts';
import { Kind } from '../src/messages.ts';
import type { Entry } from '../src/entry.ts';

const enc = new TextEncoder();
const HASH = '0123456789abcdef';
const file = (over: Record<string, unknown> = {}) => ({ batch: 1, path: 'a/b.txt', size: 5, mode: 0o644, mtime: 1, hash: HASH, offset: 0, ...over });

/** Builds a frame by hand, bypassing encodeFrame's own checks, as a hostile peer would. */
function rawFrame(kind: number, header: unknown, payload = new Uint8Array(0), lie?: { head?: number; payload?: number }): Uint8Array {
  const head = enc.encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(FRAME_PREFIX_BYTES + head.length + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  view.setUint32(1, lie?.head ?? head.length);
  view.setUint32(5, lie?.payload ?? payload.length);
  out.set(head, FRAME_PREFIX_BYTES);
  out.set(payload, FRAME_PREFIX_BYTES + head.length);
  return out;
}

describe('frame codec', () => {
  it('round-trips every kind of frame, several to a message', () => {
    const payload = enc.encode('hello');
    const packer = new FramePacker(1 << 30);
    packer.push(encodeFrame(Kind.BATCH_BEGIN, { batch: 1, ops: 2, bytes: 5 }));
    packer.push(encodeFrame(Kind.FILE, file(), payload));
    packer.push(encodeFrame(Kind.SYMLINK, { batch: 1, path: 'a/l', target: 'b.txt', mtime: 2 }));
    packer.push(encodeFrame(Kind.COMMIT, { batch: 1 }));
    const frames = decodeFrames(packer.flush()!);
    expect(frames.map((f) => f.kind)).toEqual([Kind.BATCH_BEGIN, Kind.FILE, Kind.SYMLINK, Kind.COMMIT]);
    expect(new TextDecoder().decode(frames[1].payload)).toBe('hello');
    expect(frames[1].header).toEqual(file());
  });

  it('packs frames into messages no larger than the target once it is reached', () => {
    const packer = new FramePacker(100);
    const small = encodeFrame(Kind.COMMIT, { batch: 1 });
    const out: Uint8Array[] = [];
    for (let i = 0; i < 50; i++) {
      const m = packer.push(small);
      if (m) out.push(m);
    }
    const rest = packer.flush();
    if (rest) out.push(rest);
    expect(out.reduce((n, m) => n + decodeFrames(m).length, 0)).toBe(50);
    expect(out.length).toBeGreaterThan(1);
  });

  it.each([
    ['an empty message', new Uint8Array(0), 'SKIFF_E_FRAME_TRUNCATED'],
    ['a cut prefix', rawFrame(Kind.COMMIT, { batch: 1 }).subarray(0, 5), 'SKIFF_E_FRAME_TRUNCATED'],
    ['a cut header', rawFrame(Kind.COMMIT, { batch: 1 }).subarray(0, 12), 'SKIFF_E_FRAME_TRUNCATED'],
    ['a payload shorter than announced', rawFrame(Kind.FILE, file(), enc.encode('hel'), { payload: 5 }), 'SKIFF_E_FRAME_TRUNCATED'],
    ['an unknown kind', rawFrame(200, {}), 'SKIFF_E_FRAME_UNKNOWN_KIND'],
    ['an oversized header length', rawFrame(Kind.COMMIT, { batch: 1 }, undefined, { head: MAX_HEADER_BYTES + 1 }), 'SKIFF_E_FRAME_HEADER_TOO_LARGE'],
    ['an oversized chunk length', rawFrame(Kind.FILE, file(), undefined, { payload: MAX_CHUNK_BYTES + 1 }), 'SKIFF_E_FRAME_CHUNK_TOO_LARGE'],
    ['a header that is not JSON', rawFrame(Kind.COMMIT, '{batch:'), 'SKIFF_E_FRAME_MALFORMED'],
    ['a header that is an array', rawFrame(Kind.COMMIT, [1]), 'SKIFF_E_FRAME_MALFORMED'],
    ['a missing field', rawFrame(Kind.COMMIT, {}), 'SKIFF_E_FRAME_MALFORMED'],
    ['a negative size', rawFrame(Kind.FILE, file({ size: -1 })), 'SKIFF_E_FRAME_MALFORMED'],
    ['a bad hash', rawFrame(Kind.FILE, file({ hash: 'zz' })), 'SKIFF_E_FRAME_MALFORMED'],
    ['a mode with high bits', rawFrame(Kind.MKDIR, { batch: 1, path: 'd', mode: 0o170000 }), 'SKIFF_E_FRAME_MALFORMED'],
    ['a traversing path', rawFrame(Kind.FILE, file({ path: 'a/../../etc/passwd' })), 'SKIFF_E_PATH_TRAVERSAL'],
    ['an absolute path', rawFrame(Kind.DELETE, { batch: 1, path: '/etc' }), 'SKIFF_E_PATH_ABSOLUTE'],
    ['a drive letter', rawFrame(Kind.DELETE, { batch: 1, path: 'C:/x' }), 'SKIFF_E_PATH_ABSOLUTE'],
    ['a NUL in a path', rawFrame(Kind.DELETE, { batch: 1, path: 'a\0b' }), 'SKIFF_E_PATH_NUL'],
    ['an escaping symlink', rawFrame(Kind.SYMLINK, { batch: 1, path: 'l', target: '../../etc', mtime: 0 }), 'SKIFF_E_SYMLINK_ESCAPE'],
    ['an absolute symlink', rawFrame(Kind.SYMLINK, { batch: 1, path: 'l', target: '/etc', mtime: 0 }), 'SKIFF_E_SYMLINK_ESCAPE'],
    ['a payload past the announced size', rawFrame(Kind.FILE, file({ size: 2 }), enc.encode('hello')), 'SKIFF_E_SIZE_MISMATCH'],
    ['an unknown error code', rawFrame(Kind.ERROR, { code: 'NOPE', message: 'x' }), 'SKIFF_E_FRAME_MALFORMED'],
  ])('refuses %s', (_name, data, code) => {
    expect(() => decodeFrames(data)).toThrowError(expect.objectContaining({ code }));
  });

  it('refuses to encode an oversized header or payload', () => {
    expect(() => encodeFrame(Kind.ERROR, { code: 'SKIFF_E_IO', message: 'x'.repeat(MAX_HEADER_BYTES) })).toThrowError(expect.objectContaining({ code: 'SKIFF_E_FRAME_HEADER_TOO_LARGE' }));
    expect(() => encodeFrame(Kind.FILE, file({ size: MAX_CHUNK_BYTES + 1 }), new Uint8Array(MAX_CHUNK_BYTES + 1))).toThrowError(expect.objectContaining({ code: 'SKIFF_E_FRAME_CHUNK_TOO_LARGE' }));
  });
});

describe('inventory pages', () => {
  it('splits a large inventory under the chunk limit and decodes it back', () => {
    const entries: Entry[] = Array.from({ length: 20_000 }, (_, i) => ({ path: `dir${i % 97}/file-${i}-${'x'.repeat(40)}.txt`, type: 'file', size: i, mtime: 1, mode: 0o644, hash: HASH }));
    const frames = encodeInventory(entries);
    expect(frames.length).toBeGreaterThan(1);
    const back = frames.flatMap((f) => {
      const [frame] = decodeFrames(f);
      expect(frame.kind).toBe(Kind.INVENTORY);
      expect(frame.payload.length).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
      return decodeInventoryPage(frame.payload);
    });
    expect(back).toEqual(entries);
    expect((decodeFrames(frames.at(-1)!)[0].header as { last: boolean }).last).toBe(true);
  });

  it('refuses an entry with a bad path', () => {
    const page = enc.encode(JSON.stringify([{ path: '../x', type: 'file', size: 1, mtime: 1, mode: 0o644, hash: HASH }]));
    expect(() => decodeInventoryPage(page)).toThrowError(expect.objectContaining({ code: 'SKIFF_E_PATH_TRAVERSAL' }));
  });
});
