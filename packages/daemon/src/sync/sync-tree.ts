import { manifestDigest, type Entry, type Hasher, type Problem } from '@skiff/protocol';
import type { AgentClient } from '../transport/agent-client.ts';
import { countOps } from './batch-ops.ts';
import { planOps } from './plan.ts';
import { sendBatch, type BatchProgress } from './send-batch.ts';

/**
 * One sync of a local tree into a connected agent: compare digests, fetch the
 * agent's inventory only when they differ, send the difference, wait for the
 * agent's APPLIED. The batch is committed even when nothing differs, because a
 * commit is what tells the agent's supervisor the tree is ready.
 */
export interface SyncTreeOptions {
  client: AgentClient;
  root: string;
  local: ReadonlyMap<string, Entry>;
  hasher: Hasher;
  batch: number;
  /** What the agent is known to hold (from an earlier confirmed batch), to skip the digest check. */
  remote?: ReadonlyMap<string, Entry>;
  /** The agent's digest as last reported (hello or applied). */
  remoteDigest?: string;
  onProgress?(progress: BatchProgress): void;
}

export interface SyncTreeResult {
  /** The local tree as the agent now holds it, entries as sent. */
  tree: Map<string, Entry>;
  uploaded: number;
  deleted: number;
  bytes: number;
  dirs: number;
  symlinks: number;
  /** True when the agent's digest after the batch equals the local tree's. */
  inSync: boolean;
  localDigest: string;
  agentDigest: string;
  problems: Problem[];
  /** Paths to leave out of the saved index (changed while read, or failed). */
  unconfirmed: Set<string>;
  /** The inventory was fetched (the digests differed). */
  inventoried: boolean;
}

export async function syncTree(opts: SyncTreeOptions): Promise<SyncTreeResult> {
  const { client, local, hasher } = opts;
  const localDigest = manifestDigest(local.values(), hasher.h64);
  const remoteDigest = opts.remoteDigest ?? client.hello.digest;
  let remote = opts.remote;
  let inventoried = false;
  if (remoteDigest === localDigest) {
    remote = local;
  } else if (remote === undefined) {
    remote = new Map((await client.inventory()).map((e) => [e.path, e]));
    inventoried = true;
  }
  const ops = planOps(remote, local);
  const counts = countOps(ops);
  const sent = await sendBatch({ client, batch: opts.batch, root: opts.root, ops, hasher, onProgress: opts.onProgress });
  const problems = [...sent.problems, ...sent.applied.problems];
  const unconfirmed = new Set<string>([...sent.stale, ...problems.map((p) => p.path)]);
  // What was read may differ from what was scanned (an edit in between): the tree
  // now on the agent is the scan overlaid with the entries as sent.
  const tree = new Map(local);
  for (const [path, entry] of sent.sent) tree.set(path, entry);
  const treeDigest = sent.sent.size === 0 ? localDigest : manifestDigest(tree.values(), hasher.h64);
  return {
    tree,
    uploaded: sent.files,
    deleted: sent.deleted,
    bytes: sent.bytes,
    dirs: counts.dirs,
    symlinks: counts.symlinks,
    inSync: sent.applied.digest === treeDigest && unconfirmed.size === 0,
    localDigest: treeDigest,
    agentDigest: sent.applied.digest,
    problems,
    unconfirmed,
    inventoried,
  };
}
