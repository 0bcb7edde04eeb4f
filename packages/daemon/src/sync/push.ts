import { resolve } from 'node:path';
import { ErrorCode, SkiffError, asSkiffError, loadHasher, type AppSpec, type Hasher, type Problem } from '@skiff/protocol';
import { createIgnoreMatcher } from '../ignore/index.ts';
import { loadIndex, saveIndex } from '../index/index.ts';
import { SyncEngine } from './engine.ts';
import { prepareFirstSync, startScan } from './first-sync.ts';
import type { AgentClient } from '../transport/agent-client.ts';
import type { BatchProgress } from './send-batch.ts';

/**
 * A one-shot push: scan the project (re-hashing only what changed since the
 * saved index), connect, sync, and save the index once the agent confirmed
 * the batch. The whole push is bounded by `timeoutMs`.
 */
export interface PushOptions {
  dir: string;
  /** Opens the connection to the agent (and starts it, for a managed target). */
  connect(): Promise<AgentClient>;
  timeoutMs: number;
  /** Where the timeout came from, to name it in the error. */
  timeoutSource?: string;
  onProgress?(progress: BatchProgress): void;
  onWarning?(warning: SkiffError): void;
  /** Sync even when the plan deletes (nearly) all the agent holds. */
  force?: boolean;
  /** The app for the agent to run after the sync (a container target's agent keeps running it after the push). */
  appSpec?: AppSpec;
  /** Told when the scan is done (the connection is opened at the same time, see work()); for timings. */
  onScanned?(): void;
}

export interface PushResult {
  uploaded: number;
  /** Files placed from content the agent already held (moves): no bytes sent. */
  copied: number;
  deleted: number;
  bytes: number;
  durationMs: number;
  /** Entries in the project tree after ignore rules. */
  entries: number;
  /** Files hashed by the scan (the others kept their hash from the index). */
  hashed: number;
  inSync: boolean;
  digest: string;
  problems: Problem[];
}

export async function runPush(opts: PushOptions): Promise<PushResult> {
  const started = performance.now();
  let client: AgentClient | undefined;
  let timedOut: SkiffError | undefined;
  const source = opts.timeoutSource && opts.timeoutSource !== 'default' ? ` (set by ${opts.timeoutSource})` : '';
  const checkDeadline = () => {
    if (timedOut) throw timedOut;
  };
  // On timeout the connection is closed, which fails whatever the work awaits;
  // the work is then awaited too, so nothing it started (an agent, a socket)
  // outlives the push.
  const timer = setTimeout(() => {
    timedOut = new SkiffError(ErrorCode.TIMEOUT, `the push did not finish within ${opts.timeoutMs} ms${source}; raise SKIFF_PUSH_TIMEOUT, e.g. SKIFF_PUSH_TIMEOUT=30m`);
    void client?.close();
  }, opts.timeoutMs);
  try {
    const result = await work();
    checkDeadline();
    return result;
  } catch (err) {
    throw timedOut ?? err;
  } finally {
    clearTimeout(timer);
    await client?.close().catch(() => undefined);
  }

  async function work(): Promise<PushResult> {
    const root = resolve(opts.dir);
    // The agent starts (a local one is a new process that verifies its root)
    // while this side loads its index and scans: the two take about as long,
    // on two cores at once.
    const connecting = opts.connect().then((c) => (client = c));
    connecting.catch(() => undefined); // awaited below, or abandoned with the scan's own error
    let saved: Awaited<ReturnType<typeof loadIndex>>;
    let hasher: Hasher;
    try {
      hasher = await loadHasher();
      saved = await loadIndex(root, hasher.h64);
      if (saved.warning) opts.onWarning?.(saved.warning);
    } catch (err) {
      // Nothing started for this push may outlive it: the connection is closed by the caller's finally.
      await connecting.catch(() => undefined);
      throw err;
    }
    // The scan reads every ignore file as it walks (no separate pass for the
    // rules) and leaves unread what the index cannot vouch for; an empty agent
    // gets what it finds while the walk goes on (first-sync.ts).
    const matcher = createIgnoreMatcher();
    // A process of its own, with no socket to answer meanwhile: the walk may be one call into the addon.
    const scanning = startScan(root, saved, hasher, matcher, () => client !== undefined, true);
    scanning.result.then(() => opts.onScanned?.(), () => undefined);
    try {
      client = await connecting;
    } catch (err) {
      await scanning.result.catch(() => undefined);
      throw err;
    }
    checkDeadline();
    if (opts.appSpec) await client.sendAppSpec(opts.appSpec);
    checkDeadline();
    const engine = new SyncEngine(root, hasher, [], { isIgnored: (path, isDir) => matcher.isIgnored(path, isDir) });
    engine.agentConnected(client.hello);
    const first = await prepareFirstSync(engine, client, scanning, saved, root, hasher);
    checkDeadline();
    const result = await first.run(opts.onProgress, { force: opts.force });
    const scan = await scanning.result;
    const hashed = first.hashed;
    const entries = scan.entries.size;
    // An index that would be written back unchanged is left as it is: nothing
    // re-hashed, the same paths, nothing sent.
    const unchanged = hashed === 0 && entries === saved.entries.size && result.uploaded === 0 && result.deleted === 0 && result.inSync;
    try {
      if (!unchanged) {
        const index = engine.confirmedIndex(result.unconfirmed);
        await saveIndex(root, index.entries, hasher.h64, index.digest);
        engine.pruneChunks(index.entries);
      }
    } catch (err) {
      opts.onWarning?.(new SkiffError(ErrorCode.IO, `could not save ${root}/.skiff/index.json: ${asSkiffError(err).message}`, { cause: err }));
    }
    return {
      uploaded: result.uploaded,
      copied: result.copied,
      deleted: result.deleted,
      bytes: result.bytes,
      durationMs: Math.round(performance.now() - started),
      entries,
      hashed,
      inSync: result.inSync,
      digest: engine.local.digest,
      problems: [...scan.problems, ...result.problems],
    };
  }
}
