import { SessionMethod, noSessionError } from '@skiff/daemon/control';
import type { Command } from '../command.ts';
import { connectIfRunning } from '../daemon-connection.ts';
import { EXIT } from '../exit.ts';
import { projectRoot } from '../project.ts';

export const stopCommand: Command = {
  name: 'stop',
  summary: "end the project's session: stop syncing, stop its app and agent",
  maxPositionals: 1,
  options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  help: `Usage: skiff stop [DIR] [--json]

Ends the session of the project at DIR: the watcher stops, the index is
saved, the app and the agent are stopped. The daemon keeps running.
Exits 3 (SKIFF_E_NO_SESSION) when no session runs for the project.
`,
  async run(values, positionals, ctx) {
    const root = projectRoot(positionals[0]);
    const conn = await connectIfRunning(ctx.env);
    if (!conn) throw noSessionError(root, 'skiffd is not running');
    try {
      await conn.request(SessionMethod.STOP, { root });
      ctx.stdout.write(values.json ? `${JSON.stringify({ ok: true, stopped: true, root })}\n` : `stopped the session of ${root}\n`);
      return EXIT.OK;
    } finally {
      await conn.close();
    }
  },
};
