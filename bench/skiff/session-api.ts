import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../paths.ts';

/**
 * What the long-running scenarios (save-to-root, storm, save-to-http) need
 * from the daemon: one session on the local target, driven in this process,
 * whose events are the ones session/events.ts names.
 *
 *   const session = await startSession({ dir, root, app? });
 *   await session.ready;            // initial sync confirmed and the watcher ready
 *   const off = session.subscribe((event, data) => { ... });
 *       // 'sync.finished' (SyncFinished) once per committed batch,
 *       // 'app.status' (AppStatusHeader, with its restarts counter)
 *   await session.stop();           // watcher, agent and app stopped
 *
 * It is built on the daemon's Session class (session/session.ts):
 * `new Session({ root, target: 'local', localRoot, log })` with `ready`, `fanout.subscribe`
 * and `stop()`, taken from @skiff/daemon's exports when it is there, else
 * from its source file. The session reads the app from the project's
 * skiff.yaml, so `app` is written there. Until neither exists the scenarios
 * report the skiff figure as not available yet and still measure their
 * reference.
 */

export interface SessionApp {
  /** The run command, e.g. "node server.js". */
  run: string;
  env?: Record<string, string>;
}

export interface SessionOptions {
  /** The project directory (watched and indexed). */
  dir: string;
  /** The local target's agent root. */
  root: string;
  /** What the agent's supervisor runs; none for a sync-only session. */
  app?: SessionApp;
}

export interface BenchSession {
  ready: Promise<void>;
  subscribe(listener: (event: string, data: unknown) => void): () => void;
  /** `skiff push` while the session runs (the session's syncNow). */
  push(): Promise<unknown>;
  stop(): Promise<void>;
}

export type StartSession = (opts: SessionOptions) => Promise<BenchSession>;

export const SessionEventName = {
  SYNC_STARTED: 'sync.started',
  SYNC_FINISHED: 'sync.finished',
  APP_STATUS: 'app.status',
} as const;

/** The shape of the daemon's Session class this adapter relies on. */
interface DaemonSession {
  ready: Promise<void>;
  fanout: { subscribe(listener: (event: string, data: unknown) => void): () => void };
  syncNow(): Promise<unknown>;
  stop(): Promise<void>;
}
type SessionClass = new (opts: { root: string; target: 'local'; localRoot: string; log: (level: string, message: string) => void }) => DaemonSession;

const SESSION_SOURCE = join(REPO_ROOT, 'packages/daemon/src/session/session.ts');
const PROJECT_FILE = 'skiff.yaml';

/** skiff.yaml for the bench's app; JSON strings are valid YAML scalars, so any command quotes safely. */
function projectYaml(app: SessionApp): string {
  const lines = ['name: bench', `run: ${JSON.stringify(app.run)}`];
  const env = Object.entries(app.env ?? {});
  if (env.length) lines.push('env:', ...env.map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`));
  return `${lines.join('\n')}\n`;
}

function fromClass(Session: SessionClass, warnings: string[]): StartSession {
  return async (opts) => {
    // The app goes in through skiff.yaml; whatever was there before is put back at stop.
    const projectFile = join(opts.dir, PROJECT_FILE);
    const before = opts.app ? await readFile(projectFile, 'utf8').catch(() => null) : undefined;
    if (opts.app) await writeFile(projectFile, projectYaml(opts.app));
    const restore = async () => {
      if (before === undefined) return;
      if (before === null) await rm(projectFile, { force: true });
      else await writeFile(projectFile, before);
    };
    const session = new Session({
      root: opts.dir,
      // The bench's sessions run on the local target: the agent is a child process beside the bench.
      target: 'local',
      localRoot: opts.root,
      log: (level, message) => {
        if (level === 'warn' || level === 'error') warnings.push(message);
      },
    });
    return {
      ready: session.ready,
      subscribe: (l) => session.fanout.subscribe(l),
      push: () => session.syncNow(),
      stop: async () => {
        try {
          await session.stop();
        } finally {
          await restore();
        }
      },
    };
  };
}

/** Warnings and errors the daemon logged during this run's sessions, for the report. */
export const sessionWarnings: string[] = [];

export async function loadSessionApi(): Promise<StartSession> {
  let mod: Record<string, unknown> = {};
  let loadError = '';
  try {
    mod = (await import('@skiff/daemon')) as Record<string, unknown>;
  } catch (err) {
    loadError = (err as Error).message.split('\n')[0];
  }
  if (typeof mod.startSession === 'function') return mod.startSession as StartSession;
  if (typeof mod.Session === 'function') return fromClass(mod.Session as SessionClass, sessionWarnings);
  if (existsSync(SESSION_SOURCE)) {
    try {
      const internal = (await import(pathToFileURL(SESSION_SOURCE).href)) as Record<string, unknown>;
      if (typeof internal.Session === 'function') return fromClass(internal.Session as SessionClass, sessionWarnings);
    } catch (err) {
      throw new Error(`not available yet: ${SESSION_SOURCE} does not load (${(err as Error).message.split('\n')[0]})`, { cause: err });
    }
  }
  throw new Error(
    loadError
      ? `not available yet: @skiff/daemon does not load (${loadError})`
      : 'not available yet: @skiff/daemon exports neither startSession({ dir, root, app? }) nor a Session class',
  );
}
