import type { AppStatusHeader } from '@skiff/protocol';
import { SessionEvent, SessionMethod, noSessionError, type AppLog, type SessionResults } from '@skiff/daemon/control';
import type { Command } from '../command.ts';
import { connectIfRunning } from '../daemon-connection.ts';
import { EXIT } from '../exit.ts';
import { armInterrupt } from '../interrupt.ts';
import { projectRoot } from '../project.ts';
import { renderApp } from '../render/events.ts';

export const logsCommand: Command = {
  name: 'logs',
  summary: "print the app's output (-f follows it)",
  maxPositionals: 1,
  options: {
    follow: { type: 'boolean', short: 'f', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  help: `Usage: skiff logs [DIR] [-f] [--json]

Prints the recent output of the app of the project at DIR (the daemon keeps
the last lines of every session); -f keeps following it until Ctrl-C, or
until the reader of the output goes away (skiff logs -f | head).
Exits 3 (SKIFF_E_NO_SESSION) when no session runs for the project.
`,
  async run(values, positionals, ctx) {
    const root = projectRoot(positionals[0]);
    const conn = await connectIfRunning(ctx.env);
    if (!conn) throw noSessionError(root, 'skiffd is not running');
    const write = (line: AppLog) => {
      if (values.json) ctx.stdout.write(`${JSON.stringify(line)}\n`);
      else (line.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(line.text);
    };
    if (!values.follow) {
      try {
        for (const line of await conn.request<SessionResults[typeof SessionMethod.LOGS]>(SessionMethod.LOGS, { root })) write(line);
        return EXIT.OK;
      } finally {
        await conn.close();
      }
    }
    const interrupt = armInterrupt();
    try {
      conn.on(SessionEvent.APP_LOG, (data) => write(data as AppLog));
      conn.on(SessionEvent.APP_STATUS, (data) => {
        const line = values.json ? null : renderApp(data as AppStatusHeader, ctx.style);
        if (line) ctx.stderr.write(`${ctx.style.dim(line)}\n`);
      });
      // The daemon went away (stopped, killed): its reason is the command's error.
      const lost = new Promise<number>((resolve, reject) => conn.onClose((reason) => (reason ? reject(reason) : resolve(EXIT.OK))));
      await conn.request(SessionMethod.ATTACH, { root, logs: true, events: [SessionEvent.APP_LOG, SessionEvent.APP_STATUS] });
      return await Promise.race([interrupt.received.then(() => EXIT.OK), ctx.outputClosed.then(() => EXIT.OK), lost]);
    } finally {
      interrupt.dispose();
      await conn.close();
    }
  },
};
