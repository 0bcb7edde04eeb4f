import { lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Kind, encodeFrame, loadHasher, type AppliedHeader, type FileHeader, type Hasher } from '@skiff/protocol';
import { addonCandidates } from '../packages/agent/src/init/addon.ts';
import { realFs } from '../packages/agent/src/apply/fs-ops.ts';
import { loadStagedFiles } from '../packages/agent/src/native-fs/staged-files.ts';
import { TestClient, concat, rawFrame, snapshot, startTestAgent, tempsUnder, type TestAgent } from './agent-harness.ts';
import { walkNoFollow } from './support/tree-snapshot.ts';

/*
 * A first sync's whole small files are written by the addon when it is there
 * (apply/fast-files.ts); every other frame, and every file the addon cannot
 * create as new under real directories, goes through Batch as before. Two
 * real agents get the same messages over real sockets: one as it runs, one
 * whose filesystem calls are a copy of Node's (the addon is then never
 * used: Batch.nativeStage). Their trees (content, modes, mtimes, links),
 * their APPLIED (counts, problems, digest) and the errors that end a
 * connection must be the same, byte for byte.
 */
const haveAddon = loadStagedFiles(addonCandidates()) !== null;

let hasher: Hasher;
beforeAll(async () => {
  hasher = await loadHasher();
});

const agents: TestAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.cleanup();
});

const enc = new TextEncoder();
const MTIME = 1_700_000_000_123.456;

function file(path: string, text: string, over: Partial<FileHeader> = {}): Uint8Array {
  const data = enc.encode(text);
  return encodeFrame(Kind.FILE, { batch: 1, path, size: data.length, mode: 0o644, mtime: MTIME, hash: hasher.h64Bytes(data), offset: 0, ...over }, data);
}

interface Outcome {
  applied: AppliedHeader[];
  error: { code: string; path?: string } | null;
  tree: Record<string, string>;
  mtimes: Record<string, number>;
  temps: string[];
}

/** Sends `messages` to a fresh agent (the addon's way or Node's calls only) after `prepare`d its root; what it made of them. */
async function run(nativeWay: boolean, messages: Uint8Array[], commits: number, prepare?: (root: string) => void): Promise<Outcome> {
  const t = await startTestAgent(nativeWay ? {} : { fs: { ...realFs } });
  agents.push(t);
  prepare?.(t.root);
  const c = await TestClient.ready(t.url, t.token);
  c.send(...messages);
  const applied: AppliedHeader[] = [];
  let error: Outcome['error'] = null;
  for (let i = 0; i < commits; i++) applied.push((await c.next(Kind.APPLIED)).header);
  if (commits === 0) {
    const e = (await c.next(Kind.ERROR)).header;
    error = { code: e.code, path: e.path };
    await c.waitClosed();
  } else {
    await c.close();
  }
  const mtimes: Record<string, number> = {};
  // Files only: directories made by the batch, and what the test planted, carry the time they were made.
  for (const rel of walkNoFollow(t.root)) if (lstatSync(join(t.root, rel)).isFile()) mtimes[rel] = lstatSync(join(t.root, rel)).mtimeMs;
  return { applied, error, tree: snapshot(t.root), mtimes, temps: tempsUnder(t.root) };
}

async function bothWays(messages: Uint8Array[], commits: number, prepare?: (root: string) => void): Promise<Outcome> {
  const native = await run(true, messages, commits, prepare);
  const plain = await run(false, messages, commits, prepare);
  expect(native).toEqual(plain);
  return native;
}

describe.skipIf(!haveAddon)('whole files written by the addon in a first sync', () => {
  it('make the same tree, APPLIED and digest as Batch makes them, whatever stands in the way', async () => {
    const big = 'B'.repeat(3 * 1024 * 1024 + 5);
    const bigData = enc.encode(big);
    const bigHeader = { batch: 1, path: 'd/big', size: bigData.length, mode: 0o600, mtime: MTIME, hash: hasher.h64Bytes(bigData) };
    const messages = [
      concat(
        encodeFrame(Kind.BATCH_BEGIN, { batch: 1, ops: 0, bytes: 0 }),
        encodeFrame(Kind.MKDIR, { batch: 1, path: 'd', mode: 0o755 }),
        encodeFrame(Kind.MKDIR, { batch: 1, path: 'ro', mode: 0o555 }),
        file('d/a', 'first a'),
        file('d/x', 'exec', { mode: 0o755 }),
        file('d/odd', 'odd mode', { mode: 0o4711 }),
        file('empty', ''),
        // A parent no MKDIR made: Batch makes it.
        file('nodir/deep/f', 'made its parents'),
        // The same path again: the addon finds it taken, Batch replaces it.
        file('d/a', 'second a'),
        file('ro/inside', 'in a directory made read-only at commit'),
      ),
      concat(
        encodeFrame(Kind.SYMLINK, { batch: 1, path: 'l', target: 'd', mtime: MTIME }),
        // Through a link: a problem, never a write through it.
        file('l/through', 'never'),
        // A file where a directory is needed: replaced by the directory.
        file('plain', 'a file'),
        file('plain/child', 'under what was a file'),
        // Reserved, non-ASCII, a header of another layout: Batch's way.
        file('.skiff-tmp-reserved', 'refused'),
        file('é/ü', 'unicode'),
        rawFrame(Kind.FILE, ` {"batch":1,"path":"spaced","size":1,"mode":420,"mtime":${MTIME},"hash":"${hasher.h64Bytes(enc.encode('s'))}","offset":0}`, enc.encode('s')),
        // A file in pieces, then a small one after it.
        encodeFrame(Kind.FILE, { ...bigHeader, offset: 0 }, bigData.subarray(0, 1024 * 1024)),
      ),
      encodeFrame(Kind.FILE, { ...bigHeader, offset: 1024 * 1024 }, bigData.subarray(1024 * 1024, 2 * 1024 * 1024)),
      encodeFrame(Kind.FILE, { ...bigHeader, offset: 2 * 1024 * 1024 }, bigData.subarray(2 * 1024 * 1024, 3 * 1024 * 1024)),
      concat(
        encodeFrame(Kind.FILE, { ...bigHeader, offset: 3 * 1024 * 1024 }, bigData.subarray(3 * 1024 * 1024)),
        file('d/last', 'last'),
        encodeFrame(Kind.COMMIT, { batch: 1 }),
        // A second batch: the root holds something now, nothing is staged.
        encodeFrame(Kind.BATCH_BEGIN, { batch: 2, ops: 0, bytes: 0 }),
        file('d/a', 'third a', { batch: 2 }),
        file('later', 'later', { batch: 2 }),
        encodeFrame(Kind.COMMIT, { batch: 2 }),
      ),
    ];
    const out = await bothWays(messages, 2);
    expect(out.applied[0].problems.map((p) => p.path).sort()).toEqual(['.skiff-tmp-reserved', 'l/through']);
    expect(out.tree['d/a']).toBe(`file:644:${Buffer.from('third a').toString('base64')}`);
    expect(out.tree['d/odd']).toBe(`file:711:${Buffer.from('odd mode').toString('base64')}`);
    expect(out.tree['plain/child']).toBeDefined();
    expect(out.tree['d/big']).toBe(`file:600:${Buffer.from(big).toString('base64')}`);
    expect(out.mtimes['d/x']).toBeCloseTo(MTIME, 2);
    expect(out.temps).toEqual([]);
  });

  it('apply nothing from a message with a malformed frame anywhere in it, as before', async () => {
    const bad = [
      rawFrame(Kind.FILE, '{"batch":1,"path":"../escape","size":0,"mode":420,"mtime":1,"hash":"0123456789abcdef","offset":0}'),
      rawFrame(Kind.FILE, 'not json'),
      rawFrame(Kind.FILE, '{"batch":1}', new Uint8Array(0), { payload: 5 }),
      rawFrame(99, '{}'),
    ];
    for (const frame of bad) {
      const message = concat(
        encodeFrame(Kind.BATCH_BEGIN, { batch: 1, ops: 0, bytes: 0 }),
        file('a', 'a'),
        file('b', 'b'),
        encodeFrame(Kind.COMMIT, { batch: 1 }),
        frame,
      );
      const out = await bothWays([message], 0);
      expect(out.applied).toEqual([]);
      expect(out.tree).toEqual({});
    }
  });

  it('end the connection the same way for a file of a batch that is not open', async () => {
    const message = concat(encodeFrame(Kind.BATCH_BEGIN, { batch: 1, ops: 0, bytes: 0 }), file('a', 'a', { batch: 7 }));
    const out = await bothWays([message], 0);
    expect(out.error?.code).toBe('SKIFF_E_PROTOCOL_STATE');
    expect(out.tree).toEqual({});
  });

  it('write nothing under a link planted in the root before the first sync', async () => {
    const outside = join(tmpdir(), `skiff-fast-planted-${process.pid}`);
    mkdirSync(outside, { recursive: true });
    const message = concat(
      encodeFrame(Kind.BATCH_BEGIN, { batch: 1, ops: 0, bytes: 0 }),
      file('a', 'a'),
      encodeFrame(Kind.COMMIT, { batch: 1 }),
    );
    // Not empty: the batch is not staged, and the addon is not used.
    const out = await bothWays([message], 1, (root) => symlinkSync(outside, join(root, 'planted')));
    expect(out.tree).toEqual({ a: `file:644:${Buffer.from('a').toString('base64')}`, planted: `link:${outside}` });
  });
});
