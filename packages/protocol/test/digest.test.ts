import { describe, expect, it } from 'vitest';
import { EMPTY_DIGEST, entryLine, manifestDigest, xorDigest, type Entry } from '../src/entry.ts';
import { loadHasher } from '../src/hash.ts';

const entries: Entry[] = [
  { path: 'a.txt', type: 'file', size: 3, mtime: 1, mode: 0o644, hash: '0123456789abcdef' },
  { path: 'd', type: 'dir', size: 0, mtime: 1, mode: 0o755, hash: '' },
  { path: 'd/l', type: 'symlink', size: 5, mtime: 1, mode: 0o777, hash: '', target: '../a.txt' },
];

describe('manifest digest', async () => {
  const hasher = await loadHasher();
  it('is independent of order and of mtime', () => {
    const d1 = manifestDigest(entries, hasher.h64);
    const d2 = manifestDigest([...entries].reverse().map((e) => ({ ...e, mtime: 99 })), hasher.h64);
    expect(d1).toBe(d2);
    expect(d1).toMatch(/^[0-9a-f]{16}$/);
  });
  it('changes with content, mode or link target', () => {
    const base = manifestDigest(entries, hasher.h64);
    expect(manifestDigest([{ ...entries[0], hash: 'fedcba9876543210' }, ...entries.slice(1)], hasher.h64)).not.toBe(base);
    expect(manifestDigest([{ ...entries[0], mode: 0o755 }, ...entries.slice(1)], hasher.h64)).not.toBe(base);
    expect(manifestDigest([...entries.slice(0, 2), { ...entries[2], target: 'x' }], hasher.h64)).not.toBe(base);
  });
  it('updates incrementally by xor', () => {
    const full = manifestDigest(entries, hasher.h64);
    const partial = manifestDigest(entries.slice(0, 2), hasher.h64);
    expect(xorDigest(partial, hasher.h64(entryLine(entries[2])))).toBe(full);
    expect(xorDigest(full, full)).toBe(EMPTY_DIGEST);
  });
  it('hashes streamed chunks the same as one buffer', () => {
    const bytes = new Uint8Array(3 * 1024 * 1024).map((_, i) => i * 7);
    const s = hasher.stream();
    for (let at = 0; at < bytes.length; at += 1 << 20) s.update(bytes.subarray(at, at + (1 << 20)));
    expect(s.digest()).toBe(hasher.h64Bytes(bytes));
  });
});
