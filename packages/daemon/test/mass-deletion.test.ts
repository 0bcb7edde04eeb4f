import { describe, expect, it } from 'vitest';
import type { Entry } from '@skiff/protocol';
import { findMassDeletion, MASS_DELETION_MIN_FILES } from '../src/core/mass-deletion.ts';

const file = (path: string): Entry => ({ path, type: 'file', size: 1, mtime: 0, mode: 0o644, hash: '0123456789abcdef' });
const dir = (path: string): Entry => ({ path, type: 'dir', size: 0, mtime: 0, mode: 0o755, hash: '' });
const tree = (n: number): Map<string, Entry> => new Map([dir('src'), ...Array.from({ length: n }, (_, i) => file(`src/f${i}`))].map((e) => [e.path, e]));

describe('findMassDeletion', () => {
  it.each([
    ['the project was emptied', tree(5), ['src'], 0, { deleted: 5, total: 5 }],
    ['an empty agent is never at risk', new Map(), [], 0, null],
    ['a small tree below the minimum may lose most files', tree(MASS_DELETION_MIN_FILES - 1), ['src'], 1, null],
    ['a whole-tree delete', tree(100), ['src'], 3, { deleted: 100, total: 100 }],
    ['90% deleted file by file', tree(100), Array.from({ length: 90 }, (_, i) => `src/f${i}`), 10, { deleted: 90, total: 100 }],
    ['89% deleted is a big checkout, not a disaster', tree(100), Array.from({ length: 89 }, (_, i) => `src/f${i}`), 11, null],
    ['no deletes', tree(100), [], 100, null],
  ])('%s', (_name, remote, roots, localFiles, expected) => {
    expect(findMassDeletion(remote as Map<string, Entry>, roots as string[], localFiles as number)).toEqual(expected);
  });

  it('a file whose content the plan writes elsewhere is moved, not deleted: moving the whole tree never trips', () => {
    const hashOf = (i: number) => i.toString(16).padStart(16, '0');
    const remote = new Map<string, Entry>([['src', dir('src')]]);
    for (let i = 0; i < 100; i++) remote.set(`src/f${i}`, { ...file(`src/f${i}`), hash: hashOf(i) });
    const all = new Set(Array.from({ length: 100 }, (_, i) => hashOf(i)));
    expect(findMassDeletion(remote, ['src'], 100, all)).toBeNull();
    // Only 5 of them moved, the rest are gone: still a disaster.
    const five = new Set(Array.from({ length: 5 }, (_, i) => hashOf(i)));
    expect(findMassDeletion(remote, ['src'], 5, five)).toEqual({ deleted: 95, total: 100 });
  });
});
