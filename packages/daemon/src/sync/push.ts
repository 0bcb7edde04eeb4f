import { resolve } from 'node:path';
import { ErrorCode, SkiffError, asSkiffError, loadHasher, type Problem } from '@skiff/protocol';
import { loadIgnoreMatcher } from '../ignore/index.ts';
import { loadIndex, saveIndex, scanTree, type IndexEntry } from '../index/index.ts';
import type { AgentClient } from '../transport/agent-client.ts';
import type { BatchProgress } from './send-batch.ts';
import { syncTree } from './sync-tree.ts';

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
}

export interface PushResult {
  uploaded: number;
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
    const hasher = await loadHasher();
    const [matcher, saved] = await Promise.all([loadIgnoreMatcher(root), loadIndex(root)]);
    if (saved.warning) opts.onWarning?.(saved.warning);
    const scan = await scanTree(root, { matcher, previous: saved.entries });
    checkDeadline();
    client = await opts.connect();
    checkDeadline();
    const result = await syncTree({ client, root, local: scan.entries, hasher, batch: 1, onProgress: opts.onProgress });
    const confirmed = new Map<string, IndexEntry>();
    for (const [path, entry] of result.tree) {
      if (!result.unconfirmed.has(path)) confirmed.set(path, entry as IndexEntry);
    }
    try {
      await saveIndex(root, confirmed);
    } catch (err) {
      opts.onWarning?.(new SkiffError(ErrorCode.IO, `could not save ${root}/.skiff/index.json: ${asSkiffError(err).message}`, { cause: err }));
    }
    return {
      uploaded: result.uploaded,
      deleted: result.deleted,
      bytes: result.bytes,
      durationMs: Math.round(performance.now() - started),
      entries: scan.entries.size,
      hashed: scan.hashed,
      inSync: result.inSync,
      digest: result.agentDigest,
      problems: [...scan.problems, ...result.problems],
    };
  }
}
