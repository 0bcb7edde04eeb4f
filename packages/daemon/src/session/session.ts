import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { AppState, asSkiffError, EntryType, ErrorCode, loadHasher, QuietSave, SkiffError, type AppSpec, type Hasher, type Problem } from '@skiff/protocol';
import { loadProjectConfig, PROJECT_FILE, toAppConfig, type ProjectConfig } from '../config/project.ts';
import type { Target } from '../config/target.ts';
import type { ControlLog } from '../control/log.ts';
import { needsSettle } from '../core/settle.ts';
import { loadIgnoreMatcher, type IgnoreMatcher } from '../ignore/index.ts';
import { UNHASHED, type IndexEntry, type ScanResult } from '../index/entry.ts';
import { hashDeferred, loadIndex, saveIndex, scanTree } from '../index/index.ts';
import { refreshPaths, replaceTree } from '../index/refresh.ts';
import { countOps, type BatchOp } from '../sync/batch-ops.ts';
import { SyncEngine, type SyncOutcome } from '../sync/engine.ts';
import { prepareFirstSync, startScan } from '../sync/first-sync.ts';
import type { BatchProgress } from '../sync/send-batch.ts';
import { openTarget } from '../targets/open.ts';
import type { AgentPlace, TargetDriver } from '../targets/target.ts';
import { AgentClient } from '../transport/agent-client.ts';
import { Backoff } from '../util/backoff.ts';
import { BatchVerdict, gitBusy, watchBatches, type BatchInfo, type TreeWatcher } from '../watch/index.ts';
import { AgentState, SessionEvent, type SyncFinished, type SyncReason } from './events.ts';
import { Fanout } from './fanout.ts';
import { ProblemSet } from './problems.ts';
import { SerialQueue } from './serial-queue.ts';
import { SessionState, type SessionStatus } from './session-state.ts';

/** First wait before reconnecting to a lost agent; doubles up to the cap. */
export const RECONNECT_BASE_MS = 100;
export const RECONNECT_MAX_MS = 5_000;
/** First wait before recreating a failed watcher; doubles up to the cap. */
export const REWATCH_BASE_MS = 1_000;
export const REWATCH_MAX_MS = 60_000;
/** Smallest gap between two progress events of one sync. */
export const PROGRESS_INTERVAL_MS = 100;
/** The index is saved this long after the last confirmed batch: a save costs O(tree), a batch must not. */
export const INDEX_SAVE_DELAY_MS = 1_000;
/**
 * The save waits for INDEX_SAVE_DELAY_MS without a batch, but never longer
 * than this after the first batch it would record: writing the index takes
 * the event loop for tens of milliseconds on a large tree (measured: 55-70 ms
 * for 54,000 entries), and a save that lands on it waits as long, so it is
 * not done while saves keep coming, unless they never stop.
 */
export const INDEX_SAVE_MAX_DELAY_MS = 30_000;

export interface SessionOptions {
  root: string;
  /** Where the agent runs; decided by the caller (see config/target.ts, resolveTarget). */
  target: Target;
  localRoot?: string;
  kubeContext?: string;
  namespace?: string;
  poll?: boolean;
  /** Let the first sync delete (nearly) everything on the agent. */
  force?: boolean;
  log: ControlLog;
}

type ProgressFn = (p: BatchProgress) => void;

export function sessionId(root: string, target: string): string {
  return createHash('sha256').update(`${resolve(root)}\0${target}`).digest('hex').slice(0, 12);
}

/**
 * One project synced to one target, shared by every terminal attached to it.
 *
 * The route of a save, in order (ARCHITECTURE.md follows it file by file):
 *   watch   the watcher delivers a coalesced batch of paths (watch/batcher.ts)
 *   refresh what those paths are now on disk (index/refresh.ts)
 *   plan    what the agent must do for them (sync/engine.ts → sync/plan.ts)
 *   settle  a structural batch is handed back to the coalescer to gather the
 *           rest of its tree change (core/settle.ts)
 *   send    the batch goes out and is confirmed (sync/send-batch.ts)
 * All of it runs on one SerialQueue, with every full sync (start, reconnect,
 * rescan, `skiff push`), so no two syncs interleave.
 *
 * Order at start: rules → watcher ready → scan → agent → first sync. The
 * watcher is ready before the scan, so a change made during the scan is seen
 * twice at worst, never missed. Batches that arrive while the agent is away
 * update the local tree only; the reconnect's verify sends what differs.
 *
 * Halted: a sync that would delete (nearly) everything on the agent stops
 * with SKIFF_E_MASS_DELETION. From then on every batch is a full sync under
 * the same guard, so nothing goes out as if the held deletions had been
 * made: the session resumes, sending the whole difference, when the files
 * come back or with --force.
 */
export class Session {
  readonly id: string;
  readonly root: string;
  readonly target: Target;
  readonly fanout = new Fanout();
  private state: SessionState = SessionState.STARTING;
  private config!: ProjectConfig;
  private hasher!: Hasher;
  private matcher!: IgnoreMatcher;
  private engine!: SyncEngine;
  private driver: TargetDriver | null = null;
  private watcher: TreeWatcher | null = null;
  private place: AgentPlace | null = null;
  private client: AgentClient | null = null;
  private readonly queue = new SerialQueue();
  private readonly unconfirmed = new Set<string>();
  private readonly problems = new ProblemSet();
  /**
   * A changed skiff.yaml's app spec, not yet handed to the agent: it goes inside
   * the batch that carries skiff.yaml itself, so the agent makes one restart of
   * both (a reconnect sends the current spec anyway).
   */
  private specToSend: AppSpec | null = null;
  /** Changed paths of a batch handed back to settle: they join the settled flush. */
  private carried: Set<string> | null = null;
  private lastSync: SessionStatus['lastSync'] = null;
  private syncs = 0;
  private error: SessionStatus['error'] = null;
  private halted = false;
  private readonly reconnect = new Backoff(RECONNECT_BASE_MS, RECONNECT_MAX_MS);
  private readonly rewatch = new Backoff(REWATCH_BASE_MS, REWATCH_MAX_MS);
  private readonly indexSave = new QuietSave(() => void this.saveIndexNow(), INDEX_SAVE_DELAY_MS, INDEX_SAVE_MAX_DELAY_MS);
  /** The watcher has seen every change since the last full scan (false from a failure until the rescan after it). */
  private watcherTrusted = true;
  private stopping = false;
  private readonly startedAt = Date.now();
  readonly ready: Promise<void>;

  constructor(private readonly opts: SessionOptions) {
    this.root = resolve(opts.root);
    this.target = opts.target;
    this.id = sessionId(this.root, this.target);
    this.ready = this.start();
    this.ready.catch(() => undefined);
  }

  private async start(): Promise<void> {
    try {
      this.config = await loadProjectConfig(this.root);
      this.driver = openTarget(this.target, {
        projectRoot: this.root,
        config: this.config,
        appSpec: toAppConfig(this.config),
        localRoot: this.opts.localRoot,
        kubeContext: this.opts.kubeContext,
        namespace: this.opts.namespace,
        log: this.opts.log,
      });
      this.hasher = await loadHasher();
      this.matcher = await loadIgnoreMatcher(this.root);
      this.watcher = await this.watch();
      // Everything from the scan on runs in the queue, so watcher batches that
      // arrive meanwhile wait for the engine instead of finding none.
      await this.queue.run(async () => {
        const saved = await loadIndex(this.root, this.hasher.h64);
        if (saved.warning) this.report([{ path: '.skiff/index.json', code: saved.warning.code, message: saved.warning.message }]);
        this.engine = new SyncEngine(this.root, this.hasher, [], { isIgnored: (path, isDir) => this.matcher.isIgnored(path, isDir) });
        // The scan walks while the agent starts (a container may take seconds); an empty agent gets what it
        // finds while the walk goes on (sync/first-sync.ts).
        const scanning = startScan(this.root, saved, this.hasher, this.matcher, () => this.client !== null);
        try {
          await this.connect();
        } catch (err) {
          await scanning.result.catch(() => undefined);
          throw err;
        }
        const first = await prepareFirstSync(this.engine, this.client!, scanning, saved, this.root, this.hasher);
        if (!first.streaming) this.takeScanProblems(await scanning.result);
        await this.sync('initial', this.engine.local.size, (onProgress) => first.run(onProgress, { force: this.opts.force }), first.streaming).catch((err) => {
          // A halted first sync leaves a live session that resumes when the files come back (or --force).
          // An agent lost in the middle of it (its container restarted or killed) is reconnected to as
          // at any other time: clientClosed() has scheduled it, and the reconnect's sync sends the rest.
          const code = asSkiffError(err).code;
          if (code === ErrorCode.CONNECTION_LOST && !this.client) return;
          if (code !== ErrorCode.MASS_DELETION) throw err;
        });
        if (first.streaming) {
          const scan = await scanning.result;
          this.takeScanProblems(scan);
          // What a sync cut short did not take: the project's tree is the whole scan all the same.
          for (const entry of scan.entries.values()) if (this.engine.local.get(entry.path) === undefined) this.engine.local.set(entry);
        }
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

  /** The start-up scan's problems join the session's (beside those a streamed first sync found meanwhile). */
  private takeScanProblems(scan: ScanResult): void {
    this.problems.update([], scan.problems);
    this.report(scan.problems);
  }

  private async watch(): Promise<TreeWatcher> {
    const watcher = watchBatches(this.root, {
      isIgnored: (path, isDir) => this.matcher.isIgnored(path, isDir),
      poll: this.opts.poll,
      busy: gitBusy(this.root),
      onBatch: (paths, info) => this.onWatchBatch(paths, info),
      onError: (err) => this.watcherFailed(err),
    });
    await watcher.ready;
    return watcher;
  }

  // ---- the route of a save -------------------------------------------------

  /** A coalesced watcher batch, through the queue. */
  private onWatchBatch(paths: string[], info: BatchInfo): Promise<BatchVerdict> {
    // A failed sync is reported as sync.failed by sync(); it must not reach
    // the watcher's error path, which would recreate a healthy watcher.
    return this.queue.run(() => this.watchBatch(paths, info)).catch(() => BatchVerdict.DONE);
  }

  private async watchBatch(paths: string[], info: BatchInfo): Promise<BatchVerdict> {
    if (this.stopping || !this.engine) return BatchVerdict.DONE;
    // 1. refresh: what the paths are now (the settle's held paths join in).
    const changed = await this.refresh(paths);
    if (this.carried) for (const p of this.carried) changed.add(p);
    this.carried = null;
    if (changed.has(PROJECT_FILE)) await this.reloadConfig();
    if (changed.size === 0) return BatchVerdict.DONE;
    // With the agent away the local tree is already up to date; the
    // reconnect's full verify sends whatever differs.
    if (!this.client) return BatchVerdict.DONE;
    // While halted, only a full sync under the guard may go out; a new app spec goes on its own.
    if (this.halted) {
      if (this.specToSend) await this.sendSpecAlone(this.specToSend);
      this.specToSend = null;
      await this.sync('verify', this.engine.local.size, (onProgress) => this.engine.syncAll(this.client!, onProgress));
      return BatchVerdict.DONE;
    }
    // 2. plan
    const ops = this.engine.planPaths(changed);
    // 3. settle: a tree change whose first part came alone waits for the rest.
    if (!info.settled && ops !== null && needsSettle({ total: ops.length, ...countOps(ops) })) {
      this.carried = changed;
      return BatchVerdict.SETTLE;
    }
    // 4. send
    await this.sendPlanned(changed, ops);
    return BatchVerdict.DONE;
  }

  /** Brings the local tree up to date for `paths`; returns what changed. */
  private async refresh(paths: readonly string[]): Promise<Set<string>> {
    const result = refreshPaths(this.root, paths, this.engine.local, this.matcher, this.hasher);
    this.problems.update(result.examined, result.problems);
    this.report(result.problems);
    if (!result.rulesChanged) return result.changed;
    // An ignore file changed: any path may have entered or left the sync.
    return this.rescan();
  }

  /** Sends planned operations: a full verify when the agent's tree is unknown (null), nothing when the plan is empty. */
  private async sendPlanned(paths: ReadonlySet<string>, ops: BatchOp[] | null): Promise<void> {
    const appSpec = this.specToSend ?? undefined;
    this.specToSend = null;
    if (ops === null) await this.sync('verify', this.engine.local.size, (onProgress) => this.engine.syncAll(this.client!, onProgress, { appSpec }));
    else if (ops.length > 0) await this.sync('watch', paths.size, (onProgress) => this.engine.sendOps(this.client!, ops, onProgress, { appSpec }));
    else {
      // Nothing to send but the spec (skiff.yaml is ignored, or only touched): it goes alone.
      if (appSpec) await this.sendSpecAlone(appSpec);
      this.indexSave.touch(); // new mtimes or inodes only: worth remembering, not sending
    }
  }

  // ---- full syncs ------------------------------------------------------------

  /** Rescans the whole tree into the local state; returns the paths that changed. */
  private async rescan(): Promise<Set<string>> {
    const scan = await scanTree(this.root, { matcher: this.matcher, previous: this.engine.local.entries, hasher: this.hasher });
    this.problems.replace(scan.problems);
    const changed = replaceTree(this.engine.local, scan.entries);
    this.engine.rulesChanged();
    return changed;
  }

  /**
   * Syncs now (`skiff push` while a session runs; `force` lifts a halt).
   *
   * The local tree is what the watcher has kept current since the scan, plus
   * what the coalescer still held, taken now: a push need not stat 54,000
   * paths to learn what the watcher already told (measured: the rescan was
   * 0.25-0.7 s of a push that is otherwise one round trip). The batch that
   * goes out is checked against the agent's own digest in its APPLIED, as
   * every batch is. A poller (which sees a change only at its next sweep)
   * and a watcher that failed since the last scan are not trusted that way:
   * the tree is rescanned.
   */
  syncNow(force = false): Promise<SyncOutcome> {
    return this.queue.run(async () => {
      await this.ready;
      if (!this.client) throw new SkiffError(ErrorCode.CONNECTION_LOST, 'the agent is not connected; skiff reconnects by itself, try again shortly');
      const pending = this.watcher?.drain?.();
      if (this.opts.poll || !this.watcherTrusted || pending === undefined) await this.rescan();
      else if (pending.length > 0) await this.refresh(pending);
      return this.sync('push', this.engine.local.size, (onProgress) => this.engine.syncAll(this.client!, onProgress, { force }));
    });
  }

  private async sync(reason: SyncReason, paths: number, run: (onProgress: ProgressFn) => Promise<SyncOutcome>, scanning = false): Promise<SyncOutcome> {
    const started = performance.now();
    const batch = ++this.syncs;
    this.setState(SessionState.SYNCING);
    this.fanout.emit(SessionEvent.SYNC_STARTED, scanning ? { batch, reason, paths, scanning } : { batch, reason, paths });
    let outcome: SyncOutcome;
    try {
      outcome = await run(this.progress(batch));
    } catch (err) {
      const e = asSkiffError(err);
      this.fanout.emit(SessionEvent.SYNC_FAILED, { batch, code: e.code, message: e.message });
      if (e.code === ErrorCode.MASS_DELETION) {
        // Nothing was sent: the agent's picture is still right, and stays so until a full sync goes through.
        this.halted = true;
        this.error = { code: e.code, message: e.message };
        this.setState(SessionState.HALTED);
      } else {
        this.engine.forgetRemote();
        if (!this.halted) this.setState(SessionState.WATCHING);
      }
      throw e;
    }
    const finished: SyncFinished = {
      batch,
      reason,
      uploaded: outcome.uploaded,
      copied: outcome.copied,
      deleted: outcome.deleted,
      bytes: outcome.bytes,
      durationMs: Math.round(performance.now() - started),
      inSync: outcome.inSync,
      problems: outcome.problems,
    };
    this.lastSync = { ...finished, at: Date.now() };
    this.fanout.emit(SessionEvent.SYNC_FINISHED, finished);
    this.problems.update([], outcome.problems);
    this.report(outcome.problems);
    if (reason !== 'watch' && outcome.inSync) this.unconfirmed.clear();
    for (const p of outcome.unconfirmed) this.unconfirmed.add(p);
    if (this.halted) {
      this.halted = false;
      this.error = null;
    }
    this.setState(SessionState.WATCHING);
    this.indexSave.touch();
    return outcome;
  }

  /** Progress for terminals, at most one event per PROGRESS_INTERVAL_MS and one at the end. */
  private progress(batch: number) {
    let last = 0;
    return (p: BatchProgress) => {
      const now = performance.now();
      if (p.files < p.totalFiles && now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      this.fanout.emit(SessionEvent.SYNC_PROGRESS, { batch, ...p });
    };
  }

  // ---- the agent -------------------------------------------------------------

  /** Starts (or reuses) the agent's place through the target, then opens the connection. */
  private async connect(): Promise<void> {
    if (!this.place) {
      this.fanout.emit(SessionEvent.AGENT, { state: AgentState.STARTING });
      const place = await this.driver!.start();
      this.place = place;
      void place.gone.then(({ reason }) => {
        if (this.place !== place) return;
        this.place = null;
        if (!this.stopping) this.opts.log('warn', `session ${this.id}: ${reason}; starting a new one`);
      });
    }
    const place = this.place;
    this.fanout.emit(SessionEvent.AGENT, { state: AgentState.CONNECTING, url: place.url });
    const client = await AgentClient.connect(place.url, place.token, {
      appStatus: (status) => {
        if (status.state === AppState.STOPPING) place.appStopping?.();
        this.fanout.emit(SessionEvent.APP_STATUS, status);
      },
      log: (header, data) => this.fanout.emit(SessionEvent.APP_LOG, { stream: header.stream, ts: header.ts, text: Buffer.from(data).toString('utf8') }),
      closed: (err) => this.clientClosed(client, err),
    });
    this.client = client;
    // The app spec goes with every connection: a container's environment is fixed, skiff.yaml is not.
    await client.sendAppSpec(toAppConfig(this.config));
    this.specToSend = null;
    this.engine.agentConnected(client.hello);
    this.reconnect.reset();
    this.fanout.emit(SessionEvent.AGENT, { state: AgentState.CONNECTED, url: place.url });
  }

  private clientClosed(client: AgentClient, err: SkiffError | null): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.stopping) return;
    if (!this.halted) this.setState(SessionState.DISCONNECTED);
    this.fanout.emit(SessionEvent.AGENT, { state: AgentState.DISCONNECTED, code: err?.code, message: err?.message });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopping) return;
    this.reconnect.schedule(() => {
      this.queue
        .run(async () => {
          if (this.stopping || this.client) return;
          await this.connect();
          if (this.client!.hello.entries !== 0) await this.hashUnhashed();
          await this.sync('reconnect', this.engine.local.size, (onProgress) => this.engine.syncAll(this.client!, onProgress));
        })
        .catch((err) => {
          const e = asSkiffError(err);
          if (e.code === ErrorCode.MASS_DELETION) return; // connected, and halted: sync() said so
          this.opts.log('warn', `session ${this.id}: reconnect failed: ${e.message}`);
          this.fanout.emit(SessionEvent.AGENT, { state: AgentState.DISCONNECTED, code: e.code, message: e.message });
          this.scheduleReconnect();
        });
    });
  }

  /**
   * A first sync into an empty agent reads files unhashed (their hashes come
   * as they are sent). Cut short (the agent's container restarted or was
   * killed), it leaves the files it never confirmed unhashed; the agent now
   * holds some of them, so they are hashed before the reconnect compares,
   * or every one of them would differ and travel again.
   */
  private async hashUnhashed(): Promise<void> {
    const pending = new Map<string, IndexEntry>();
    for (const [path, entry] of this.engine.local.entries) if (entry.type === EntryType.FILE && entry.hash === UNHASHED) pending.set(path, entry);
    if (pending.size === 0) return;
    await hashDeferred(this.root, pending, this.hasher);
    // Through set(), which keeps the tree's digest current; a file that vanished is the watcher's to report.
    for (const entry of pending.values()) if (entry.hash !== UNHASHED) this.engine.local.set(entry);
  }

  // ---- the watcher -----------------------------------------------------------

  /**
   * The watcher reported a failure (a watch limit, a lost subscription, the
   * root removed): it may no longer see changes. It is recreated after a
   * pause that grows with each failure, and the tree rescanned, so nothing
   * that changed meanwhile is missed.
   */
  private watcherFailed(err: SkiffError): void {
    this.watcherTrusted = false;
    this.report([{ path: '', code: err.code, message: err.message }]);
    if (this.stopping) return;
    this.rewatch.schedule(() => {
      this.queue
        .run(async () => {
          if (this.stopping) return;
          await this.watcher?.close().catch(() => undefined);
          this.watcher = await this.watch();
          await this.rescan();
          this.watcherTrusted = true;
          if (this.client) await this.sync('rewatch', this.engine.local.size, (onProgress) => this.engine.syncAll(this.client!, onProgress));
          this.rewatch.reset();
        })
        .catch((e) => this.watcherFailed(asSkiffError(e)));
    });
  }

  // ---- skiff.yaml --------------------------------------------------------------

  /**
   * skiff.yaml changed: the new app spec goes to the agent (one restart
   * there when it differs). A broken file is a problem and the last good
   * configuration stays.
   */
  private async reloadConfig(): Promise<void> {
    let next: ProjectConfig;
    try {
      next = await loadProjectConfig(this.root);
    } catch (err) {
      const e = asSkiffError(err);
      this.problems.update([], [{ path: PROJECT_FILE, code: e.code, message: e.message }]);
      this.report([{ path: PROJECT_FILE, code: e.code, message: e.message }]);
      return;
    }
    this.problems.update([PROJECT_FILE], []);
    if (next.target !== this.config.target && next.target !== this.target) {
      this.opts.log('warn', `session ${this.id}: ${PROJECT_FILE} now names target "${next.target}"; this session keeps "${this.target}" until it is stopped`);
    }
    this.config = next;
    // Sent with the batch that carries skiff.yaml (sendPlanned); the agent restarts the app once if
    // the spec differs, and does nothing if it does not.
    this.specToSend = toAppConfig(next);
  }

  private async sendSpecAlone(spec: AppSpec): Promise<void> {
    await this.client?.sendAppSpec(spec).catch((err: unknown) => {
      const e = asSkiffError(err);
      this.report([{ path: PROJECT_FILE, code: e.code, message: e.message }]);
    });
  }

  // ---- bookkeeping -------------------------------------------------------------

  private report(problems: readonly Problem[]): void {
    for (const p of problems) this.fanout.emit(SessionEvent.PROBLEM, p);
  }

  private async saveIndexNow(): Promise<void> {
    if (!this.engine) return;
    try {
      const index = this.engine.confirmedIndex(this.unconfirmed);
      // Both read the entries now: they may be the live tree's map, which a save arriving during the write changes.
      const saving = saveIndex(this.root, index.entries, this.hasher.h64, index.digest);
      this.engine.pruneChunks(index.entries);
      await saving;
    } catch (err) {
      this.opts.log('warn', `session ${this.id}: could not save the index: ${asSkiffError(err).message}`);
    }
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
    this.reconnect.cancel();
    this.rewatch.cancel();
    await this.watcher?.close().catch(() => undefined);
    await this.queue.run(async () => undefined).catch(() => undefined);
    if (this.indexSave.cancel()) await this.saveIndexNow();
    await this.client?.close().catch(() => undefined);
    await this.driver?.stop().catch(() => undefined);
    this.fanout.emit(SessionEvent.AGENT, { state: AgentState.STOPPED });
    if (this.state === SessionState.FAILED) return;
    this.state = SessionState.STOPPED;
    this.fanout.emit(SessionEvent.STATE, { state: SessionState.STOPPED });
  }

  /** Stops, then removes everything the target made for the project; one line per thing removed. */
  async delete(): Promise<string[]> {
    await this.stop();
    return (await this.driver?.delete()) ?? [];
  }

  status(): SessionStatus {
    const agentState = this.fanout.last(SessionEvent.AGENT);
    return {
      id: this.id,
      name: this.config?.name ?? this.root,
      root: this.root,
      target: this.target,
      state: this.state,
      agent: { state: agentState?.state ?? AgentState.STARTING, url: this.place?.url, root: this.place?.root, pid: this.place?.pid, description: this.place?.description },
      app: this.fanout.last(SessionEvent.APP_STATUS) ?? null,
      urls: this.place?.appUrls ?? [],
      entries: this.engine?.local.size ?? 0,
      digest: this.engine?.local.digest ?? '',
      inSync: !this.halted && (this.lastSync?.inSync ?? false),
      lastSync: this.lastSync,
      watcher: this.opts.poll ? 'poll' : 'native',
      clients: this.fanout.size,
      startedAt: this.startedAt,
      error: this.error,
      problems: this.problems.list(),
      problemCount: this.problems.size,
    };
  }
}
