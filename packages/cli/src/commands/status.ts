import { ErrorCode } from '@skiff/protocol';
import { SessionMethod, SessionState, type SessionResults, type SessionStatus } from '@skiff/daemon/control';
import type { Command } from '../command.ts';
import type { CommandContext } from '../context.ts';
import { connectIfRunning } from '../daemon-connection.ts';
import { EXIT } from '../exit.ts';
import { projectRoot } from '../project.ts';
import { formatBytes, formatDuration } from '../render/format.ts';
import { renderApp } from '../render/events.ts';

/**
 * `skiff status`: exit 0 for a session that works (whatever it is doing),
 * 1 for a failed one (its state, its error, and how to start it again),
 * 3 when none runs. With --json: `{ok, daemon, session}`, plus `error` for a
 * failed session (`ok` false).
 */
export const statusCommand: Command = {
  name: 'status',
  summary: "show the project's session: sync, agent and app",
  maxPositionals: 1,
  options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  help: `Usage: skiff status [DIR] [--json]

Shows the session of the project at DIR: its state, the agent, the app
(state, pid, restarts, last exit) and the last sync.

Exit status: 0 when the session runs, 1 when it failed (its error is shown;
'skiff dev' starts it afresh), 3 when no session runs for the project.
`,
  async run(values, positionals, ctx) {
    const root = projectRoot(positionals[0]);
    const conn = await connectIfRunning(ctx.env);
    const s = ctx.style;
    if (!conn) {
      if (values.json) ctx.stdout.write(`${JSON.stringify({ ok: true, daemon: null, session: null })}\n`);
      else ctx.stdout.write(`${s.dim('no session for')} ${root} ${s.dim('(skiffd is not running)')}\n`);
      return EXIT.NOTHING_RUNNING;
    }
    try {
      let session: SessionStatus;
      try {
        session = await conn.request<SessionResults[typeof SessionMethod.STATUS]>(SessionMethod.STATUS, { root });
      } catch (err) {
        if ((err as { code?: unknown }).code !== ErrorCode.NO_SESSION) throw err;
        if (values.json) ctx.stdout.write(`${JSON.stringify({ ok: true, daemon: conn.daemon, session: null })}\n`);
        else ctx.stdout.write(`${s.dim('no session for')} ${root} ${s.dim(`(skiffd pid ${conn.daemon.pid})`)}\n`);
        return EXIT.NOTHING_RUNNING;
      }
      const failed = session.state === SessionState.FAILED;
      if (values.json) ctx.stdout.write(`${JSON.stringify({ ok: !failed, daemon: conn.daemon, session, ...(failed ? { error: session.error } : {}) })}\n`);
      else ctx.stdout.write(renderStatus(session, ctx));
      return failed ? EXIT.FAILURE : EXIT.OK;
    } finally {
      await conn.close();
    }
  },
};

function renderStatus(session: SessionStatus, ctx: CommandContext): string {
  const s = ctx.style;
  const error = session.error ? ` — ${session.error.message} [${session.error.code}]` : '';
  if (session.state === SessionState.FAILED) {
    // Nothing of a failed session runs: its agent and app are stopped, its tree is not being synced.
    return [
      `${s.bold(session.name)} ${s.dim(session.root)} → ${session.target}`,
      `  session  ${s.red(session.state)}${error}`,
      `  ${s.dim("nothing runs for this project; 'skiff dev' starts the session afresh")}`,
      '',
    ].join('\n');
  }
  const last = session.lastSync;
  const lines = [
    `${s.bold(session.name)} ${s.dim(session.root)} → ${session.target}`,
    `  session  ${session.state}${error}`,
    `  agent    ${session.agent.state}${session.agent.url ? ` ${s.dim(session.agent.url)}` : ''}`,
    session.agent.description ? `           ${s.dim(session.agent.description)}` : '',
    `  app      ${session.app ? (renderApp(session.app, s) ?? session.app.state) : 'waiting for the first sync'}`,
    `  tree     ${session.entries} entries, ${session.inSync ? s.green('in sync') : s.yellow('not in sync')} ${s.dim(session.digest)}`,
    last ? `  last     ${last.uploaded} files (${formatBytes(last.bytes)})${last.copied ? `, ${last.copied} moved` : ''} in ${formatDuration(last.durationMs)}, ${formatDuration(Date.now() - last.at)} ago` : '',
    ...session.urls.map((u) => `  url      ${s.cyan(u)}`),
    ...(session.problemCount > 0 ? [`  problems ${s.yellow(String(session.problemCount))} path${session.problemCount === 1 ? '' : 's'} not synced:`] : []),
    ...session.problems.map((p) => `    ${s.yellow('!')} ${p.path}: ${p.message} [${p.code}]`),
    ...(session.problemCount > session.problems.length ? [s.dim(`    … and ${session.problemCount - session.problems.length} more (skiff status --json lists the first ${session.problems.length})`)] : []),
  ].filter(Boolean);
  return `${lines.join('\n')}\n`;
}
