import { DaemonMethod, stopDaemon, type DaemonStatus } from '@skiff/daemon/control';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import type { Command } from '../command.ts';
import { connectIfRunning, daemonPaths } from '../daemon-connection.ts';
import { formatDuration } from '../render/format.ts';

export const daemonCommand: Command = {
  name: 'daemon',
  summary: 'status | stop the background daemon (skiffd)',
  maxPositionals: 1,
  options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  help: `Usage: skiff daemon status|stop [--json]

status  shows whether skiffd runs: pid, version, uptime, clients, socket, log
stop    stops skiffd and every session it runs (their apps and agents too)

skiff starts the daemon by itself when a command needs it.
`,
  async run(values, positionals, ctx) {
    const action = positionals[0] ?? 'status';
    if (action === 'stop') {
      const result = await stopDaemon({ paths: daemonPaths(ctx.env) });
      ctx.stdout.write(values.json ? `${JSON.stringify({ ok: true, ...result })}\n` : result.wasRunning ? `stopped skiffd (pid ${result.pid})\n` : 'skiffd was not running\n');
      return 0;
    }
    if (action !== 'status') throw new SkiffError(ErrorCode.USAGE, `unknown daemon action ${JSON.stringify(action)}: use status or stop`);
    const conn = await connectIfRunning(ctx.env);
    if (!conn) {
      ctx.stdout.write(values.json ? `${JSON.stringify({ ok: true, running: false })}\n` : 'skiffd is not running\n');
      return 3;
    }
    const status = await conn.request<DaemonStatus>(DaemonMethod.STATUS);
    await conn.close();
    if (values.json) ctx.stdout.write(`${JSON.stringify({ ok: true, running: true, ...status })}\n`);
    else ctx.stdout.write(`skiffd ${status.version} running (pid ${status.pid}, up ${formatDuration(status.uptimeMs)}, ${status.clients} clients)\n  socket ${status.socket}\n  log    ${status.log}\n`);
    return 0;
  },
};
