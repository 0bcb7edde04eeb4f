import { SessionMethod, type ControlConnection } from '@skiff/daemon/control';
import type { AppStatusHeader } from '@skiff/protocol';
import type { Command } from '../command.ts';
import type { CommandContext } from '../context.ts';
import { connectOrStartDaemon } from '../daemon-connection.ts';
import { projectRoot } from '../project.ts';
import { renderEvent } from '../render/events.ts';
import { createProgress } from '../render/progress.ts';

interface Status {
  id: string;
  root: string;
  state: string;
  urls: string[];
  error: { code: string; message: string } | null;
}

export const devCommand: Command = {
  name: 'dev',
  summary: 'sync DIR continuously and run its app; follow the session',
  maxPositionals: 1,
  options: {
    poll: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    'local-root': { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  help: `Usage: skiff dev [DIR] [options]

Starts the session of the project at DIR (default: the current directory, or
the nearest parent with a skiff.yaml), or attaches to it when one runs: every
change is synced as you save, and the app restarts after each batch. Ctrl-C
detaches this terminal; the session keeps syncing until 'skiff stop'.

Options:
  --poll              poll for changes instead of kernel notifications
                      (network file systems, WSL's Windows drives)
  --local-root DIR    the local target's agent root
  --force             sync even when that deletes (nearly) every file on the
                      agent (skiff stops otherwise: the project may have been
                      emptied or replaced by mistake)
  --json              print every event as a JSON line
  -h, --help          show this help
`,
  async run(values, positionals, ctx) {
    const root = projectRoot(positionals[0]);
    const conn = await connectOrStartDaemon(ctx.env);
    const progress = values.json ? undefined : createProgress(ctx.stderr, ctx.style);
    let printedUrls = false;
    let failed: ((code: number) => void) | undefined;
    const finished = new Promise<number>((resolve) => (failed = resolve));

    const print = (event: string, data: unknown) => {
      if (values.json) {
        ctx.stdout.write(`${JSON.stringify({ event, data })}\n`);
        return;
      }
      if (event === 'sync.progress') return progress?.update(data as Parameters<typeof progress.update>[0]);
      if (event === 'app.log') return void ctx.stdout.write(ctx.style.dim('│ ') + String((data as { text: string }).text));
      progress?.done();
      const line = renderEvent(event, data, ctx.style);
      if (line) ctx.stdout.write(`${line}\n`);
      if (event === 'app.status' && (data as AppStatusHeader).state === 'running' && !printedUrls) {
        printedUrls = true;
        // The session knows its URLs once it has read skiff.yaml: ask now that the app runs.
        void conn
          .request<Status>(SessionMethod.STATUS, { root })
          .then((st) => st.urls.length > 0 && ctx.stdout.write(`${ctx.style.bold('App:')} ${st.urls.map((u) => ctx.style.cyan(u)).join('  ')}\n`))
          .catch(() => undefined);
      }
    };

    const params = { root, poll: values.poll === true, force: values.force === true, ...(values['local-root'] ? { localRoot: String(values['local-root']) } : {}) };
    const started = await conn.request<Status>(SessionMethod.START, { ...params, wait: false });
    if (!values.json) ctx.stdout.write(`${ctx.style.bold('skiff dev')} ${root} ${ctx.style.dim(`(session ${started.id}, Ctrl-C detaches)`)}\n`);
    conn.on('*', (data, event) => {
      print(event, data);
      const state = (data as { state?: string }).state;
      if (event === 'session.state' && (state === 'failed' || state === 'stopped')) failed?.(state === 'failed' ? 1 : 0);
    });
    conn.onClose(() => failed?.(1));
    const attached = await conn.request<Status>(SessionMethod.ATTACH, { root, logs: true });
    if (attached.state === 'failed') {
      ctx.stderr.write(`${ctx.style.red('error')} ${attached.error?.message} [${attached.error?.code}]\n`);
      await conn.close();
      return 1;
    }
    return waitForDetach(conn, ctx, finished);
  },
};

/** Resolves on Ctrl-C (detach: the session goes on) or when the session ends. */
async function waitForDetach(conn: ControlConnection, ctx: CommandContext, ended: Promise<number>): Promise<number> {
  let onSignal: () => void = () => undefined;
  const detached = new Promise<number>((resolve) => {
    onSignal = () => {
      ctx.stderr.write(ctx.style.dim('\ndetached; the session keeps syncing (skiff stop ends it)\n'));
      resolve(0);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  const code = await Promise.race([detached, ended]);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await conn.close();
  return code;
}
