import { SessionMethod, SessionState, isLive, type SessionResults, type SessionStatus } from '@skiff/daemon/control';
import type { Command } from '../command.ts';
import { connectIfRunning } from '../daemon-connection.ts';
import { EXIT } from '../exit.ts';

export const sessionsCommand: Command = {
  name: 'sessions',
  summary: 'list the sessions of the running daemon',
  maxPositionals: 0,
  options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  help: `Usage: skiff sessions [--json]

Lists every session the daemon runs: id, state, app state, target, project.
A failed session is listed as failed with its error code until 'skiff dev'
starts it again or 'skiff stop' removes it; 'skiff status DIR' shows why.
`,
  async run(values, _positionals, ctx) {
    const conn = await connectIfRunning(ctx.env);
    let sessions: SessionStatus[] = [];
    try {
      if (conn) sessions = await conn.request<SessionResults[typeof SessionMethod.LIST]>(SessionMethod.LIST);
    } finally {
      await conn?.close();
    }
    if (values.json) {
      ctx.stdout.write(`${JSON.stringify({ ok: true, daemon: conn?.daemon ?? null, sessions })}\n`);
      return EXIT.OK;
    }
    if (sessions.length === 0) {
      ctx.stdout.write(ctx.style.dim(conn ? 'no sessions\n' : 'skiffd is not running\n'));
      return EXIT.OK;
    }
    for (const s of sessions) ctx.stdout.write(`${sessionLine(s)}\n`);
    return EXIT.OK;
  },
};

/** One session in the list; a failed one shows no app (nothing of it runs) and its error code. */
function sessionLine(s: SessionStatus): string {
  const app = isLive(s.state) ? (s.app?.state ?? '-') : '-';
  const why = s.state === SessionState.FAILED && s.error ? `  [${s.error.code}]` : '';
  return `${s.id}  ${s.state.padEnd(12)} ${app.padEnd(16)} ${s.target.padEnd(10)} ${s.root}${why}`;
}
