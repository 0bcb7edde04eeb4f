import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { AgentClient, defaultLocalRoot, pushTimeoutFromEnv, runPush, startLocalAgent, type LocalAgent, type PushResult } from '@skiff/daemon';
import { formatBytes, formatDuration, plural } from '../render/format.ts';
import { createProgress } from '../render/progress.ts';
import type { CommandContext } from '../context.ts';

export const PUSH_HELP = `Usage: skiff push [DIR] [options]

Syncs DIR (default: the current directory) into the agent once and exits.
The first push sends every file that is not ignored; later pushes send only
what changed.

Options:
  --target local        where the agent runs (default: local)
  --local-root DIR      the local target's agent root
                        (default: $XDG_CACHE_HOME/skiff/<project>-<id>/root)
  --agent ws://HOST:PORT  push to an agent that already runs (no target managed)
  --token-file FILE     the token of that agent (or SKIFF_AGENT_TOKEN)
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
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface PushArgs {
  dir: string;
  target: string;
  localRoot?: string;
  agent?: string;
  tokenFile?: string;
  json: boolean;
}

export async function pushCommand(args: PushArgs, ctx: CommandContext): Promise<number> {
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

async function connector(args: PushArgs, dir: string, ctx: CommandContext, started: (agent: LocalAgent) => void): Promise<() => Promise<AgentClient>> {
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
  return async () => {
    const agent = await startLocalAgent({ root });
    started(agent);
    return AgentClient.connect(agent.url, agent.token);
  };
}

function renderPush(r: PushResult, where: string, ctx: CommandContext): string {
  const s = ctx.style;
  const lines: string[] = [];
  const what = r.uploaded === 0 && r.deleted === 0 ? 'Already in sync' : `Sent ${plural(r.uploaded, 'file')} (${formatBytes(r.bytes)})${r.deleted ? `, deleted ${plural(r.deleted, 'path')}` : ''}`;
  lines.push(`${s.green('✓')} ${what} in ${formatDuration(r.durationMs)} ${s.dim(`→ ${where}`)}`);
  lines.push(s.dim(`  ${plural(r.entries, 'entry', 'entries')} in the tree, ${r.hashed} hashed, digest ${r.digest}`));
  for (const p of r.problems) lines.push(`${s.yellow('!')} ${p.path}: ${p.message} [${p.code}]`);
  return `${lines.join('\n')}\n`;
}
