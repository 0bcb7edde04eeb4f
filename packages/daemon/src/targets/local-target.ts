import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Target } from '../config/project.ts';
import { defaultLocalRoot, startLocalAgent, type LocalAgent } from './local.ts';
import { assertRootsApart } from './root-overlap.ts';
import type { AgentPlace, TargetContext, TargetDriver } from './target.ts';

/**
 * The local target: the agent is a child process of this program (the
 * daemon, or a one-shot push), rooted in a private directory on this machine
 * (`--local-root`, else one under $XDG_CACHE_HOME named after the project).
 * Stop ends the process and keeps the root, so the next start resumes with
 * only differences; delete removes the root.
 */
export function localTarget(ctx: TargetContext): TargetDriver {
  const root = ctx.localRoot ?? defaultLocalRoot(ctx.projectRoot);
  assertRootsApart(ctx.projectRoot, root);
  let agent: LocalAgent | null = null;

  const driver: TargetDriver = {
    kind: Target.LOCAL,
    detached: false,
    async start(): Promise<AgentPlace> {
      if (agent && agent.child.exitCode === null && agent.child.signalCode === null) return placeOf(agent);
      agent = await startLocalAgent({ root, appConfig: ctx.appSpec });
      return placeOf(agent);
    },
    async stop() {
      const running = agent;
      agent = null;
      await running?.stop();
    },
    async release() {
      // The agent is this process's child: it cannot outlive it, so releasing it is stopping it.
      await driver.stop();
    },
    async delete() {
      await driver.stop();
      if (!existsSync(root)) return [];
      await rm(root, { recursive: true, force: true });
      return [`agent root ${root}`];
    },
  };
  return driver;

  function placeOf(a: LocalAgent): AgentPlace {
    const gone = new Promise<{ reason: string }>((resolve) => {
      const exited = () => resolve({ reason: `the local agent (pid ${a.pid}) exited (${a.child.signalCode ?? `exit code ${a.child.exitCode}`})` });
      if (a.child.exitCode !== null || a.child.signalCode !== null) exited();
      else a.child.once('exit', exited);
    });
    return {
      url: a.url,
      token: a.token,
      root: a.root,
      description: `local process ${a.pid}`,
      appUrls: ctx.config.ports.map((p) => `http://127.0.0.1:${p.host ?? p.container}`),
      pid: a.pid,
      gone,
    };
  }
}
