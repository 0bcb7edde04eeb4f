import { resolve } from 'node:path';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { loadProjectConfig } from '../config/project.ts';
import { Target, resolveTarget } from '../config/target.ts';
import type { ControlLog } from '../control/log.ts';
import { noSessionError } from '../control/session-api.ts';
import { defaultLocalRoot } from '../targets/local.ts';
import { rootsOverlap, sameRoot } from '../targets/root-overlap.ts';
import { Session, sessionId, type SessionOptions } from './session.ts';
import { isLive } from './session-state.ts';

/**
 * The daemon's sessions, one per project root and target. Starting a session
 * that runs returns it, so every terminal of a project shares one.
 *
 * The registry is the one place that sees every session, so it decides what
 * a start means and what it may not do:
 * - the target: the caller's, else the project's skiff.yaml, else local;
 * - one agent root per session and one session per agent root: a start
 *   asking another root for a running session is SKIFF_E_SESSION_CONFLICT,
 *   and a root that overlaps the root of another live session is
 *   SKIFF_E_ROOT_IN_USE (two agents mirroring two trees into one directory
 *   would delete each other's files);
 * - a failed session stays listed with its error, counts as nothing running
 *   (see isLive), and the next start replaces it once it has stopped.
 *
 * Starts run one after another, so two terminals starting one project at
 * the same moment get one session.
 */
export type OpenOptions = Omit<SessionOptions, 'log' | 'target'> & { target?: Target };

interface Entry {
  session: Session;
  /** The local target's agent root, resolved; none for the other targets. */
  agentRoot?: string;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, Entry>();
  private opening: Promise<unknown> = Promise.resolve();

  constructor(private readonly log: ControlLog) {}

  /** The session of `root` (and its target), created when none runs. */
  open(opts: OpenOptions): Promise<Session> {
    const opened = this.opening.then(() => this.openNow(opts));
    this.opening = opened.catch(() => undefined);
    return opened;
  }

  private async openNow(opts: OpenOptions): Promise<Session> {
    const root = resolve(opts.root);
    const target = opts.target ?? resolveTarget(undefined, (await loadProjectConfig(root)).target);
    const id = sessionId(root, target);
    const wanted = opts.localRoot === undefined ? undefined : resolve(opts.localRoot);
    const existing = this.sessions.get(id);
    if (existing && isLive(existing.session.status().state)) {
      if (wanted !== undefined && existing.agentRoot !== undefined && !sameRoot(wanted, existing.agentRoot)) {
        throw new SkiffError(
          ErrorCode.SESSION_CONFLICT,
          `the session of ${root} already runs with the agent root ${existing.agentRoot}, not ${wanted}; ` +
            `'skiff stop ${root}' ends it, then 'skiff dev --local-root ${wanted}' starts it there`,
        );
      }
      return existing.session;
    }
    // A failed session settles its `ready` once it has stopped: its agent is gone before a new one starts.
    if (existing) await existing.session.ready.catch(() => undefined);
    const agentRoot = target === Target.LOCAL ? (wanted ?? defaultLocalRoot(root)) : undefined;
    if (agentRoot !== undefined) this.assertRootFree(agentRoot, root);
    const session = new Session({ ...opts, root, target, localRoot: agentRoot, log: this.log });
    this.sessions.set(id, { session, agentRoot });
    return session;
  }

  private assertRootFree(agentRoot: string, project: string): void {
    for (const other of this.sessions.values()) {
      if (other.agentRoot === undefined || other.session.root === project || !isLive(other.session.status().state)) continue;
      if (rootsOverlap(agentRoot, other.agentRoot)) {
        throw new SkiffError(
          ErrorCode.ROOT_IN_USE,
          `the agent root ${agentRoot} ${sameRoot(agentRoot, other.agentRoot) ? 'is' : 'overlaps'} the agent root of the session of ${other.session.root} (${other.agentRoot}); ` +
            `choose another --local-root, or end that session with 'skiff stop ${other.session.root}'`,
        );
      }
    }
  }

  /**
   * The session of `root` for `target`; without a target, the project's
   * session whatever its target, a live one before a failed one.
   */
  find(root: string, target?: Target): Session | undefined {
    const abs = resolve(root);
    if (target !== undefined) return this.sessions.get(sessionId(abs, target))?.session;
    const mine = this.list().filter((s) => s.root === abs);
    return mine.find((s) => isLive(s.status().state)) ?? mine[0];
  }

  /** Like find, or SKIFF_E_NO_SESSION. */
  get(root: string, target?: Target): Session {
    const session = this.find(root, target);
    if (!session) throw noSessionError(resolve(root), target === undefined ? undefined : `target ${target}`);
    return session;
  }

  list(): Session[] {
    return [...this.sessions.values()].map((e) => e.session);
  }

  async stop(root: string, target?: Target): Promise<void> {
    const session = this.get(root, target);
    await session.ready.catch(() => undefined);
    if (this.sessions.get(session.id)?.session === session) this.sessions.delete(session.id);
    await session.stop();
  }

  /**
   * Stops the project's session when one runs (any target unless given);
   * returns its target and agent root, so the caller removes the right things.
   */
  async stopIfAny(root: string, target?: Target): Promise<{ target: Target; agentRoot?: string } | null> {
    const session = this.find(root, target);
    if (!session) return null;
    const entry = this.sessions.get(session.id);
    await this.stop(root, session.target);
    return { target: session.target, agentRoot: entry?.agentRoot };
  }

  async stopAll(): Promise<void> {
    const all = this.list();
    this.sessions.clear();
    await Promise.all(all.map((s) => s.stop().catch(() => undefined)));
  }
}
