import { EntryType, ErrorCode, SkiffError, type Entry, type Hasher, type Problem } from '@skiff/protocol';
import { findMassDeletion } from '../core/mass-deletion.ts';
import { TreeState } from '../core/tree-state.ts';
import { UNHASHED, type IndexEntry } from '../index/index.ts';
import { OpKind, countOps, type BatchOp } from './batch-ops.ts';
import { planOps } from './plan.ts';
import { sendBatch, type BatchProgress } from './send-batch.ts';
import type { AgentClient } from '../transport/agent-client.ts';

/**
 * What the daemon knows of both trees: `local` (the project, kept current by
 * the watcher) and `remote` (what the agent holds, as last confirmed). Both
 * carry running digests, so a save costs O(paths touched):
 *
 *  - a full sync (first connection, reconnect, explicit push) compares the
 *    agent's digest with the local one and fetches the inventory only when
 *    they differ;
 *  - an incremental sync plans only the paths the watcher reported (and the
 *    subtrees of directories that appeared or went away).
 *
 * After each APPLIED, `remote` gets the batch's operations. If the agent's
 * digest then differs from `remote`'s, the daemon's picture is wrong (files
 * changed behind its back, a path failed): `remote` is dropped and the next
 * sync is a full one.
 */
export interface SyncOutcome {
  batch: number;
  uploaded: number;
  deleted: number;
  bytes: number;
  problems: Problem[];
  inSync: boolean;
  /** Paths not known to be on the agent as they are here: left out of the saved index. */
  unconfirmed: Set<string>;
  inventoried: boolean;
}

export interface SendOptions {
  /** Send even when the plan deletes (nearly) all the agent holds. */
  force?: boolean;
}

export class SyncEngine {
  readonly local: TreeState<IndexEntry>;
  private remote: TreeState<Entry> | null = null;
  private nextBatch = 1;

  constructor(
    private readonly root: string,
    private readonly hasher: Hasher,
    local: Iterable<IndexEntry> = [],
  ) {
    this.local = new TreeState<IndexEntry>(hasher.h64, local);
  }

  /** Forgets what the agent holds: the next sync verifies against it from scratch. */
  forgetRemote(): void {
    this.remote = null;
  }

  get remoteKnown(): boolean {
    return this.remote !== null;
  }

  /** Syncs the whole tree (verify by digest; inventory on mismatch). */
  async syncAll(client: AgentClient, onProgress?: (p: BatchProgress) => void, opts: SendOptions = {}): Promise<SyncOutcome> {
    let inventoried = false;
    if (client.hello.digest === this.local.digest && this.remote === null) {
      this.remote = cloneAsRemote(this.local);
    } else if (this.remote === null) {
      this.remote = new TreeState<Entry>(this.hasher.h64, await client.inventory());
      inventoried = true;
    }
    // Equal digests need no diff: the commit alone tells the agent the tree is ready.
    const ops = this.remote.digest === this.local.digest ? [] : planOps(this.remote.entries, this.local.entries);
    return { ...(await this.send(client, ops, onProgress, opts)), inventoried };
  }

  /**
   * The operations that sync `paths`, or null when the agent's tree is not
   * known (a full sync is due). An empty list means nothing to send: a file
   * touched without a change of content must not cost the app a restart.
   */
  planPaths(paths: Iterable<string>): BatchOp[] | null {
    if (this.remote === null) return null;
    const affected = this.affected(paths, this.remote);
    return planOps(subset(this.remote, affected), subset(this.local, affected));
  }

  /** Sends operations planned by planPaths. */
  async sendOps(client: AgentClient, ops: BatchOp[], onProgress?: (p: BatchProgress) => void, opts: SendOptions = {}): Promise<SyncOutcome> {
    if (this.remote === null) return this.syncAll(client, onProgress, opts);
    return { ...(await this.send(client, ops, onProgress, opts)), inventoried: false };
  }

  /** The touched paths plus the subtrees of directories that appeared, went away or changed type. */
  private affected(paths: Iterable<string>, remote: TreeState<Entry>): Set<string> {
    const out = new Set<string>();
    for (const path of paths) {
      out.add(path);
      const here = this.local.get(path);
      const there = remote.get(path);
      const dirHere = here?.type === EntryType.DIR;
      const dirThere = there?.type === EntryType.DIR;
      if (dirThere && !dirHere) for (const p of remote.pathsUnder(path)) out.add(p);
      if (dirHere && !dirThere) for (const p of this.local.pathsUnder(path)) out.add(p);
    }
    return out;
  }

  private async send(client: AgentClient, ops: BatchOp[], onProgress: ((p: BatchProgress) => void) | undefined, opts: SendOptions): Promise<Omit<SyncOutcome, 'inventoried'>> {
    const remote = this.remote!;
    if (!opts.force) this.guardMassDeletion(ops, remote);
    const batch = this.nextBatch++;
    const counts = countOps(ops);
    const sent = await sendBatch({ client, batch, root: this.root, ops, hasher: this.hasher, onProgress });
    for (const op of ops) {
      if (op.kind === OpKind.DELETE) remote.deleteTree(op.path);
      else if (op.kind === OpKind.FILE) {
        const actual = sent.sent.get(op.entry.path);
        if (actual) {
          remote.set(actual);
          // What was read may be newer than what was scanned: the local tree learns it too.
          const mine = this.local.get(actual.path);
          if (mine && mine.hash !== actual.hash) this.local.set({ ...mine, size: actual.size, hash: actual.hash });
        }
      } else remote.set(op.entry);
    }
    const problems = [...sent.problems, ...sent.applied.problems];
    const unconfirmed = new Set<string>([...sent.stale, ...problems.map((p) => p.path)]);
    for (const path of unconfirmed) remote.delete(path);
    const inSync = sent.applied.digest === this.local.digest;
    if (sent.applied.digest !== remote.digest) this.remote = null;
    return { batch, uploaded: sent.files, deleted: counts.deletes, bytes: sent.bytes, problems, inSync: inSync && unconfirmed.size === 0, unconfirmed };
  }

  /** Refuses a plan that would delete (nearly) all the agent holds; see core/mass-deletion.ts. */
  private guardMassDeletion(ops: readonly BatchOp[], remote: TreeState<Entry>): void {
    const roots = ops.flatMap((op) => (op.kind === OpKind.DELETE ? [op.path] : []));
    if (roots.length === 0 && this.local.files > 0) return;
    const found = findMassDeletion(remote.entries, roots, this.local.files);
    if (!found) return;
    throw new SkiffError(
      ErrorCode.MASS_DELETION,
      `this sync would delete ${found.deleted.toLocaleString('en-US')} of the ${found.total.toLocaleString('en-US')} files the agent holds: ` +
        `the project at ${this.root} looks emptied or replaced (an unmounted volume, a wrong checkout?). Nothing was changed. ` +
        `If this is what you want, run 'skiff push --force' (or 'skiff dev --force').`,
    );
  }

  /** The local tree minus unconfirmed paths: what may be saved as the index. */
  confirmedIndex(unconfirmed: ReadonlySet<string>): Map<string, IndexEntry> {
    const out = new Map<string, IndexEntry>();
    for (const [path, entry] of this.local.entries) {
      if (unconfirmed.has(path) || (entry.type === EntryType.FILE && entry.hash === UNHASHED)) continue;
      out.set(path, entry);
    }
    return out;
  }
}

function subset<E extends Entry>(tree: TreeState<E>, paths: ReadonlySet<string>): Map<string, E> {
  const out = new Map<string, E>();
  for (const path of paths) {
    const e = tree.get(path);
    if (e) out.set(path, e);
  }
  return out;
}

function cloneAsRemote(local: TreeState<IndexEntry>): TreeState<Entry> {
  return local.clone() as unknown as TreeState<Entry>;
}
