import { SessionMethod } from '@skiff/daemon/control';
import type { Command } from '../command.ts';
import { connectIfRunning } from '../daemon-connection.ts';

export const sessionsCommand: Command = {
  name: 'sessions',
  summary: 'list the sessions of the running daemon',
  maxPositionals: 0,
  options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  help: `Usage: skiff sessions [--json]

Lists every session the daemon runs: project, target, state, app state.
`,
  async run(values, _positionals, ctx) {
    const conn = await connectIfRunning(ctx.env);
    const sessions = conn ? await conn.request<Array<Record<string, any>>>(SessionMethod.LIST) : [];
    await conn?.close();
    if (values.json) {
      ctx.stdout.write(`${JSON.stringify({ ok: true, daemon: conn?.daemon ?? null, sessions })}\n`);
      return 0;
    }
    if (sessions.length === 0) {
      ctx.stdout.write(ctx.style.dim(conn ? 'no sessions\n' : 'skiffd is not running\n'));
      return 0;
    }
    for (const s of sessions) {
      ctx.stdout.write(`${s.id}  ${s.state.padEnd(12)} ${String(s.app?.state ?? '-').padEnd(16)} ${s.target.padEnd(6)} ${s.root}\n`);
    }
    return 0;
  },
};
