import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DevEvent, DevTerminal } from './dev-session.ts';
import { jsonOf, runSkiff } from './run-cli.ts';
import { listTree } from './tree-compare.ts';

/** Time a session may take from `skiff dev` to its first finished sync. */
export const SYNC_WAIT_MS = 60_000;

/** The pid of the running daemon, or null when none runs. */
export async function daemonPid(env: NodeJS.ProcessEnv): Promise<number | null> {
  const status = jsonOf<{ running: boolean; pid?: number }>(await runSkiff(['daemon', 'status', '--json'], { env }));
  return status.running && typeof status.pid === 'number' ? status.pid : null;
}

export interface SessionStatus {
  state: string;
  inSync: boolean;
  problemCount: number;
  agent: { state: string; pid?: number; url?: string };
}

export async function sessionStatus(project: string, env: NodeJS.ProcessEnv): Promise<SessionStatus> {
  const r = await runSkiff(['status', project, '--json'], { env });
  const status = jsonOf<{ session: SessionStatus | null }>(r);
  if (!status.session) throw new Error(`no session for ${project}: ${r.stdout}`);
  return status.session;
}

/** The first sync of a session (from event index `from`), which must have brought the agent in sync. */
export async function initialSync(t: DevTerminal, from = 0): Promise<DevEvent> {
  return t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'initial', SYNC_WAIT_MS, from);
}

/**
 * Bytes of the files of `source` that the agent's root lacks (missing, or
 * with other content): what a resumed sync has to send, and all it should.
 */
export async function bytesLacking(source: string, agentRoot: string, skip: (rel: string) => boolean): Promise<number> {
  const [mine, theirs] = await Promise.all([listTree(source, skip), listTree(agentRoot, skip)]);
  let bytes = 0;
  for (const [rel, desc] of mine) {
    if (!desc.startsWith('file')) continue;
    const size = Number(desc.split(' ')[2]);
    if (theirs.get(rel) !== desc || !readFileSync(join(source, rel)).equals(readFileSync(join(agentRoot, rel)))) bytes += size;
  }
  return bytes;
}

/**
 * Waits, sync by sync (from event index `from`), until `check` finds nothing
 * wrong: a session may need more than one sync to take in edits it saw late.
 * Rejects with the last findings at the deadline.
 */
export async function convergedAfter(t: DevTerminal, from: number, check: () => Promise<string[]>, timeoutMs = SYNC_WAIT_MS): Promise<DevEvent[]> {
  const deadline = Date.now() + timeoutMs;
  // A later sync may be changing the tree while it is compared: a path gone mid-walk means "not yet".
  const findings = () => check().catch((err: Error) => [`comparison failed: ${err.message}`]);
  const seen: DevEvent[] = [];
  let at = from;
  for (;;) {
    const left = deadline - Date.now();
    let finished: DevEvent;
    try {
      finished = await t.waitFor((e) => e.event === 'sync.finished', Math.max(1, left), at);
    } catch (err) {
      throw new Error(`no convergence within ${timeoutMs} ms; still: ${(await findings()).slice(0, 10).join('; ')}\n${(err as Error).message}`);
    }
    seen.push(finished);
    at = t.events.indexOf(finished) + 1;
    if ((await findings()).length === 0) return seen;
  }
}
