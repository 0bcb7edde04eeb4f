import { resolve } from 'node:path';
import { ErrorCode, SkiffError, type AppStatusHeader } from '@skiff/protocol';
import {
  ANY_EVENT,
  SessionEvent,
  SessionMethod,
  SessionState,
  errorFromWire,
  Target,
  parseTarget,
  type ControlConnection,
  type EventPayloads,
  type SessionRef,
  type SessionResults,
  type StartParams,
} from '@skiff/daemon/control';
import type { Command } from '../command.ts';
import type { CommandContext } from '../context.ts';
import { connectOrStartDaemon } from '../daemon-connection.ts';
import { EXIT } from '../exit.ts';
import { armInterrupt, type Interrupt } from '../interrupt.ts';
import { projectRoot } from '../project.ts';
import { renderEvent } from '../render/events.ts';
import { createProgress } from '../render/progress.ts';

export const devCommand: Command = {
  name: 'dev',
  summary: 'sync DIR continuously and run its app; follow the session',
  maxPositionals: 1,
  options: {
    target: { type: 'string', value: 'TARGET' },
    poll: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    'local-root': { type: 'string', value: 'DIR' },
    context: { type: 'string', value: 'NAME' },
    namespace: { type: 'string', value: 'NAME' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  help: `Usage: skiff dev [DIR] [options]

Starts the session of the project at DIR (default: the current directory, or
the nearest parent with a skiff.yaml), or attaches to it when one runs: every
change is synced as you save, and the app restarts after each batch. Ctrl-C
detaches this terminal; the session keeps syncing until 'skiff stop'.

Options:
  --target TARGET     where the agent runs: local, docker or kubernetes
                      (default: skiff.yaml's target, else local)
  --poll              poll for changes instead of kernel notifications
                      (network file systems, WSL's Windows drives)
  --local-root DIR    the local target's agent root; one project per root
  --context NAME      kubernetes: the kubeconfig context (default: skiff.yaml's
                      kubernetes.context, else the current one)
  --namespace NAME    kubernetes: the namespace (default: skiff.yaml's, else the
                      context's, else "default")
  --force             sync even when that deletes (nearly) every file on the
                      agent (skiff stops otherwise: the project may have been
                      emptied or replaced by mistake)
  --json              print every event as a JSON line
  -h, --help          show this help

When the session fails (a broken skiff.yaml, a target not available), its
error is printed once and skiff exits non-zero; the next 'skiff dev' starts
the session afresh.
`,
  async run(values, positionals, ctx) {
    const root = projectRoot(positionals[0]);
    const params: StartParams = {
      root,
      wait: false,
      poll: values.poll === true,
      force: values.force === true,
      // Only a choice made here is sent: otherwise the daemon reads skiff.yaml's target (else local).
      ...(values.target !== undefined ? { target: parseTarget(values.target, '--target') } : {}),
      // Resolved here: the daemon runs in another directory.
      ...(typeof values['local-root'] === 'string' ? { localRoot: resolve(values['local-root']) } : {}),
      ...(typeof values.context === 'string' ? { kubeContext: values.context } : {}),
      ...(typeof values.namespace === 'string' ? { namespace: values.namespace } : {}),
    };
    const conn = await connectOrStartDaemon(ctx.env);
    const interrupt = armInterrupt();
    try {
      return await follow(conn, params, values.json === true, ctx, interrupt);
    } finally {
      interrupt.dispose();
      await conn.close();
    }
  },
};

/** How following a session ended. */
const Ending = { FAILED: 'failed', STOPPED: 'stopped', DETACHED: 'detached', OUTPUT_CLOSED: 'output-closed' } as const;
type Ending = (typeof Ending)[keyof typeof Ending];

/**
 * Starts (or finds) the session, attaches, and prints its events until the
 * session ends, Ctrl-C detaches, or the output loses its reader. A failed
 * session is reported once, by throwing its error: nothing else of it is
 * printed after its `failed` state (its events could only repeat the error).
 */
async function follow(conn: ControlConnection, params: StartParams, json: boolean, ctx: CommandContext, interrupt: Interrupt): Promise<number> {
  const started = await conn.request<SessionResults[typeof SessionMethod.START]>(SessionMethod.START, { ...params });
  // The target the daemon decided (the flag, else skiff.yaml, else local) names the session from here on.
  const ref: SessionRef = { root: params.root, target: started.target as Target };
  const s = ctx.style;
  if (!json) {
    const where = started.target === Target.LOCAL ? '' : ` → ${started.target}`;
    ctx.stdout.write(`${s.bold('skiff dev')} ${params.root}${where} ${s.dim(`(session ${started.id}, Ctrl-C detaches)`)}\n`);
  }

  const progress = json ? undefined : createProgress(ctx.stderr, s);
  let printedUrls = false;
  let over = false;
  let settle!: (ending: Ending) => void;
  const sessionEnded = new Promise<Ending>((r) => (settle = r));
  const print = (event: string, data: unknown) => {
    if (json) return void ctx.stdout.write(`${JSON.stringify({ event, data })}\n`);
    if (event === SessionEvent.SYNC_PROGRESS) return progress?.update(data as EventPayloads[typeof SessionEvent.SYNC_PROGRESS]);
    if (event === SessionEvent.APP_LOG) return void ctx.stdout.write(s.dim('│ ') + (data as EventPayloads[typeof SessionEvent.APP_LOG]).text);
    progress?.done();
    const line = renderEvent(event, data, s);
    if (line) ctx.stdout.write(`${line}\n`);
    if (event === SessionEvent.APP_STATUS && (data as AppStatusHeader).state === 'running' && !printedUrls) {
      printedUrls = true;
      // The session knows its URLs once it has read skiff.yaml: ask now that the app runs.
      void conn
        .request<SessionResults[typeof SessionMethod.STATUS]>(SessionMethod.STATUS, { ...ref })
        .then((st) => st.urls.length > 0 && ctx.stdout.write(`${s.bold('App:')} ${st.urls.map((u) => s.cyan(u)).join('  ')}\n`))
        .catch(() => undefined);
    }
  };
  conn.on(ANY_EVENT, (data, event) => {
    if (over) return;
    const state = event === SessionEvent.STATE ? (data as EventPayloads[typeof SessionEvent.STATE]).state : undefined;
    if (state === SessionState.FAILED) {
      over = true;
      settle(Ending.FAILED);
      return;
    }
    print(event, data);
    if (state === SessionState.STOPPED) {
      over = true;
      settle(Ending.STOPPED);
    }
  });
  // The daemon went away (killed; a stopped daemon stops the session first): its reason is the error.
  const lost = new Promise<never>((_, reject) => conn.onClose((reason) => reason && reject(reason)));
  lost.catch(() => undefined); // raced below, or moot once the command is over

  const attached = await conn.request<SessionResults[typeof SessionMethod.ATTACH]>(SessionMethod.ATTACH, { ...ref, logs: true });
  const ending =
    attached.state === SessionState.FAILED
      ? Ending.FAILED
      : await Promise.race([sessionEnded, interrupt.received.then(() => Ending.DETACHED), ctx.outputClosed.then(() => Ending.OUTPUT_CLOSED), lost]);
  over = true;
  progress?.done();
  switch (ending) {
    case Ending.FAILED:
      throw await failureOf(conn, ref);
    case Ending.DETACHED:
      ctx.stderr.write(s.dim('\ndetached; the session keeps syncing (skiff stop ends it)\n'));
      return EXIT.OK;
    case Ending.STOPPED:
      return EXIT.OK;
    case Ending.OUTPUT_CLOSED:
      // Nobody reads this terminal's output any more: it detaches, the session goes on.
      return EXIT.OK;
  }
}

/** Why the session failed, as the daemon keeps it in the session's status. */
async function failureOf(conn: ControlConnection, ref: SessionRef): Promise<SkiffError> {
  const status = await conn.request<SessionResults[typeof SessionMethod.STATUS]>(SessionMethod.STATUS, { ...ref }).catch(() => null);
  if (status?.state === SessionState.FAILED && status.error) return errorFromWire(status.error);
  // Started again by another terminal in the meantime: its first failure is gone with it.
  return new SkiffError(ErrorCode.INTERNAL, `the session of ${ref.root} failed and was started again meanwhile; 'skiff status' shows it now`);
}
