import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { asSkiffError, EntryType, ErrorCode, loadHasher, SkiffError, type Hasher } from '@skiff/protocol';
import { loadProjectConfig, toAppConfig, type ProjectConfig } from '../config/project.ts';
import type { ControlLog } from '../control/log.ts';
import { loadIgnoreMatcher, type IgnoreMatcher } from '../ignore/index.ts';
import { hashDeferred, loadIndex, saveIndex, scanTree } from '../index/index.ts';
import { defaultLocalRoot, startLocalAgent, type LocalAgent } from '../targets/local.ts';
import { assertRootsApart } from '../targets/root-overlap.ts';
import { AgentClient } from '../transport/agent-client.ts';
import type { BatchingWatcher } from '../watch/index.ts';
import { watchBatches } from '../watch/index.ts';
import { AgentState, SessionEvent, type SyncFinished, type SyncReason } from './events.ts';
import type { BatchProgress } from '../sync/send-batch.ts';
import { OpKind, type BatchOp } from '../sync/batch-ops.ts';
import { Fanout } from './fanout.ts';
import { listChildren, refreshPaths, replaceTree } from '../index/refresh.ts';
import { SerialQueue } from './serial-queue.ts';
import { SessionState, type SessionStatus } from './session-state.ts';
import { SyncEngine, type SyncOutcome } from '../sync/engine.ts';

/**
 * One project synced to one target, shared by every terminal attached to it.
 *
 * Order at start: rules → watcher ready → scan → agent → first sync. The
 * watcher is ready before the scan, so a change made during the scan is seen
 * twice at worst, never missed. Every sync, rescan and reconnect runs on one
 * SerialQueue; watcher batches that arrive while the agent is away update the
 * local tree only, and the reconnect's full verify sends what differs.
 */

/** First wait before reconnecting to a lost agent; doubles up to the cap. */
export const RECONNECT_BASE_MS = 100;
export const RECONNECT_MAX_MS = 5_000;
/** First wait before recreating a failed watcher; doubles up to the cap. */
export const REWATCH_BASE_MS = 1_000;
export const REWATCH_MAX_MS = 60_000;
/**
 * A structural batch — one that only deletes, or that creates directories —
 * waits this long after the last change before it goes out, merging what
 * follows. A tree being deleted (rm -rf, an unmounting volume) then reaches
 * the mass-deletion guard whole instead of losing its first files to a
 * leading-edge batch, and a tree being written (a checkout, an unpack, a
 * cp -r) is one batch and one restart even when its first directory came
 * alone. Saves create no directory and never wait here.
 */
export const SETTLE_MS = 300;
/** Longest a held batch waits while changes keep coming. */
export const SETTLE_MAX_MS = 3_000;
/** When a new directory is listed again after it appeared (see recheckNewDirs). */
export const NEW_DIR_RECHECK_MS = [300, 1_500] as const;
/** Smallest gap between two progress events of one sync. */
export const PROGRESS_INTERVAL_MS = 100;
/** The index is saved this long after the last confirmed batch: a save costs O(tree), a batch must not. */
export const INDEX_SAVE_DELAY_MS = 1_000;

export interface SessionOptions {
  root: string;
  target?: string;
  localRoot?: string;
  poll?: boolean;
  /** Let the first sync delete (nearly) everything on the agent. */
  force?: boolean;
  log: ControlLog;
}

type ProgressFn = (p: BatchProgress) => void;

export function sessionId(root: string, target: string): string {
  return createHash('sha256').update(`${resolve(root)}\0${target}`).digest('hex').slice(0, 12);
}

export class Session {
  readonly id: string;
  readonly root: string;
  readonly target: string;
  readonly fanout = new Fanout();
  private state: SessionState = SessionState.STARTING;
  private config!: ProjectConfig;
  private hasher!: Hasher;
  private matcher!: IgnoreMatcher;
  private engine!: SyncEngine;
  private watcher: BatchingWatcher | null = null;
  private agent: LocalAgent | null = null;
  private client: AgentClient | null = null;
  private readonly queue = new SerialQueue();
  private readonly unconfirmed = new Set<string>();
  private lastSync: SessionStatus['lastSync'] = null;
  private syncs = 0;
  private error: SessionStatus['error'] = null;
  private reconnectDelay = RECONNECT_BASE_MS;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private rewatchDelay = REWATCH_BASE_MS;
  private rewatchTimer: NodeJS.Timeout | null = null;
  private readonly recheckTimers = new Set<NodeJS.Timeout>();
  private held: { paths: Set<string>; since: number; timer: NodeJS.Timeout | null } | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private readonly startedAt = Date.now();
  readonly ready: Promise<void>;

  constructor(private readonly opts: SessionOptions) {
    this.root = resolve(opts.root);
    this.target = opts.target ?? 'local';
    this.id = sessionId(this.root, this.target);
    this.ready = this.start();
    this.ready.catch(() => undefined);
  }

  private async start(): Promise<void> {
    try {
      if (this.target !== 'local') {
        throw new SkiffError(ErrorCode.USAGE, `target ${JSON.stringify(this.target)} is not available for sessions yet; use the local target`);
      }
      this.setState(SessionState.STARTING);
      this.config = await loadProjectConfig(this.root);
      this.hasher = await loadHasher();
      this.matcher = await loadIgnoreMatcher(this.root);
      this.watcher = await this.watch();
      // Everything from the scan on runs in the queue, so watcher batches that
      // arrive meanwhile wait for the engine instead of finding none.
      await this.queue.run(async () => {
        const saved = await loadIndex(this.root);
        if (saved.warning) this.problem('.skiff/index.json', saved.warning);
        const scan = await scanTree(this.root, { matcher: this.matcher, previous: saved.entries, hasher: this.hasher, deferHash: true });
        for (const p of scan.problems) this.fanout.emit(SessionEvent.PROBLEM, p);
        this.engine = new SyncEngine(this.root, this.hasher);
        await this.connect();
        // An empty agent gets every file, hashed as it is read for sending.
        if (this.client!.hello.entries !== 0) await hashDeferred(this.root, scan.entries, this.hasher);
        for (const entry of scan.entries.values()) this.engine.local.set(entry);
        await this.sync('initial', this.engine.local.size, (onProgress) => this.engine.syncAll(this.client!, onProgress, { force: this.opts.force }));
      });
    } catch (err) {
      const e = asSkiffError(err);
      this.error = { code: e.code, message: e.message };
      this.setState(SessionState.FAILED);
      this.fanout.emit(SessionEvent.SYNC_FAILED, { batch: 0, code: e.code, message: e.message });
      await this.stop();
      throw e;
    }
  }

  private async watch(): Promise<BatchingWatcher> {
    const watcher = watchBatches(this.root, {
      isIgnored: (path, isDir) => this.matcher.isIgnored(path, isDir),
      poll: this.opts.poll,
      onBatch: (paths) => this.onWatchBatch(paths),
      onError: (err) => this.watcherFailed(err),
    });
    await watcher.ready;
    return watcher;
  }

  /**
   * The watcher reported a failure (a watch limit, a lost subscription, the
   * root removed): it may no longer see changes. It is recreated after a
   * pause that grows with each failure, and the tree rescanned, so nothing
   * that changed meanwhile is missed.
   */
  private watcherFailed(err: SkiffError): void {
    this.problem('', err);
    if (this.rewatchTimer || this.stopping) return;
    const delay = this.rewatchDelay;
    this.rewatchDelay = Math.min(this.rewatchDelay * 2, REWATCH_MAX_MS);
    this.rewatchTimer = setTimeout(() => {
      this.rewatchTimer = null;
      this.queue
        .run(async () => {
          if (this.stopping) return;
          await this.watcher?.close().catch(() => undefined);
          this.watcher = await this.watch();
          const scan = await scanTree(this.root, { matcher: this.matcher, previous: this.engine.local.entries, hasher: this.hasher });
          replaceTree(this.engine.local, scan.entries);
          if (this.client) await this.sync('rewatch', this.engine.local.size, (onProgress) => this.engine.syncAll(this.client!, onProgress));
          this.rewatchDelay = REWATCH_BASE_MS;
        })
        .catch((e) => this.watcherFailed(asSkiffError(e)));
    }, delay);
  }

  /** Starts the agent when this session manages it, then opens the connection. */
  private async connect(): Promise<void> {
    if (!this.agent) {
      this.fanout.emit(SessionEvent.AGENT, { state: AgentState.STARTING });
      const agentRoot = this.opts.localRoot ?? defaultLocalRoot(this.root);
      assertRootsApart(this.root, agentRoot);
      const agent = await startLocalAgent({ root: agentRoot, appConfig: toAppConfig(this.config) });
      agent.child.once('exit', (code, signal) => {
        if (this.agent !== agent) return;
        this.agent = null;
        if (!this.stopping) this.opts.log('warn', `session ${this.id}: the local agent exited (${signal ?? code}); starting a new one`);
      });
      this.agent = agent;
    }
    this.fanout.emit(SessionEvent.AGENT, { state: AgentState.CONNECTING, url: this.agent.url });
    const client = await AgentClient.connect(this.agent.url, this.agent.token, {
      appStatus: (status) => this.fanout.emit(SessionEvent.APP_STATUS, status),
      log: (header, data) => this.fanout.emit(SessionEvent.APP_LOG, { stream: header.stream, ts: header.ts, text: Buffer.from(data).toString('utf8') }),
      closed: (err) => this.clientClosed(client, err),
    });
    this.client = client;
    this.engine.forgetRemote();
    this.reconnectDelay = RECONNECT_BASE_MS;
    this.fanout.emit(SessionEvent.AGENT, { state: AgentState.CONNECTED, url: this.agent.url });
  }

  private clientClosed(client: AgentClient, err: SkiffError | null): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.stopping) return;
    this.setState(SessionState.DISCONNECTED);
    this.fanout.emit(SessionEvent.AGENT, { state: AgentState.DISCONNECTED, code: err?.code, message: err?.message });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.stopping) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.queue
        .run(async () => {
          if (this.stopping || this.client) return;
          await this.connect();
          await this.sync('reconnect', this.engine.local.size, (onProgress) => this.engine.syncAll(this.client!, onProgress));
        })
        .catch((err) => {
          this.opts.log('warn', `session ${this.id}: reconnect failed: ${asSkiffError(err).message}`);
          this.fanout.emit(SessionEvent.AGENT, { state: AgentState.DISCONNECTED, code: asSkiffError(err).code, message: asSkiffError(err).message });
          this.scheduleReconnect();
        });
    }, delay);
  }

  /** A coalesced watcher batch: refresh those paths, then send what changed. */
  private onWatchBatch(paths: string[]): Promise<void> {
    // A failed sync is reported as sync.failed by sync(); it must not reach
    // the watcher's error path, which would recreate a healthy watcher.
    return this.queue.run(() => this.watchBatch(paths)).catch(() => undefined);
  }

  private watchBatch(paths: string[]): Promise<void> {
    return (async () => {
      if (this.stopping || !this.engine) return;
      const changed = await this.refresh(paths);
      if (changed.size === 0) return;
      if (this.held) {
        for (const p of changed) this.held.paths.add(p);
        this.armHeld();
        return;
      }
      // With the agent away the local tree is already up to date; the
      // reconnect's full verify sends whatever differs.
      if (!this.client) return;
      const ops = this.engine.planPaths(changed);
      if (ops !== null && ops.length > 0 && (ops.every((op) => op.kind === OpKind.DELETE) || ops.some((op) => op.kind === OpKind.MKDIR))) {
        this.held = { paths: changed, since: performance.now(), timer: null };
        this.armHeld();
        return;
      }
      await this.sendPlanned(changed, ops);
    })();
  }

  /**
   * A directory that appears is listed at once, but a file written into it
   * before the native watcher watches it (nested directories created in a
   * burst) gets no event, and the listing may have run before the file
   * existed. So each new directory is listed again once the watcher has
   * certainly caught up, its children fed to the coalescer like watcher
   * events: what turns up is synced like any change, and a re-listing that
   * finds nothing new sends nothing.
   */
  private recheckNewDirs(dirs: readonly string[]): void {
    for (const delay of NEW_DIR_RECHECK_MS) {
      const timer = setTimeout(() => {
        this.recheckTimers.delete(timer);
        if (this.stopping) return;
        const children = dirs.filter((d) => this.engine.local.get(d)?.type === EntryType.DIR).flatMap((d) => listChildren(this.root, d));
        // Through the coalescer, so a re-listing during a storm joins its batch.
        this.watcher?.inject(children);
      }, delay);
      this.recheckTimers.add(timer);
    }
  }

  /** (Re)starts the settle timer of the held batch; see SETTLE_MS. */
  private armHeld(): void {
    const held = this.held!;
    if (held.timer) clearTimeout(held.timer);
    const delay = Math.max(0, Math.min(SETTLE_MS, held.since + SETTLE_MAX_MS - performance.now()));
    held.timer = setTimeout(() => {
      this.queue.run(() => this.releaseHeld()).catch(() => undefined);
    }, delay);
  }

  private async releaseHeld(): Promise<void> {
    const held = this.held;
    this.held = null;
    if (!held || this.stopping || !this.client) return;
    await this.sendPlanned(held.paths, this.engine.planPaths(held.paths));
  }

  /** Sends planned operations: a full verify when the agent's tree is unknown (null), nothing when the plan is empty. */
  private async sendPlanned(paths: ReadonlySet<string>, ops: BatchOp[] | null): Promise<void> {
    if (ops === null) await this.sync('verify', this.engine.local.size, (onProgress) => this.engine.syncAll(this.client!, onProgress));
    else if (ops.length > 0) await this.sync('watch', paths.size, (onProgress) => this.engine.sendOps(this.client!, ops, onProgress));
    else this.scheduleIndexSave(); // new mtimes or inodes only: worth remembering, not sending
  }

  private async refresh(paths: readonly string[]): Promise<Set<string>> {
    const result = refreshPaths(this.root, paths, this.engine.local, this.matcher, this.hasher);
    for (const p of result.problems) this.fanout.emit(SessionEvent.PROBLEM, p);
    if (result.newDirs.length > 0) this.recheckNewDirs(result.newDirs);
    if (!result.rulesChanged) return result.changed;
    // An ignore file changed: any path may have entered or left the sync.
    const scan = await scanTree(this.root, { matcher: this.matcher, previous: this.engine.local.entries, hasher: this.hasher });
    return replaceTree(this.engine.local, scan.entries);
  }

  /** Rescans the whole tree and syncs it now (`skiff push` while a session runs; `force` lifts a halt). */
  syncNow(force = false): Promise<SyncOutcome> {
    return this.queue.run(async () => {
      await this.ready;
      if (!this.client) throw new SkiffError(ErrorCode.CONNECTION_LOST, 'the agent is not connected; skiff reconnects by itself, try again shortly');
      const scan = await scanTree(this.root, { matcher: this.matcher, previous: this.engine.local.entries, hasher: this.hasher });
      replaceTree(this.engine.local, scan.entries);
      return this.sync('push', this.engine.local.size, (onProgress) => this.engine.syncAll(this.client!, onProgress, { force }));
    });
  }

  private async sync(reason: SyncReason, paths: number, run: (onProgress: ProgressFn) => Promise<SyncOutcome>): Promise<SyncOutcome> {
    const started = performance.now();
    const batch = ++this.syncs;
    this.setState(SessionState.SYNCING);
    this.fanout.emit(SessionEvent.SYNC_STARTED, { batch, reason, paths });
    let outcome: SyncOutcome;
    try {
      outcome = await run(this.progress(batch));
    } catch (err) {
      const e = asSkiffError(err);
      this.fanout.emit(SessionEvent.SYNC_FAILED, { batch, code: e.code, message: e.message });
      if (e.code === ErrorCode.MASS_DELETION) {
        // Nothing was sent: the agent's picture is still right. Later batches re-check.
        this.error = { code: e.code, message: e.message };
        this.setState(SessionState.HALTED);
      } else this.engine.forgetRemote();
      throw e;
    }
    const finished: SyncFinished = { batch, reason, uploaded: outcome.uploaded, deleted: outcome.deleted, bytes: outcome.bytes, durationMs: Math.round(performance.now() - started), inSync: outcome.inSync, problems: outcome.problems };
    this.lastSync = { ...finished, at: Date.now() };
    this.fanout.emit(SessionEvent.SYNC_FINISHED, finished);
    for (const p of outcome.problems) this.fanout.emit(SessionEvent.PROBLEM, p);
    if (reason !== 'watch' && outcome.inSync) this.unconfirmed.clear();
    if (this.state === SessionState.HALTED) this.error = null;
    for (const p of outcome.unconfirmed) this.unconfirmed.add(p);
    this.setState(SessionState.WATCHING);
    this.scheduleIndexSave();
    return outcome;
  }

  /** Progress for terminals, at most one event per PROGRESS_INTERVAL_MS and one at the end. */
  private progress(batch: number) {
    let last = 0;
    return (p: { files: number; bytes: number; totalFiles: number; totalBytes: number }) => {
      const now = performance.now();
      if (p.files < p.totalFiles && now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      this.fanout.emit(SessionEvent.SYNC_PROGRESS, { batch, ...p });
    };
  }

  private scheduleIndexSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      void this.saveIndexNow();
    }, INDEX_SAVE_DELAY_MS);
  }

  private async saveIndexNow(): Promise<void> {
    if (!this.engine) return;
    try {
      await saveIndex(this.root, this.engine.confirmedIndex(this.unconfirmed));
    } catch (err) {
      this.opts.log('warn', `session ${this.id}: could not save the index: ${asSkiffError(err).message}`);
    }
  }

  private problem(path: string, err: SkiffError): void {
    this.fanout.emit(SessionEvent.PROBLEM, { path, code: err.code, message: err.message });
  }

  private setState(state: SessionState): void {
    if (this.state === state || this.state === SessionState.STOPPED) return;
    // A halt lasts until a sync goes through (WATCHING), not through the SYNCING of each retry.
    if (this.state === SessionState.HALTED && state === SessionState.SYNCING) return;
    this.state = state;
    this.fanout.emit(SessionEvent.STATE, { state });
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.rewatchTimer) clearTimeout(this.rewatchTimer);
    if (this.held?.timer) clearTimeout(this.held.timer);
    for (const timer of this.recheckTimers) clearTimeout(timer);
    await this.watcher?.close().catch(() => undefined);
    await this.queue.run(async () => undefined).catch(() => undefined);
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
      await this.saveIndexNow();
    }
    await this.client?.close().catch(() => undefined);
    await this.agent?.stop().catch(() => undefined);
    this.fanout.emit(SessionEvent.AGENT, { state: AgentState.STOPPED });
    if (this.state === SessionState.FAILED) return;
    this.state = SessionState.STOPPED;
    this.fanout.emit(SessionEvent.STATE, { state: SessionState.STOPPED });
  }

  status(): SessionStatus {
    const agentState = this.fanout.last(SessionEvent.AGENT);
    return {
      id: this.id,
      name: this.config?.name ?? this.root,
      root: this.root,
      target: this.target,
      state: this.state,
      agent: { state: agentState?.state ?? AgentState.STARTING, url: this.agent?.url, root: this.agent?.root, pid: this.agent?.pid },
      app: this.fanout.last(SessionEvent.APP_STATUS) ?? null,
      urls: (this.config?.ports ?? []).map((p) => `http://127.0.0.1:${p.host ?? p.container}`),
      entries: this.engine?.local.size ?? 0,
      digest: this.engine?.local.digest ?? '',
      inSync: this.lastSync?.inSync ?? false,
      lastSync: this.lastSync,
      watcher: this.opts.poll ? 'poll' : 'native',
      clients: this.fanout.size,
      startedAt: this.startedAt,
      error: this.error,
    };
  }
}
