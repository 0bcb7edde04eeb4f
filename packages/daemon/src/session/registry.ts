import { resolve } from 'node:path';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import type { ControlLog } from '../control/log.ts';
import { Session, sessionId, type SessionOptions } from './session.ts';
import { SessionState } from './session-state.ts';

/**
 * The daemon's sessions, one per project root and target. Starting a session
 * that exists returns it, so every terminal of a project shares one.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly log: ControlLog) {}

  /** The session of `root`/`target`, created when none runs. */
  open(opts: Omit<SessionOptions, 'log'>): Session {
    const id = sessionId(opts.root, opts.target);
    const existing = this.sessions.get(id);
    // A failed session stays listed (with its error) until someone starts it again.
    if (existing && existing.status().state !== SessionState.FAILED) return existing;
    const session = new Session({ ...opts, log: this.log });
    this.sessions.set(id, session);
    return session;
  }

  /** The session of `root` on `target`; without a target, the project's session whatever its target. */
  find(root: string, target?: string): Session | undefined {
    if (target !== undefined) return this.sessions.get(sessionId(resolve(root), target));
    const abs = resolve(root);
    return [...this.sessions.values()].find((s) => s.root === abs);
  }

  get(root: string, target?: string): Session {
    const session = this.find(root, target);
    if (!session) {
      throw new SkiffError(ErrorCode.USAGE, `no session runs for ${resolve(root)}${target ? ` (target ${target})` : ''}; start one with 'skiff dev'`);
    }
    return session;
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  async stop(root: string, target?: string): Promise<void> {
    const session = this.get(root, target);
    await session.ready.catch(() => undefined);
    this.sessions.delete(session.id);
    await session.stop();
  }

  async stopAll(): Promise<void> {
    const all = this.list();
    this.sessions.clear();
    await Promise.all(all.map((s) => s.stop().catch(() => undefined)));
  }
}
