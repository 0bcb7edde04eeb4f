import { Capability, EMPTY_DIGEST, EntryType, ErrorCode, MAX_CHUNK_BYTES, SkiffError, manifestDigest, xorDigest, type Entry, type Hasher, type HelloHeader, type Problem, type AppSpec } from '@skiff/protocol';
import { MIN_RENAME_BYTES } from '../core/diff.ts';
import { findMassDeletion } from '../core/mass-deletion.ts';
import { LineHashesAhead, TreeState } from '../core/tree-state.ts';
import { ChunkStore } from '../index/chunk-store.ts';
import { UNHASHED, type IndexEntry } from '../index/entry.ts';
import type { AgentClient } from '../transport/agent-client.ts';
import { OpKind, countOps, type BatchOp } from './batch-ops.ts';
import { opsForEmptyAgent, planOps, visible } from './plan.ts';
import { sendBatch, type BatchProgress, type SentBatch } from './send-batch.ts';

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
 *
 * `remote` keeps what the agent holds under ignored paths (what `assemble`
 * built: node_modules/, dist/), so that its digest stays the agent's; the
 * plan never touches them (see plan.ts), whatever the route: a session, a
 * one-shot push, a reconnect, a restart of either side. Their part of the
 * agent's digest (`ignoredDigest`) is computed when the agent's tree is
 * learnt or the rules change, and no batch changes it, so "in sync" (the
 * agent's digest minus that part equals the project's) stays O(1).
 */
export interface SyncOutcome {
  batch: number;
  uploaded: number;
  /** Files placed from content the agent already held (moves): no bytes sent. */
  copied: number;
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
  /**
   * A new app spec, sent inside the batch (right after its BATCH_BEGIN): the
   * agent holds it until the commit and folds the spec change and the
   * batch into one restart — skiff.yaml is itself one of the batch's files.
   */
  appSpec?: AppSpec;
}

export interface EngineOptions {
  /** Whether a path is ignored by the project's rules (itself or a directory above it). */
  isIgnored?: (path: string, isDir: boolean) => boolean;
  /** The digest of the `local` entries given, when known (carryDigest): they are not hashed for it. */
  localDigest?: string;
}

type Progress = ((p: BatchProgress) => void) | undefined;

export class SyncEngine {
  readonly local: TreeState<IndexEntry>;
  private remote: TreeState<Entry> | null = null;
  /** The agent's entries under ignored paths, as last learnt, and their share of its digest. */
  private ignoredPart: { entries: Entry[]; digest: string } = { entries: [], digest: EMPTY_DIGEST };
  private copies = false;
  /** The agent takes SPAN frames (deltas, holes). */
  private spans = false;
  /** Chunks of large contents sent, for deltas (index/chunk-store.ts). */
  readonly chunks: ChunkStore;
  private nextBatch = 1;

  constructor(
    private readonly root: string,
    private readonly hasher: Hasher,
    /** The project's entries; with `opts.localDigest`, a Map given is taken over (TreeState.seed). */
    local: Iterable<IndexEntry> | Map<string, IndexEntry> = [],
    private readonly opts: EngineOptions = {},
  ) {
    if (opts.localDigest === undefined) {
      this.local = new TreeState<IndexEntry>(hasher.h64, local instanceof Map ? local.values() : local);
    } else {
      this.local = new TreeState<IndexEntry>(hasher.h64);
      this.local.seed(local, opts.localDigest);
    }
    this.chunks = new ChunkStore(root);
  }

  /**
   * A (re)connection said hello. The picture of the agent's tree survives it
   * only when the agent reports the very digest that picture has (the same
   * agent, nothing changed meanwhile): then a reconnect costs nothing.
   */
  agentConnected(hello: HelloHeader): void {
    this.copies = hello.capabilities?.includes(Capability.COPY) ?? false;
    this.spans = hello.capabilities?.includes(Capability.SPANS) ?? false;
    if (this.remote !== null && hello.digest !== this.remote.digest) this.remote = null;
  }

  /** Forgets what the agent holds: the next sync verifies against it from scratch. */
  forgetRemote(): void {
    this.remote = null;
  }

  /** The project's ignore rules changed: what counts as the agent's ignored part may have too. */
  rulesChanged(): void {
    if (this.remote !== null) this.learnIgnored(this.remote.values());
  }

  /** Syncs the whole tree (verify by digest; inventory on mismatch). */
  async syncAll(client: AgentClient, onProgress?: Progress, opts: SendOptions = {}): Promise<SyncOutcome> {
    let inventoried = false;
    if (this.remote === null && client.hello.entries === 0) {
      // An empty agent: nothing to ask for, and no digest to compare (reading
      // the local one would hash every line of a tree about to be sent).
      this.remote = new TreeState<Entry>(this.hasher.h64);
      this.learnIgnored([]);
    } else if (this.remote === null && client.hello.digest === xorDigest(this.local.digest, this.ignoredPart.digest)) {
      // The agent holds the project plus what it held under ignored paths last time: no inventory needed.
      this.remote = this.local.clone() as unknown as TreeState<Entry>;
      for (const e of this.ignoredPart.entries) this.remote.set(e);
    } else if (this.remote === null) {
      this.remote = new TreeState<Entry>(this.hasher.h64, await client.inventory());
      this.learnIgnored(this.remote.values());
      inventoried = true;
    }
    // Equal digests need no diff: the commit alone tells the agent the tree is ready.
    const equal = this.remote.size === 0 ? this.local.size === 0 : this.visibleDigest(this.remote.digest) === this.local.digest;
    const ops = equal ? [] : this.plan(this.remote.entries, this.local.entries);
    return { ...(await this.send(client, ops, onProgress, opts)), inventoried };
  }

  /**
   * A first sync into an empty agent that starts while the scan still walks:
   * each part of entries the scan hands over (scanTree's onEntries) goes out
   * at once, so the agent writes while this side walks instead of idling
   * until the walk ends. Needs an agent that said it holds nothing and an
   * engine made without entries: the parts are the whole local tree, which
   * takes each entry once the batch is out, a file as it was read (set as
   * scanned and again as read, the sender's busiest part spent ~40 ms more),
   * or as scanned when the batch fails first. Nothing to delete, so no
   * mass-deletion guard.
   */
  async syncIntoEmptyAgent(client: AgentClient, parts: AsyncIterable<readonly IndexEntry[]>, onProgress?: Progress, opts: SendOptions = {}): Promise<SyncOutcome> {
    if (client.hello.entries !== 0 || this.remote !== null || this.local.size !== 0) {
      throw new Error('syncIntoEmptyAgent needs an empty agent and an engine without entries');
    }
    this.remote = new TreeState<Entry>(this.hasher.h64);
    this.learnIgnored([]);
    async function* more(): AsyncGenerator<BatchOp[]> {
      for await (const part of parts) yield opsForEmptyAgent(part);
    }
    const ops: BatchOp[] = [];
    try {
      const { outcome } = await this.sendOne(client, ops, onProgress, opts.appSpec, more(), true);
      return { ...outcome, inventoried: false };
    } catch (err) {
      // Out before the batch was: the project's tree is what was scanned so far, for the next sync to compare.
      if (this.local.size === 0) for (const op of ops) if (op.kind !== OpKind.DELETE) this.local.set(op.entry as IndexEntry);
      throw err;
    }
  }

  private learnIgnored(entries: Iterable<Entry>): void {
    const isIgnored = this.opts.isIgnored;
    const found = isIgnored ? [...entries].filter((e) => isIgnored(e.path, e.type === EntryType.DIR)) : [];
    this.ignoredPart = { entries: found, digest: manifestDigest(found, this.hasher.h64) };
  }

  /** An agent digest without the agent's ignored part: what the project's digest must equal. */
  private visibleDigest(agentDigest: string): string {
    return xorDigest(agentDigest, this.ignoredPart.digest);
  }

  /**
   * The operations that sync `paths`, or null when the agent's tree is not
   * known (a full sync is due). An empty list means nothing to send: a file
   * touched without a change of content must not cost the app a restart.
   */
  planPaths(paths: Iterable<string>): BatchOp[] | null {
    if (this.remote === null) return null;
    const affected = this.affected(paths, this.remote);
    return this.plan(subset(this.remote, affected), subset(this.local, affected));
  }

  /** Sends operations planned by planPaths. */
  async sendOps(client: AgentClient, ops: BatchOp[], onProgress?: Progress, opts: SendOptions = {}): Promise<SyncOutcome> {
    if (this.remote === null) return this.syncAll(client, onProgress, opts);
    return { ...(await this.send(client, ops, onProgress, opts)), inventoried: false };
  }

  private plan(remote: ReadonlyMap<string, Entry>, local: ReadonlyMap<string, Entry>): BatchOp[] {
    return planOps(remote, local, { copies: this.copies, ignored: this.opts.isIgnored });
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

  private async send(client: AgentClient, ops: BatchOp[], onProgress: Progress, opts: SendOptions): Promise<Omit<SyncOutcome, 'inventoried'>> {
    if (!opts.force) this.guardMassDeletion(ops, this.remote!);
    const first = await this.sendOne(client, ops, onProgress, opts.appSpec);
    // A copy whose source, or a delta whose base, the agent no longer holds as
    // announced: its bytes go now, whole, in a batch of their own.
    const retry = first.copyFailed.flatMap((path): BatchOp[] => {
      const entry = this.local.get(path);
      return entry?.type === EntryType.FILE ? [{ kind: OpKind.FILE, entry }] : [];
    });
    if (retry.length === 0 || this.remote === null) return first.outcome;
    const second = await this.sendOne(client, retry, onProgress);
    const a = first.outcome;
    const b = second.outcome;
    const unconfirmed = new Set([...[...a.unconfirmed].filter((p) => !first.copyFailed.includes(p)), ...b.unconfirmed]);
    return {
      batch: b.batch,
      uploaded: a.uploaded + b.uploaded,
      copied: a.copied,
      deleted: a.deleted,
      bytes: a.bytes + b.bytes,
      problems: [...a.problems.filter((p) => !RESENT_WHOLE.has(p.code)), ...b.problems],
      inSync: b.inSync && unconfirmed.size === 0,
      unconfirmed,
    };
  }

  /** Sends one batch; with `more`, its further parts are appended to `ops` as they go out (send-batch.ts). */
  private async sendOne(
    client: AgentClient,
    ops: BatchOp[],
    onProgress: Progress,
    appSpec?: AppSpec,
    more?: AsyncIterable<readonly BatchOp[]>,
    fillLocal = false,
  ): Promise<{ outcome: Omit<SyncOutcome, 'inventoried'>; copyFailed: string[] }> {
    let remote = this.remote!;
    const batch = this.nextBatch++;
    // What the batch sent is learnt, and the project's digest brought up to date, while the agent applies it.
    const lines = new LineHashesAhead(this.hasher.h64);
    const whileApplying = (sentSoFar: Omit<SentBatch, 'applied'>) => {
      // A first sync that sent the project whole leaves the agent with the project's tree (see fillLocal).
      remote = fillLocal && this.fillLocal(ops, sentSoFar, lines) ? this.local.clone() : this.learn(remote, ops, sentSoFar);
      this.remote = remote;
      void this.local.digest;
      void remote.digest;
    };
    const sent = await sendBatch({
      client,
      batch,
      root: this.root,
      ops,
      hasher: this.hasher,
      onProgress,
      spans: this.spans ? this.chunks : undefined,
      appSpec,
      more,
      whileApplying,
      meanwhile: lines,
      keepLineHashes: !fillLocal,
    });
    const counts = countOps(ops);
    const problems = [...sent.problems, ...sent.applied.problems];
    const unconfirmed = new Set<string>([...sent.stale, ...problems.map((p) => p.path)]);
    for (const path of unconfirmed) remote.delete(path);
    // A delta refused for its base left the agent's file as it was: its manifest still says the base.
    for (const p of sent.applied.problems) {
      if (p.code !== ErrorCode.DELTA_BASE) continue;
      const op = ops.find((o) => o.kind === OpKind.FILE && o.entry.path === p.path);
      if (op?.kind === OpKind.FILE && op.base) remote.set(op.base);
    }
    const inSync = this.visibleDigest(sent.applied.digest) === this.local.digest;
    if (sent.applied.digest !== remote.digest) this.remote = null;
    const copyFailed = sent.applied.problems.filter((p) => RESENT_WHOLE.has(p.code)).map((p) => p.path);
    const copiesFailed = sent.applied.problems.filter((p) => p.code === ErrorCode.COPY_SOURCE).length;
    return {
      outcome: { batch, uploaded: sent.files, copied: sent.copied - copiesFailed, deleted: counts.deletes, bytes: sent.bytes, problems, inSync: inSync && unconfirmed.size === 0, unconfirmed },
      copyFailed,
    };
  }

  /**
   * Brings `remote` up to date with what a batch sent (what the agent
   * refused is taken out after its APPLIED); returns the tree that now
   * pictures the agent. A batch that sent the whole project into an agent
   * that held nothing (one restarted empty: a first sync goes through
   * fillLocal), every entry as the project has it, leaves the agent with
   * what the project's tree holds once it has learnt what was read: the
   * picture is then that tree, shared until either changes (TreeState.clone),
   * not 54,000 entries set one by one (~40 vs ~75 ms of the sender's time).
   */
  private learn(remote: TreeState<Entry>, ops: readonly BatchOp[], sent: Omit<SentBatch, 'applied'>): TreeState<Entry> {
    const whole = remote.size === 0 && ops.length === this.local.size && sent.problems.length === 0 && sent.stale.size === 0 && this.sentAsIs(ops, sent);
    if (whole) {
      for (const op of ops) if (op.kind === OpKind.FILE) this.local.set(sent.sent.get(op.entry.path)! as IndexEntry);
      void this.local.digest; // once, for both trees
      return this.local.clone();
    }
    for (const op of ops) {
      if (op.kind === OpKind.DELETE) remote.deleteTree(op.path);
      else if (op.kind === OpKind.FILE) {
        const actual = sent.sent.get(op.entry.path);
        if (actual) {
          remote.set(actual);
          // What was read may be newer than what was scanned: the local tree learns it too.
          const mine = this.local.get(actual.path);
          if (mine === op.entry && (mine.hash !== actual.hash || mine.size !== actual.size)) {
            // `actual` is `mine` with what was read: one object in both trees, whose line is hashed once.
            this.local.set(actual as IndexEntry);
          } else if (mine && mine.hash !== actual.hash) {
            this.local.set({ ...mine, size: actual.size, hash: actual.hash });
          }
        }
      } else remote.set(op.entry);
    }
    return remote;
  }

  /**
   * Gives the (empty) local tree each entry of `ops`: a file as it was read
   * when it was, else as scanned. Returns whether the batch sent them all,
   * as the tree now has them (the agent then holds that tree). When each
   * was sent once and nothing else, the tree is seeded with the digest the
   * sender made of what it sent (`lines`), not set entry by entry and
   * hashed again (54,000 entries: ~20 vs ~110 ms, after the last byte).
   */
  private fillLocal(ops: readonly BatchOp[], sent: Omit<SentBatch, 'applied'>, lines: LineHashesAhead): boolean {
    const ofSent = lines.digestOfSent();
    let entries = 0;
    for (const op of ops) if (op.kind !== OpKind.DELETE) entries++;
    // Every operation's entry recorded once as it went out (a file with what was read), and hashed once into
    // the digest of what was sent: the map of what was sent is the project's tree, not one to build again.
    if (sent.problems.length === 0 && sent.stale.size === 0 && sent.sent.size === entries && ofSent.count === entries) {
      this.local.seed(sent.sent as Map<string, IndexEntry>, ofSent.digest);
      return true;
    }
    const tree = new Map<string, IndexEntry>();
    let whole = sent.problems.length === 0 && sent.stale.size === 0;
    for (const op of ops) {
      if (op.kind === OpKind.DELETE) continue;
      const actual = op.kind === OpKind.FILE ? sent.sent.get(op.entry.path) : undefined;
      if (op.kind === OpKind.FILE && actual === undefined) whole = false;
      tree.set(op.entry.path, (actual ?? op.entry) as IndexEntry);
    }
    // Each entry of the tree sent once, and nothing else: what was sent is the tree, and its digest the tree's.
    if (whole && ofSent.count === tree.size) this.local.seed(tree, ofSent.digest);
    else for (const entry of tree.values()) this.local.set(entry);
    return whole;
  }

  /** Whether every operation of `ops` is the local tree's entry of its path, and every file went out. */
  private sentAsIs(ops: readonly BatchOp[], sent: Omit<SentBatch, 'applied'>): boolean {
    for (const op of ops) {
      if (op.kind === OpKind.DELETE || this.local.get(op.entry.path) !== op.entry) return false;
      if (op.kind === OpKind.FILE && !sent.sent.has(op.entry.path)) return false;
    }
    return true;
  }

  /** Refuses a plan that would delete (nearly) all the agent holds; see core/mass-deletion.ts. */
  private guardMassDeletion(ops: readonly BatchOp[], remote: TreeState<Entry>): void {
    const roots: string[] = [];
    const kept = new Set<string>();
    for (const op of ops) {
      if (op.kind === OpKind.DELETE) roots.push(op.path);
      else if ((op.kind === OpKind.FILE || op.kind === OpKind.COPY) && op.entry.size >= MIN_RENAME_BYTES && op.entry.hash !== UNHASHED) kept.add(op.entry.hash);
    }
    if (roots.length === 0 && this.local.files > 0) return;
    const agentTree = this.opts.isIgnored ? visible(remote.entries, this.opts.isIgnored) : remote.entries;
    const found = findMassDeletion(agentTree, roots, this.local.files, kept);
    if (!found) return;
    throw new SkiffError(
      ErrorCode.MASS_DELETION,
      `this sync would delete ${found.deleted.toLocaleString('en-US')} of the ${found.total.toLocaleString('en-US')} files the agent holds: ` +
        `the project at ${this.root} looks emptied or replaced (an unmounted volume, a wrong checkout?). Nothing was changed. ` +
        `If this is what you want, run 'skiff push --force' (or 'skiff dev --force').`,
    );
  }

  /** Drops the chunk lists of contents no file of `index` has: the agent no longer holds them. */
  pruneChunks(index: ReadonlyMap<string, Entry>): void {
    this.chunks.prune(() => {
      const keep = new Set<string>();
      // Lists are kept for files sent by spans only, larger than a chunk (send-batch.ts): not a set of every hash.
      for (const e of index.values()) if (e.type === EntryType.FILE && e.size > MAX_CHUNK_BYTES) keep.add(e.hash);
      return keep;
    });
  }

  /**
   * The local tree minus unconfirmed paths: what may be saved as the index,
   * with its digest (the local one without the lines of what is left out).
   * When nothing is left out (a sync that went through) it is the local
   * tree's own map, not a copy of 50,000 entries: read it before the tree
   * changes again.
   */
  confirmedIndex(unconfirmed: ReadonlySet<string>): { entries: ReadonlyMap<string, IndexEntry>; digest: string } {
    const leftOut = (path: string, entry: IndexEntry) => unconfirmed.has(path) || (entry.type === EntryType.FILE && entry.hash === UNHASHED);
    const all = this.local.entries;
    let any = false;
    for (const [path, entry] of all) {
      if (!leftOut(path, entry)) continue;
      any = true;
      break;
    }
    if (!any) return { entries: all, digest: this.local.digest };
    const out = new Map<string, IndexEntry>();
    const left: IndexEntry[] = [];
    for (const [path, entry] of all) {
      if (leftOut(path, entry)) left.push(entry);
      else out.set(path, entry);
    }
    return { entries: out, digest: xorDigest(this.local.digest, manifestDigest(left, this.hasher.h64)) };
  }
}

/** Problems after which the daemon sends the file's bytes, whole, in a batch of their own. */
const RESENT_WHOLE: ReadonlySet<string> = new Set([ErrorCode.COPY_SOURCE, ErrorCode.DELTA_BASE]);

function subset<E extends Entry>(tree: TreeState<E>, paths: ReadonlySet<string>): Map<string, E> {
  const out = new Map<string, E>();
  for (const path of paths) {
    const e = tree.get(path);
    if (e) out.set(path, e);
  }
  return out;
}
