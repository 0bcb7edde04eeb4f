import { basename } from 'node:path';
import { DEFAULT_ROOT, parseArgs } from '@skiff/agent';
import { EXIT_WITH_STDIN_ENV } from '@skiff/protocol';
import { agentCommand } from '../../../packages/daemon/src/targets/agent-entry.ts';
import { PlanKind, type ContainerLauncher, type ContainerPlan } from './launcher.ts';
import type { Container } from './shapes.ts';

/**
 * The launcher for the skiff agent container: a container whose command
 * runs `skiff-agent` (any path whose file name starts with `skiff-agent`,
 * e.g. `/skiff/bin/skiff-agent` or `node /skiff/skiff-agent.js`) becomes the
 * real agent program of this workspace (agentCommand(): the bundle, or the
 * sources through tsx), started with the container's own agent arguments
 * translated to this machine:
 *   --root DIR        → the directory DIR maps to (the PVC's, when DIR is on it)
 *   --token-file FILE → the file FILE maps to (a secret volume's)
 *   --host H          → 127.0.0.1 (the pod's loopback is this machine's)
 *   --port P          → 0; the kubelet reads the real port from the agent's
 *                       listening line and forwards the pod's port P to it
 * Its environment is the container's (the token from the Secret through
 * secretKeyRef included) plus PATH and HOME of this machine, and
 * SKIFF_AGENT_EXIT_WITH_STDIN=1 so that an agent cannot outlive the test.
 * Arguments the agent refuses are passed as they are: the agent exits with
 * its usage error and the container crash-loops, as it would in a cluster.
 */

export interface SkiffAgentLauncherOptions {
  /** Which containers run the agent; default: the command names `skiff-agent`. */
  isAgent?(container: Container): boolean;
  /** Environment added to the agent's (after the container's). */
  env?: Record<string, string>;
  /** The pod port when the agent is told `--port 0` (nothing to learn from the command): default the container's first port. */
  defaultPort?: number;
}

/** Index of the agent program in a command line, or -1. */
export function agentIndex(argv: readonly string[]): number {
  return argv.findIndex((a) => basename(a).startsWith('skiff-agent'));
}

function listeningPort(line: string): number | undefined {
  try {
    const msg = JSON.parse(line) as { event?: unknown; port?: unknown };
    return msg.event === 'listening' && typeof msg.port === 'number' ? msg.port : undefined;
  } catch {
    return undefined;
  }
}

export function skiffAgentLauncher(opts: SkiffAgentLauncherOptions = {}): ContainerLauncher {
  return (ctx): ContainerPlan | undefined => {
    const c = ctx.container;
    const argv = [...(c.command ?? []), ...(c.args ?? [])];
    const at = agentIndex(argv);
    const claimed = opts.isAgent ? opts.isAgent(c) : at >= 0;
    if (!claimed || at < 0) return undefined;
    const given = argv.slice(at + 1);
    const { command, args: entry } = agentCommand();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: ctx.rootfs,
      ...ctx.env,
      ...opts.env,
      [EXIT_WITH_STDIN_ENV]: '1',
    };
    const cwd = c.workingDir !== undefined ? ctx.hostPath(c.workingDir) : undefined;

    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs(given);
    } catch {
      return { kind: PlanKind.Process, command, args: [...entry, ...given], env, ...(cwd ? { cwd } : {}) };
    }
    // The copy-files-to-volume step: both directories are paths in the container, mapped like --root.
    if (parsed.kind === 'seed') return { kind: PlanKind.Process, command, args: [...entry, 'seed', ctx.hostPath(parsed.from), ctx.hostPath(parsed.to)], env };
    if (parsed.kind !== 'run') return { kind: PlanKind.Process, command, args: [...entry, ...given], env };
    const podPort = parsed.port !== 0 ? parsed.port : (opts.defaultPort ?? c.ports?.[0]?.containerPort ?? 0);
    const args = [...entry, '--root', ctx.hostPath(parsed.root ?? DEFAULT_ROOT), '--host', '127.0.0.1', '--port', '0'];
    if (parsed.tokenFile !== undefined) args.push('--token-file', ctx.hostPath(parsed.tokenFile));
    return {
      kind: PlanKind.Process,
      command,
      args,
      env,
      ...(cwd ? { cwd } : {}),
      ...(podPort > 0 ? { listen: { containerPort: podPort, hostPortFromStdout: listeningPort } } : {}),
    };
  };
}
