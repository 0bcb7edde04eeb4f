import { SessionMethod } from '@skiff/daemon/control';
import type { Command } from '../command.ts';
import { connectIfRunning } from '../daemon-connection.ts';
import { projectRoot } from '../project.ts';
import { renderApp } from '../render/events.ts';
import type { AppStatusHeader } from '@skiff/protocol';

interface LogLine {
  stream: string;
  ts: number;
  text: string;
}

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
the last lines of every session); -f keeps following it until Ctrl-C.
`,
  async run(values, positionals, ctx) {
    const root = projectRoot(positionals[0]);
    const conn = await connectIfRunning(ctx.env);
    if (!conn) {
      ctx.stderr.write(`${ctx.style.dim('skiffd is not running; no logs for')} ${root}\n`);
      return 3;
    }
    const write = (line: LogLine) => {
      if (values.json) ctx.stdout.write(`${JSON.stringify(line)}\n`);
      else (line.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(line.text);
    };
    if (!values.follow) {
      try {
        for (const line of await conn.request<LogLine[]>(SessionMethod.LOGS, { root })) write(line);
        return 0;
      } finally {
        await conn.close();
      }
    }
    conn.on('app.log', (data) => write(data as LogLine));
    conn.on('app.status', (data) => {
      const line = values.json ? null : renderApp(data as AppStatusHeader, ctx.style);
      if (line) ctx.stderr.write(`${ctx.style.dim(line)}\n`);
    });
    await conn.request(SessionMethod.ATTACH, { root, logs: true, events: ['app.log', 'app.status'] });
    const code = await new Promise<number>((resolve) => {
      process.once('SIGINT', () => resolve(0));
      conn.onClose(() => resolve(1));
    });
    await conn.close();
    return code;
  },
};
