import { expect } from 'vitest';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import type { PushResult } from '@skiff/daemon';
import type { FaultAgent } from './fault-agent.ts';
import type { FaultProxy } from './fault-proxy.ts';
import { tempFilesUnder } from './fault-versions.ts';
import { compareTrees } from './tree-compare.ts';

/*
 * The two ends of a link-cut round (fault-cut*.test.ts): the push through
 * the proxy failed where the link was cut and the agent kept nothing half
 * written; then a push straight to the agent brought its root to `expected`.
 */

const skipIndex = (rel: string) => rel === '.skiff';

/** The push was cut: it failed with CONNECTION_LOST, and once the agent is idle no temporary file is left. */
export async function expectCleanCut(pushing: Promise<unknown>, proxy: FaultProxy, agent: FaultAgent, root: string, where: string): Promise<void> {
  const failure = await pushing.then(
    () => null,
    (err: unknown) => err,
  );
  expect(proxy.connections.at(-1)!.cut, where).toBe(true);
  expect(failure, where).toBeInstanceOf(SkiffError);
  expect((failure as SkiffError).code, where).toBe(ErrorCode.CONNECTION_LOST);
  await agent.idle();
  expect(await tempFilesUnder(root), where).toEqual([]);
}

/** A fresh push converged: in sync, no problem, the root equal to `expected`, no temporary file. */
export async function expectConverged(again: PushResult, expected: string, root: string, where: string): Promise<void> {
  expect({ inSync: again.inSync, problems: again.problems }, where).toEqual({ inSync: true, problems: [] });
  expect(await compareTrees(expected, root, skipIndex), where).toEqual([]);
  expect(await tempFilesUnder(root), where).toEqual([]);
}
