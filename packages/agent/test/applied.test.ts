import { describe, expect, it } from 'vitest';
import { ErrorCode, Kind, MAX_HEADER_BYTES, encodeFrame, decodeFrames, type Problem } from '@skiff/protocol';
import { appliedHeader, fitProblems } from '../src/server/applied.ts';

const problem = (i: number, path = `dir/file-${i}.txt`): Problem => ({
  path,
  code: ErrorCode.DISK_FULL,
  message: `no space left on the agent's disk to write ${path}; the previous version is kept`,
});

describe('APPLIED problems', () => {
  it('keeps every problem when they fit', () => {
    const ps = [problem(1), problem(2)];
    expect(fitProblems(ps, 10_000)).toEqual(ps);
  });

  it.each([
    ['50,000 short ones', Array.from({ length: 50_000 }, (_, i) => problem(i))],
    ['long paths', Array.from({ length: 200 }, (_, i) => problem(i, `${'d/'.repeat(1500)}${i}`))],
    ['control characters that JSON escapes', Array.from({ length: 100 }, (_, i) => problem(i, `${'\u0001'.repeat(4000)}${i}`))],
  ])('folds the overflow of %s into one summary and always fits the header limit', (_name, ps) => {
    const header = appliedHeader(1, { written: 0, deleted: 0, bytes: 0, problems: ps, paths: [] }, '0123456789abcdef', 0);
    const frame = encodeFrame(Kind.APPLIED, header);
    expect(frame.length).toBeLessThan(MAX_HEADER_BYTES + 9);
    const [decoded] = decodeFrames(frame);
    const kept = (decoded.header as typeof header).problems;
    expect(kept.length).toBeLessThan(ps.length);
    const last = kept[kept.length - 1];
    expect(last.message).toMatch(new RegExp(`^${ps.length - kept.length + 1} more problems were left out`));
    expect(last.path).toBe(ps[kept.length - 1].path);
    expect(kept.slice(0, -1)).toEqual(ps.slice(0, kept.length - 1));
  });
});
