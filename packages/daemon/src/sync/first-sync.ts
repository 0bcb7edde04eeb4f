import { Capability, MAX_CHUNK_BYTES, type Hasher } from '@skiff/protocol';
import { carryDigest } from '../core/tree-state.ts';
import type { IgnoreMatcher } from '../ignore/index.ts';
import type { IndexEntry, ScanResult } from '../index/entry.ts';
import { hashDeferred } from '../index/hash-deferred.ts';
import { scanTree } from '../index/scan.ts';
import type { LoadedIndex } from '../index/store.ts';
import type { AgentClient } from '../transport/agent-client.ts';
import { Handover } from '../util/handover.ts';
import type { SendOptions, SyncEngine, SyncOutcome } from './engine.ts';
import type { BatchProgress } from './send-batch.ts';

/**
 * The start of a push and of a session, in one place: the scan walks while
 * the agent starts, and the agent's hello decides how the first sync goes.
 *
 * - An agent that holds nothing gets the tree while the walk goes on
 *   (SyncEngine.syncIntoEmptyAgent): no file needs hashing before it is sent.
 * - Any other waits for the whole scan. Files the index could not vouch for
 *   are hashed first, except a large one whose last version's chunks are
 *   kept: it will likely go as a delta, hashed as it is sent
 *   (send-spans.ts). The project's tree is seeded with the index's digest
 *   carried over what the scan found changed, so its lines are not hashed
 *   again, and the sync compares digests before anything else.
 */

/** A scan under way that hands its entries over as it walks. */
export interface ScanUnderWay {
  /** The entries, directory by directory; ends with the scan, or throws its failure. */
  parts: Handover<IndexEntry[]>;
  result: Promise<ScanResult>;
}

/**
 * Starts a scan (deferring hashes) of `root` against the saved index.
 * `connected` says whether the agent is connected yet: until it is, the
 * walk leaves the pool's threads alone (ScanOptions.listAhead), since an
 * agent starting on this machine needs the cores for its own scan.
 * `nativeWalk`: see ScanOptions.nativeWalk (a push of its own only).
 */
export function startScan(root: string, saved: LoadedIndex, hasher: Hasher, matcher: IgnoreMatcher, connected: () => boolean, nativeWalk = false): ScanUnderWay {
  const parts = new Handover<IndexEntry[]>();
  const result = scanTree(root, { matcher, previous: saved.entries, hasher, deferHash: true, onEntries: (part) => parts.push(part), listAhead: connected, nativeWalk });
  result.then(
    () => parts.end(),
    (err) => parts.fail(err),
  );
  return { parts, result };
}

/** How the first sync runs, once the agent said hello. */
export interface FirstSync {
  /** The sync starts while the scan still walks. */
  streaming: boolean;
  run(onProgress: ((p: BatchProgress) => void) | undefined, opts: SendOptions): Promise<SyncOutcome>;
  /** Files hashed before the sync (a streamed sync hashes what it sends instead). */
  hashed: number;
}

/**
 * Decides the first sync for `engine` (made without entries, and told of
 * `client`'s hello) and, for an agent that holds something, waits for the
 * scan and prepares the project's tree.
 */
export async function prepareFirstSync(engine: SyncEngine, client: AgentClient, scan: ScanUnderWay, saved: LoadedIndex, root: string, hasher: Hasher): Promise<FirstSync> {
  if (client.hello.entries === 0) {
    return { streaming: true, hashed: 0, run: (onProgress, opts) => engine.syncIntoEmptyAgent(client, scan.parts, onProgress, opts) };
  }
  // Nobody streams the parts: the scan stops handing them over.
  scan.parts.end();
  const found = await scan.result;
  const spans = client.hello.capabilities?.includes(Capability.SPANS) ?? false;
  const deltaLikely = (e: IndexEntry) => spans && e.size > MAX_CHUNK_BYTES && engine.chunks.has(saved.entries.get(e.path)?.hash ?? '');
  const hashed = found.hashed + (found.deferred === 0 ? 0 : await hashDeferred(root, found.entries, hasher, deltaLikely));
  if (saved.digest === undefined) for (const entry of found.entries.values()) engine.local.set(entry);
  else engine.local.seed(found.entries, carryDigest(hasher.h64, saved.entries, saved.digest, found.entries, found.kept));
  return { streaming: false, hashed, run: (onProgress, opts) => engine.syncAll(client, onProgress, opts) };
}
