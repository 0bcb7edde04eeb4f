import { describe, expect, it } from 'vitest';
import { groupThousands, plural } from '../src/render/format.ts';

describe('groupThousands', () => {
  it('writes integers as toLocaleString("en-US") does', () => {
    let seed = 2_026_120_2;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const samples = [0, 1, 12, 123, 999, 1000, 9999, 10_000, 54_074, 999_999, 1_000_000, 12_345_678, Number.MAX_SAFE_INTEGER, -1, -1000, -54_074];
    for (let i = 0; i < 2000; i++) samples.push(rand() % 10 ** (1 + (i % 9)));
    for (const n of samples) expect(groupThousands(n), String(n)).toBe(n.toLocaleString('en-US'));
  });

  it('leaves what is not a safe integer to toLocaleString', () => {
    expect(groupThousands(1234.5)).toBe((1234.5).toLocaleString('en-US'));
  });

  it('plural groups the count and picks the word', () => {
    expect(plural(1, 'file')).toBe('1 file');
    expect(plural(54_074, 'entry', 'entries')).toBe('54,074 entries');
  });
});
