import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@skiff/protocol';
import { AGENT_PORT, assertAppPortsFree, workdirProblem } from '../src/targets/pod-shape.ts';

describe('what the container targets refuse of skiff.yaml', () => {
  it.each([
    ['/tmp/src', null],
    ['/app', null],
    ['/opt/skiff', null],
    ['/', 'it would hide the whole image'],
    ['/opt/skiff-agent', 'it overlaps /opt/skiff-agent, which skiff mounts for its agent'],
    ['/opt/skiff-agent/src', 'it overlaps /opt/skiff-agent, which skiff mounts for its agent'],
    ['/opt', 'it overlaps /opt/skiff-agent, which skiff mounts for its agent'],
    ['/.skiff-run/', 'it overlaps /.skiff-run, which skiff mounts for its agent'],
    ['/mnt/skiff-src', 'it overlaps /mnt/skiff-src, which skiff mounts for its agent'],
  ])('workdir %s: %s', (workdir, want) => {
    expect(workdirProblem(workdir)).toBe(want);
  });

  it("refuses the agent's port as an app port, and nothing else", () => {
    expect(() => assertAppPortsFree([{ container: 8080 }, { container: AGENT_PORT }], 'docker')).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG }));
    expect(() => assertAppPortsFree([{ container: 8080 }], 'docker')).not.toThrow();
  });
});
