import { SessionMethod } from '@skiff/daemon/control';
import type { Command } from '../command.ts';
import { connectIfRunning } from '../daemon-connection.ts';
import { projectRoot } from '../project.ts';
import { formatBytes, formatDuration } from '../render/format.ts';
import { renderApp } from '../render/events.ts';

export const statusCommand: Command = {
  name: 'status',
  summary: "show the project's session: sync, agent and app",
  maxPositionals: 1,
  options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  help: `Usage: skiff status [DIR] [--json]

Shows the session of the project at DIR: its state, the agent, the app
(state, pid, restarts, last exit) and the last sync. Exits 3 when no session
runs for the project.
`,
  async run(values, positionals, ctx) {
    const root = projectRoot(positionals[0]);
    const conn = await connectIfRunning(ctx.env);
    const s = ctx.style;
    if (!conn) {
      if (values.json) ctx.stdout.write(`${JSON.stringify({ ok: true, daemon: null, session: null })}\n`);
      else ctx.stdout.write(`${s.dim('skiffd is not running; no session for')} ${root}\n`);
      return 3;
    }
    try {
      const sessions = await conn.request<Array<Record<string, any>>>(SessionMethod.LIST);
      const session = sessions.find((x) => x.root === root) ?? null;
      if (values.json) {
        ctx.stdout.write(`${JSON.stringify({ ok: true, daemon: conn.daemon, session })}\n`);
        return session ? 0 : 3;
      }
      if (!session) {
        ctx.stdout.write(`${s.dim('no session for')} ${root} ${s.dim(`(skiffd pid ${conn.daemon.pid} runs ${sessions.length})`)}\n`);
        return 3;
      }
      const last = session.lastSync;
      const lines = [
        `${s.bold(session.name)} ${s.dim(session.root)} → ${session.target}`,
        `  session  ${session.state}${session.error ? ` — ${session.error.message} [${session.error.code}]` : ''}`,
        `  agent    ${session.agent.state}${session.agent.url ? ` ${s.dim(session.agent.url)}` : ''}`,
        `  app      ${session.app ? (renderApp(session.app, s) ?? session.app.state) : 'waiting for the first sync'}`,
        `  tree     ${session.entries} entries, ${session.inSync ? s.green('in sync') : s.yellow('not in sync')} ${s.dim(session.digest)}`,
        last ? `  last     ${last.uploaded} files (${formatBytes(last.bytes)}) in ${formatDuration(last.durationMs)}, ${formatDuration(Date.now() - last.at)} ago` : '',
        ...session.urls.map((u: string) => `  url      ${s.cyan(u)}`),
      ].filter(Boolean);
      ctx.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    } finally {
      await conn.close();
    }
  },
};
