import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient, runPush, type PushResult } from '@skiff/daemon';
import { EntryType, loadHasher } from '@skiff/protocol';
import { scanTree, type IndexEntry } from '../packages/daemon/src/index/index.ts';
import { SyncEngine } from '../packages/daemon/src/sync/engine.ts';
import { Handover } from '../packages/daemon/src/util/handover.ts';
import { FaultAgent } from './support/fault-agent.ts';
import { generateProject, type GeneratedTree } from './support/gen-tree.ts';
import { compareTrees, listTree } from './support/tree-compare.ts';

/**
 * A first sync into an empty agent starts sending while the scan still
 * walks (sync/push.ts, SyncEngine.syncIntoEmptyAgent): the agent writes
 * while the project is being listed. Through the real pipeline into a real
 * agent: files go out before the walk ends, the agent ends up with the
 * project byte for byte (ignored files left out, the large file, the
 * symlink and the empty directories in), and the index saved is the whole
 * tree: the next push sends and hashes nothing. A new, empty agent for a
 * project that already has its index gets the whole tree the same way.
 */
const FILES = 6000;
const PUSH_TIMEOUT_MS = 60_000;
const skipIndex = (rel: string) => rel === '.skiff' || rel.startsWith('.skiff/');

describe('a first sync streams the scan', () => {
  let base: string;
  let project: string;
  let tree: GeneratedTree;
  /** What the agent must hold: the project less its index and what the rules ignore. */
  const synced = (rel: string) => skipIndex(rel) || tree.ignored.includes(rel);
  let fileCount = 0;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'skiff-stream-'));
    project = join(base, 'project');
    tree = await generateProject(project, FILES, 7);
    fileCount = [...(await listTree(project, synced)).values()].filter((d) => d.startsWith('file')).length;
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  /** A push into a fresh agent on `root`, connected before the push starts, counting files sent before the scan ended. */
  async function pushInto(root: string): Promise<{ result: PushResult; sentBeforeScanEnd: number; agent: FaultAgent }> {
    const agent = await FaultAgent.start(root);
    const client = await AgentClient.connect(agent.url, agent.token);
    let sent = 0;
    let sentBeforeScanEnd = -1;
    const result = await runPush({
      dir: project,
      connect: async () => client,
      timeoutMs: PUSH_TIMEOUT_MS,
      onProgress: (p) => (sent = p.files),
      onScanned: () => (sentBeforeScanEnd = sent),
    });
    return { result, sentBeforeScanEnd, agent };
  }

  it('sends while the walk goes on, and the agent gets the project whole', async () => {
    const root = join(base, 'agent-1');
    const { result, sentBeforeScanEnd, agent } = await pushInto(root);
    try {
      expect(sentBeforeScanEnd).toBeGreaterThan(0);
      expect(sentBeforeScanEnd).toBeLessThan(result.uploaded);
      expect(result.problems).toEqual([]);
      expect(result.inSync).toBe(true);
      expect(result.uploaded).toBe(fileCount);
      expect(await compareTrees(project, root, synced)).toEqual([]);
      for (const ignored of tree.ignored) expect(existsSync(join(root, ignored)), ignored).toBe(false);

      // The index saved holds the whole tree with its hashes: nothing to hash or send again.
      const again = await runPush({ dir: project, connect: () => AgentClient.connect(agent.url, agent.token), timeoutMs: PUSH_TIMEOUT_MS });
      expect([again.uploaded, again.hashed, again.deleted, again.inSync]).toEqual([0, 0, 0, true]);
      expect(again.digest).toBe(result.digest);
    } finally {
      await agent.handle.close();
    }
  });

  /** A fresh agent on `root`, connected, and an engine for the project told of its hello; both closed after `use`. */
  async function withEngine(root: string, use: (engine: SyncEngine, client: AgentClient) => Promise<void>): Promise<void> {
    const agent = await FaultAgent.start(root);
    const client = await AgentClient.connect(agent.url, agent.token);
    try {
      const engine = new SyncEngine(project, await loadHasher(), []);
      engine.agentConnected(client.hello);
      await use(engine, client);
    } finally {
      await client.close();
      await agent.handle.close();
    }
  }

  it('pictures the agent as the project after it, and the two part at the next change', async () => {
    await withEngine(join(base, 'agent-3'), async (engine, client) => {
      const parts = new Handover<IndexEntry[]>();
      const scanning = scanTree(project, { deferHash: true, onEntries: (part) => void parts.push(part) }).then(() => parts.end());
      const outcome = await engine.syncIntoEmptyAgent(client, parts);
      await scanning;
      expect([outcome.inSync, outcome.problems]).toEqual([true, []]);
      // The agent's picture is the project's tree: nothing to send for any path.
      const paths = [...engine.local.entries.keys()];
      expect(engine.planPaths(paths)).toEqual([]);
      // A change to the project's tree is not the agent's: it plans a file to send.
      const some = engine.local.entries.get(paths.find((p) => engine.local.get(p)?.type === EntryType.FILE)!)!;
      engine.local.set({ ...some, size: some.size + 1, hash: '0123456789abcdef' });
      expect(engine.planPaths([some.path])).toMatchObject([{ kind: 'file', entry: { path: some.path, hash: '0123456789abcdef' } }]);
    });
  });

  it('knows a file it could not send as scanned, and the agent without it', async () => {
    await withEngine(join(base, 'agent-4'), async (engine, client) => {
      const scan = await scanTree(project, { deferHash: true });
      // A file the scan saw and that is gone when its turn to be read comes: left out of the batch quietly.
      const ghost: IndexEntry = { path: 'ghost.txt', type: EntryType.FILE, size: 5, mtime: 1, mode: 0o644, hash: '', ino: 1 };
      const parts = new Handover<IndexEntry[]>();
      parts.push([...scan.entries.values()]);
      parts.push([ghost]);
      parts.end();
      const outcome = await engine.syncIntoEmptyAgent(client, parts);
      expect(outcome.inSync).toBe(false);
      expect(engine.local.get('ghost.txt')).toBe(ghost);
      expect(engine.local.size).toBe(scan.entries.size + 1);
      expect(engine.planPaths(['ghost.txt'])).toMatchObject([{ kind: 'file', entry: { path: 'ghost.txt' } }]);
      expect(engine.planPaths([...scan.entries.keys()])).toEqual([]);
    });
  });

  it('a new empty agent for a project with its index gets the whole tree too', async () => {
    const root = join(base, 'agent-2');
    const { result, agent } = await pushInto(root);
    try {
      expect([result.uploaded, result.inSync]).toEqual([fileCount, true]);
      expect(await compareTrees(project, root, synced)).toEqual([]);
    } finally {
      await agent.handle.close();
    }
  });
});
