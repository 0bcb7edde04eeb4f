import { describe, expect, it } from 'vitest';
import { needsSettle } from '../src/core/settle.ts';

describe('needsSettle', () => {
  it.each([
    ['an empty batch', { total: 0, deletes: 0, dirs: 0 }, false],
    ['a save', { total: 1, deletes: 0, dirs: 0 }, false],
    ['a few saves', { total: 3, deletes: 0, dirs: 0 }, false],
    ['deletions only', { total: 4, deletes: 4, dirs: 0 }, true],
    ['a save and a deletion', { total: 2, deletes: 1, dirs: 0 }, false],
    ['a new directory', { total: 1, deletes: 0, dirs: 1 }, true],
    ['new directories with files', { total: 30, deletes: 0, dirs: 3 }, true],
    ['a move: directories, copies and a delete', { total: 6, deletes: 1, dirs: 2 }, true],
  ])('%s: %s', (_name, batch, want) => {
    expect(needsSettle(batch)).toBe(want);
  });
});
