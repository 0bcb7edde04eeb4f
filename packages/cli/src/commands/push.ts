import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCode, SkiffError, type AppSpec } from '@skiff/protocol';
import type { AgentClient, AgentPlace, PushResult, TargetDriver } from '@skiff/daemon';
import { SessionMethod, Target, isLive, parseTarget, resolveTarget, type SessionPushResult, type SessionResults } from '@skiff/daemon/control';
import type { OptionSpecs } from '../args.ts';
import type { Command } from '../command.ts';
import { connectIfRunning } from '../daemon-connection.ts';
import { EXIT, exitForSignal } from '../exit.ts';
import { armInterrupt, type Interrupt } from '../interrupt.ts';
import { projectRoot } from '../project.ts';
import { formatBytes, formatDuration, plural } from '../render/format.ts';
import { createProgress } from '../render/progress.ts';
import type { CommandContext } from '../context.ts';

export const PUSH_HELP = `Usage: skiff push [DIR] [options]

Syncs DIR (default: the current directory, or the nearest parent with a
skiff.yaml) into the agent once and exits. When a session runs for DIR
(skiff dev), the push goes through it; otherwise it is one shot. The first
push sends every file that is not ignored; later pushes send only what changed.

Options:
  --target TARGET       where the agent runs: local, docker or kubernetes
                        (default: skiff.yaml's target, else local)
  --local-root DIR      the local target's agent root
                        (default: $XDG_CACHE_HOME/skiff/<project>-<id>/root)
  --context NAME        kubernetes: the kubeconfig context (default: skiff.yaml's
                        kubernetes.context, else the current one)
  --namespace NAME      kubernetes: the namespace (default: skiff.yaml's, else
                        the context's, else "default")
  --agent ws://HOST:PORT  push to an agent that already runs (no target managed)
  --token-file FILE     the token of that agent (or SKIFF_AGENT_TOKEN)
  --force               sync even when that deletes (nearly) every file on the
                        agent; without it skiff stops, in case the project was
                        emptied or replaced by mistake
  --json                print one JSON object with the result
  -h, --help            show this help

Ctrl-C stops a one-shot push: the agent it started is stopped, what was
already sent stays, no partial file is left, and skiff exits 130.

Environment:
  SKIFF_PUSH_TIMEOUT    bound on the whole push, Go duration syntax (default 15m);
                        CF_STARTUP_TIMEOUT and KF_STARTUP_TIMEOUT are read when it is unset
`;

export const PUSH_OPTIONS: OptionSpecs = {
  target: { type: 'string', value: 'TARGET' },
  'local-root': { type: 'string', value: 'DIR' },
  context: { type: 'string', value: 'NAME' },
  namespace: { type: 'string', value: 'NAME' },
  agent: { type: 'string', value: 'ws://HOST:PORT' },
  'token-file': { type: 'string', value: 'FILE' },
  json: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

export interface PushArgs {
  dir: string;
  /** The --target flag; absent, skiff.yaml's target (else local) applies. */
  target?: Target;
  localRoot?: string;
  kubeContext?: string;
  namespace?: string;
  agent?: string;
  tokenFile?: string;
  json: boolean;
  force: boolean;
}

export const pushCommand: Command = {
  name: 'push',
  summary: 'sync DIR into the agent once',
  help: PUSH_HELP,
  options: PUSH_OPTIONS,
  maxPositionals: 1,
  run: (values, positionals, ctx) =>
    push(
      {
        dir: positionals[0] ?? '.',
        target: values.target === undefined ? undefined : parseTarget(values.target, '--target'),
        localRoot: values['local-root'] as string | undefined,
        kubeContext: values.context as string | undefined,
        namespace: values.namespace as string | undefined,
        agent: values.agent as string | undefined,
        tokenFile: values['token-file'] as string | undefined,
        json: values.json === true,
        force: values.force === true,
      },
      ctx,
    ),
};

async function push(args: PushArgs, ctx: CommandContext): Promise<number> {
  if (args.agent !== undefined && args.target !== undefined) {
    throw new SkiffError(ErrorCode.USAGE, '--agent pushes into an agent that already runs, wherever it is: leave --target out');
  }
  if (args.agent === undefined && args.localRoot === undefined) {
    const viaSession = await pushThroughSession(projectRoot(args.dir), args, ctx);
    if (viaSession !== null) return viaSession;
  }
  return pushOnce(args, ctx);
}

/** Pushes through the live session of `root` when the daemon runs one; null when none runs. */
async function pushThroughSession(root: string, args: PushArgs, ctx: CommandContext): Promise<number | null> {
  const conn = await connectIfRunning(ctx.env);
  if (!conn) return null;
  try {
    const sessions = await conn.request<SessionResults[typeof SessionMethod.LIST]>(SessionMethod.LIST);
    const session = sessions.find((s) => s.root === root && isLive(s.state) && (args.target === undefined || s.target === args.target));
    if (!session) return null;
    const started = performance.now();
    const r = await conn.request<SessionPushResult>(SessionMethod.PUSH, { root, target: session.target, force: args.force });
    const result = { ...r, durationMs: Math.round(performance.now() - started), session: true };
    if (args.json) ctx.stdout.write(`${JSON.stringify({ ok: r.problems.length === 0, ...result })}\n`);
    else {
      const lines = [`${ctx.style.green('✓')} ${summary(r)} in ${formatDuration(result.durationMs)} ${ctx.style.dim('(through the running session)')}`, ...problemLines(r.problems, ctx)];
      ctx.stdout.write(`${lines.join('\n')}\n`);
    }
    return r.problems.length === 0 ? EXIT.OK : EXIT.FAILURE;
  } finally {
    await conn.close();
  }
}

type Daemon = typeof import('@skiff/daemon');

/**
 * A one-shot push. Ctrl-C (or SIGTERM) abandons it: the connection is
 * closed and the agent this push started is stopped — waited for, even when
 * it was still starting — so that when skiff exits no agent is left and the
 * agent has dropped the batch it was receiving (its temporary files with it).
 */
async function pushOnce(args: PushArgs, ctx: CommandContext): Promise<number> {
  // The one-shot path needs the whole sync pipeline: loaded only here.
  const daemon = await import('@skiff/daemon');
  const timeout = daemon.pushTimeoutFromEnv(ctx.env);
  const dir = resolve(args.dir);
  const interrupt = armInterrupt();
  const agent = new AgentOfThisPush();
  const progress = args.json ? undefined : createProgress(ctx.stderr, ctx.style);
  try {
    const connect = await connector(args, dir, ctx, daemon, agent, interrupt);
    const pushing = daemon.runPush({
      dir,
      connect: connect.open,
      appSpec: connect.appSpec,
      timeoutMs: timeout.ms,
      timeoutSource: timeout.source,
      force: args.force,
      onProgress: progress?.update,
      onWarning: (w) => ctx.stderr.write(`${ctx.style.yellow('warning')} ${w.message} [${w.code}]\n`),
    });
    pushing.catch(() => undefined); // an interrupt gives up on it
    const result = await Promise.race([pushing, interrupt.received]);
    progress?.done();
    if (typeof result === 'string') {
      await agent.stop();
      ctx.stderr.write(`${ctx.style.yellow('interrupted')} the push stopped; what was sent stays, no partial file is left\n`);
      return exitForSignal(result);
    }
    if (args.json) ctx.stdout.write(`${JSON.stringify({ ok: result.problems.length === 0, ...result })}\n`);
    else ctx.stdout.write(renderPush(result, agent.where ?? args.agent ?? '', ctx));
    return result.problems.length === 0 ? EXIT.OK : EXIT.FAILURE;
  } finally {
    progress?.done();
    await agent.stop();
    interrupt.dispose();
  }
}

/** The agent a one-shot push starts (through its target) and connects to, and how to end both. */
class AgentOfThisPush {
  private driver: TargetDriver | undefined;
  private starting: Promise<AgentPlace> | undefined;
  private client: AgentClient | undefined;
  where: string | undefined;

  async start(driver: TargetDriver): Promise<AgentPlace> {
    this.driver = driver;
    this.starting = driver.start();
    const place = await this.starting;
    this.where = place.description === undefined ? place.root : `${place.root} (${place.description})`;
    return place;
  }

  connected(client: AgentClient): AgentClient {
    this.client = client;
    return client;
  }

  /**
   * Closes the connection (the agent drops an open batch), then stops an
   * agent that would not outlive this process (the local target's child),
   * waiting for one still starting. A container keeps running its app.
   */
  async stop(): Promise<void> {
    await this.client?.close().catch(() => undefined);
    await this.starting?.catch(() => undefined);
    if (this.driver) await (this.driver.detached ? this.driver.release() : this.driver.stop()).catch(() => undefined);
  }
}

/** How a one-shot push reaches its agent, and the app spec to hand it when the agent outlives the push. */
interface Connector {
  open: () => Promise<AgentClient>;
  appSpec?: AppSpec;
}

async function connector(args: PushArgs, dir: string, ctx: CommandContext, daemon: Daemon, agent: AgentOfThisPush, interrupt: Interrupt): Promise<Connector> {
  const { AgentClient, loadProjectConfig, openTarget, toAppConfig } = daemon;
  const notInterrupted = () => {
    if (interrupt.signal) throw new SkiffError(ErrorCode.CONNECTION_LOST, `the push was interrupted (${interrupt.signal})`);
  };
  if (args.agent !== undefined) {
    if (!/^wss?:\/\/[^/]+/.test(args.agent)) throw new SkiffError(ErrorCode.USAGE, `--agent must be a ws://HOST:PORT URL, got ${JSON.stringify(args.agent)}`);
    const token = args.tokenFile !== undefined ? (await readFile(args.tokenFile, 'utf8')).trim() : ctx.env.SKIFF_AGENT_TOKEN;
    if (!token) throw new SkiffError(ErrorCode.AUTH, '--agent needs the agent token: pass --token-file FILE or set SKIFF_AGENT_TOKEN');
    return {
      open: async () => {
        notInterrupted();
        return agent.connected(await AgentClient.connect(args.agent!, token));
      },
    };
  }
  const config = await loadProjectConfig(dir);
  const target = resolveTarget(args.target, config.target);
  const localRoot = args.localRoot !== undefined ? resolve(args.localRoot) : target === Target.LOCAL ? daemon.defaultLocalRoot(dir, ctx.env) : undefined;
  const appSpec = toAppConfig(config);
  const driver = openTarget(target, { projectRoot: dir, config, appSpec, localRoot, kubeContext: args.kubeContext, namespace: args.namespace });
  return {
    open: async () => {
      notInterrupted();
      const place = await agent.start(driver);
      notInterrupted();
      return agent.connected(await AgentClient.connect(place.url, place.token));
    },
    // A container keeps running the app after the push, as odo push left it; the local agent goes with the push.
    ...(driver.detached ? { appSpec } : {}),
  };
}

function renderPush(r: PushResult, where: string, ctx: CommandContext): string {
  const s = ctx.style;
  const lines: string[] = [];
  lines.push(`${s.green('✓')} ${summary(r)} in ${formatDuration(r.durationMs)} ${s.dim(`→ ${where}`)}`);
  lines.push(s.dim(`  ${plural(r.entries, 'entry', 'entries')} in the tree, ${r.hashed} hashed, digest ${r.digest}`));
  lines.push(...problemLines(r.problems, ctx));
  return `${lines.join('\n')}\n`;
}

/** What a push did, in a few words. */
function summary(r: { uploaded: number; copied: number; deleted: number; bytes: number }): string {
  if (r.uploaded === 0 && r.copied === 0 && r.deleted === 0) return 'Already in sync';
  const parts = [`Sent ${plural(r.uploaded, 'file')} (${formatBytes(r.bytes)})`];
  if (r.copied) parts.push(`moved ${plural(r.copied, 'file')} without sending them`);
  if (r.deleted) parts.push(`deleted ${plural(r.deleted, 'path')}`);
  return parts.join(', ');
}

function problemLines(problems: PushResult['problems'], ctx: CommandContext): string[] {
  return problems.map((p) => `${ctx.style.yellow('!')} ${p.path}: ${p.message} [${p.code}]`);
}
