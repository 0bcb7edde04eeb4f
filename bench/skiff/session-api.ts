/**
 * What the long-running scenarios (save-to-root, storm, save-to-http) need
 * from the daemon: one session on the local target, driven in this process,
 * whose events are the ones session/events.ts names.
 *
 *   import { startSession } from '@skiff/daemon';
 *   const session = await startSession({ dir, root, app? });
 *   await session.ready;            // initial sync confirmed and the watcher ready
 *   const off = session.subscribe((event, data) => { ... });
 *       // 'sync.finished' (SyncFinished) once per committed batch,
 *       // 'app.status' (AppStatusHeader, with its restarts counter)
 *   await session.stop();           // watcher, agent and app stopped
 *
 * Until @skiff/daemon exports startSession these scenarios report the skiff
 * figure as not available yet and still measure their reference.
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
  stop(): Promise<void>;
}

export type StartSession = (opts: SessionOptions) => Promise<BenchSession>;

export const SessionEventName = {
  SYNC_FINISHED: 'sync.finished',
  APP_STATUS: 'app.status',
} as const;

export async function loadSessionApi(): Promise<StartSession> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import('@skiff/daemon')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`not available yet: @skiff/daemon does not load (${(err as Error).message.split('\n')[0]})`, { cause: err });
  }
  if (typeof mod.startSession !== 'function') {
    throw new Error('not available yet: @skiff/daemon has no startSession({ dir, root, app? }) → { ready, subscribe, stop }');
  }
  return mod.startSession as StartSession;
}
