import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import type { AgentClient, LocalAgent, PushResult } from '@skiff/daemon';
import { SessionMethod } from '@skiff/daemon/control';
import type { Command } from '../command.ts';
import { connectIfRunning } from '../daemon-connection.ts';
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
  --target local        where the agent runs (default: local)
  --local-root DIR      the local target's agent root
                        (default: $XDG_CACHE_HOME/skiff/<project>-<id>/root)
  --agent ws://HOST:PORT  push to an agent that already runs (no target managed)
  --token-file FILE     the token of that agent (or SKIFF_AGENT_TOKEN)
  --force               sync even when that deletes (nearly) every file on the
                        agent; without it skiff stops, in case the project was
                        emptied or replaced by mistake
  --json                print one JSON object with the result
  -h, --help            show this help

Environment:
  SKIFF_PUSH_TIMEOUT    bound on the whole push, Go duration syntax (default 15m);
                        CF_STARTUP_TIMEOUT and KF_STARTUP_TIMEOUT are read when it is unset
`;

export const PUSH_OPTIONS = {
  target: { type: 'string', default: 'local' },
  'local-root': { type: 'string' },
  agent: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface PushArgs {
  dir: string;
  target: string;
  localRoot?: string;
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
        target: String(values.target ?? 'local'),
        localRoot: values['local-root'] as string | undefined,
        agent: values.agent as string | undefined,
        tokenFile: values['token-file'] as string | undefined,
        json: values.json === true,
        force: values.force === true,
      },
      ctx,
    ),
};

async function push(args: PushArgs, ctx: CommandContext): Promise<number> {
  if (args.agent === undefined && args.localRoot === undefined) {
    const viaSession = await pushThroughSession(projectRoot(args.dir), args, ctx);
    if (viaSession !== null) return viaSession;
  }
  // The one-shot path needs the whole sync pipeline: loaded only here.
  const { pushTimeoutFromEnv, runPush } = await import('@skiff/daemon');
  const timeout = pushTimeoutFromEnv(ctx.env);
  const dir = resolve(args.dir);
  let local: LocalAgent | undefined;
  const progress = args.json ? undefined : createProgress(ctx.stderr, ctx.style);
  try {
    const connect = await connector(args, dir, ctx, (agent) => (local = agent));
    const result = await runPush({
      dir,
      connect,
      timeoutMs: timeout.ms,
      timeoutSource: timeout.source,
      force: args.force,
      onProgress: progress?.update,
      onWarning: (w) => ctx.stderr.write(`${ctx.style.yellow('warning')} ${w.message} [${w.code}]\n`),
    });
    progress?.done();
    if (args.json) ctx.stdout.write(`${JSON.stringify({ ok: result.problems.length === 0, ...result })}\n`);
    else ctx.stdout.write(renderPush(result, local?.root ?? args.agent ?? '', ctx));
    return result.problems.length === 0 ? 0 : 1;
  } finally {
    progress?.done();
    await local?.stop();
  }
}

/** Pushes through the session of `root` when the daemon runs one; null when none runs. */
async function pushThroughSession(root: string, args: PushArgs, ctx: CommandContext): Promise<number | null> {
  const conn = await connectIfRunning(ctx.env);
  if (!conn) return null;
  try {
    const sessions = await conn.request<Array<{ root: string; state: string }>>(SessionMethod.LIST);
    if (!sessions.some((s) => s.root === root && s.state !== 'failed' && s.state !== 'stopped')) return null;
    const started = performance.now();
    const r = await conn.request<{ uploaded: number; deleted: number; bytes: number; problems: PushResult['problems']; inSync: boolean }>(SessionMethod.PUSH, { root, force: args.force });
    const result = { ...r, durationMs: Math.round(performance.now() - started), session: true };
    if (args.json) ctx.stdout.write(`${JSON.stringify({ ok: r.problems.length === 0, ...result })}\n`);
    else {
      const lines = [`${ctx.style.green('✓')} ${summary(r)} in ${formatDuration(result.durationMs)} ${ctx.style.dim('(through the running session)')}`, ...problemLines(r.problems, ctx)];
      ctx.stdout.write(`${lines.join('\n')}\n`);
    }
    return r.problems.length === 0 ? 0 : 1;
  } finally {
    await conn.close();
  }
}

async function connector(args: PushArgs, dir: string, ctx: CommandContext, started: (agent: LocalAgent) => void): Promise<() => Promise<AgentClient>> {
  const { AgentClient, assertRootsApart, defaultLocalRoot, startLocalAgent } = await import('@skiff/daemon');
  if (args.agent !== undefined) {
    if (!/^wss?:\/\/[^/]+/.test(args.agent)) throw new SkiffError(ErrorCode.USAGE, `--agent must be a ws://HOST:PORT URL, got ${JSON.stringify(args.agent)}`);
    const token = args.tokenFile !== undefined ? (await readFile(args.tokenFile, 'utf8')).trim() : ctx.env.SKIFF_AGENT_TOKEN;
    if (!token) throw new SkiffError(ErrorCode.AUTH, '--agent needs the agent token: pass --token-file FILE or set SKIFF_AGENT_TOKEN');
    return () => AgentClient.connect(args.agent!, token);
  }
  if (args.target !== 'local') {
    throw new SkiffError(ErrorCode.USAGE, `target ${JSON.stringify(args.target)} is not available for push yet; use --target local or --agent ws://HOST:PORT`);
  }
  const root = args.localRoot !== undefined ? resolve(args.localRoot) : defaultLocalRoot(dir, ctx.env);
  assertRootsApart(dir, root);
  return async () => {
    const agent = await startLocalAgent({ root });
    started(agent);
    return AgentClient.connect(agent.url, agent.token);
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
function summary(r: { uploaded: number; deleted: number; bytes: number }): string {
  if (r.uploaded === 0 && r.deleted === 0) return 'Already in sync';
  return `Sent ${plural(r.uploaded, 'file')} (${formatBytes(r.bytes)})${r.deleted ? `, deleted ${plural(r.deleted, 'path')}` : ''}`;
}

function problemLines(problems: PushResult['problems'], ctx: CommandContext): string[] {
  return problems.map((p) => `${ctx.style.yellow('!')} ${p.path}: ${p.message} [${p.code}]`);
}
