import { readFileSync, readlinkSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AppState,
  Capability,
  EntryType,
  FramePacker,
  Kind,
  LogStream,
  MAX_CHUNK_BYTES,
  decodeInventoryPage,
  encodeFrame,
  loadHasher,
  manifestDigest,
  type AppStatusHeader,
  type Entry,
} from '@skiff/protocol';
import { startAgent, type AppEvents, type AppHooks, type CommittedBatch } from '@skiff/agent';
import { TestClient, startTestAgent, tempsUnder, type TestAgent } from './agent-harness.ts';

/** A normal first sync into an empty root, as the daemon does it, checked on disk and by digest. */
const hasher = await loadHasher();
const enc = new TextEncoder();
const MTIME = 1_700_000_000_000;

/** Records what the receiver tells the supervisor, and lets a test publish app events. */
class RecordingHooks implements AppHooks {
  readonly batches: CommittedBatch[] = [];
  readonly subscribers = new Set<AppEvents>();
  status: AppStatusHeader = { state: AppState.RUNNING, pid: 4242, restarts: 0, since: MTIME };
  committed(batch: CommittedBatch): void {
    this.batches.push(batch);
  }
  subscribe(events: AppEvents): () => void {
    this.subscribers.add(events);
    events.status(this.status);
    return () => this.subscribers.delete(events);
  }
}

interface SourceFile {
  entry: Entry;
  content?: Uint8Array;
}

function sourceTree(): SourceFile[] {
  const big = new Uint8Array(3 * 1024 * 1024 + 4321);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 12)) & 0xff;
  const file = (path: string, text: string | Uint8Array, mode = 0o644): SourceFile => {
    const content = typeof text === 'string' ? enc.encode(text) : text;
    return { entry: { path, type: EntryType.FILE, size: content.length, mtime: MTIME, mode, hash: hasher.h64Bytes(content) }, content };
  };
  const dir = (path: string, mode = 0o755): SourceFile => ({ entry: { path, type: EntryType.DIR, size: 0, mtime: MTIME, mode, hash: '' } });
  return [
    dir('src'),
    dir('src/lib'),
    dir('empty'),
    dir('bin'),
    file('package.json', '{"name":"app"}\n'),
    file('src/index.js', 'console.log("hi")\n'),
    file('src/lib/util.js', 'export const x = 1;\n'),
    file('src/lib/empty.txt', ''),
    file('assets.bin', big),
    file('bin/start.sh', '#!/bin/sh\nexec node src/index.js\n', 0o755),
    { entry: { path: 'current', type: EntryType.SYMLINK, size: 3, mtime: MTIME, mode: 0o777, hash: '', target: 'src' } },
  ];
}

/** Encodes the batch as the daemon would: dirs first, files chunked, links, packed into messages. */
function batchMessages(batch: number, tree: SourceFile[]): Uint8Array[] {
  const packer = new FramePacker();
  const out: Uint8Array[] = [];
  const push = (frame: Uint8Array) => {
    const m = packer.push(frame);
    if (m) out.push(m);
  };
  push(encodeFrame(Kind.BATCH_BEGIN, { batch, ops: tree.length, bytes: 0 }));
  for (const { entry: e, content } of tree) {
    if (e.type === EntryType.DIR) push(encodeFrame(Kind.MKDIR, { batch, path: e.path, mode: e.mode }));
    else if (e.type === EntryType.SYMLINK) push(encodeFrame(Kind.SYMLINK, { batch, path: e.path, target: e.target!, mtime: e.mtime }));
    else {
      let offset = 0;
      do {
        const part = content!.subarray(offset, offset + MAX_CHUNK_BYTES);
        push(encodeFrame(Kind.FILE, { batch, path: e.path, size: e.size, mode: e.mode, mtime: e.mtime, hash: e.hash, offset }, part));
        offset += part.length;
      } while (offset < e.size);
    }
  }
  push(encodeFrame(Kind.COMMIT, { batch }));
  const rest = packer.flush();
  if (rest) out.push(rest);
  return out;
}

let t: TestAgent | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe('a first sync', () => {
  it('applies files, a chunked 3 MiB file, a symlink, an empty dir and an executable; the digests agree', async () => {
    const hooks = new RecordingHooks();
    t = await startTestAgent({ hooks });
    const tree = sourceTree();
    const expectedDigest = manifestDigest(tree.map((s) => s.entry), hasher.h64);

    const c = await TestClient.open(t.url, t.token);
    const hello = await c.next(Kind.HELLO);
    expect(hello.header).toMatchObject({ root: t.root, entries: 0, digest: '0000000000000000' });
    expect(hello.header.capabilities).toEqual(expect.arrayContaining([Capability.ATOMIC_WRITE, Capability.SYMLINKS, Capability.SUPERVISOR]));
    c.send(encodeFrame(Kind.HELLO, { protocol: hello.header.protocol, software: 'skiffd/test' }));

    // The current app status arrives once the daemon said hello; logs follow.
    expect((await c.next(Kind.APP_STATUS)).header).toMatchObject({ state: AppState.RUNNING, pid: 4242 });
    for (const s of hooks.subscribers) s.log(LogStream.STDOUT, enc.encode('listening on 3000\n'), MTIME);
    const log = await c.next(Kind.LOG);
    expect(log.header).toEqual({ stream: LogStream.STDOUT, ts: MTIME });
    expect(new TextDecoder().decode(log.payload)).toBe('listening on 3000\n');

    c.send(...batchMessages(1, tree));
    const applied = await c.next(Kind.APPLIED);
    expect(applied.header).toMatchObject({ batch: 1, problems: [], written: tree.length, deleted: 0, entries: tree.length });
    expect(applied.header.digest).toBe(expectedDigest);
    expect(applied.header.bytes).toBe(tree.reduce((n, s) => n + (s.content?.length ?? 0), 0));
    expect(hooks.batches).toEqual([{ batch: 1, paths: expect.arrayContaining(tree.map((s) => s.entry.path)) }]);

    // On disk: contents, modes, the link, the empty dir, and no temporary file.
    for (const { entry: e, content } of tree) {
      const abs = join(t.root, e.path);
      if (e.type === EntryType.FILE) {
        expect(Buffer.from(readFileSync(abs)).equals(Buffer.from(content!))).toBe(true);
        expect(statSync(abs).mode & 0o777).toBe(e.mode);
        expect(Math.round(statSync(abs).mtimeMs)).toBe(MTIME);
      } else if (e.type === EntryType.SYMLINK) expect(readlinkSync(abs)).toBe(e.target);
      else expect(statSync(abs).isDirectory()).toBe(true);
    }
    expect(readdirSync(join(t.root, 'empty'))).toEqual([]);
    expect(tempsUnder(t.root)).toEqual([]);

    // The inventory describes the same tree.
    c.send(encodeFrame(Kind.INVENTORY_REQUEST, {}));
    const pages: Entry[] = [];
    for (;;) {
      const page = await c.next(Kind.INVENTORY);
      pages.push(...decodeInventoryPage(page.payload));
      if (page.header.last) break;
    }
    const strip = (es: Entry[]) => es.map(({ mtime: _m, ...rest }) => rest).sort((a, b) => a.path.localeCompare(b.path));
    expect(strip(pages)).toEqual(strip(tree.map((s) => s.entry)));

    // An empty commit (verify only) still reaches the supervisor.
    c.send(encodeFrame(Kind.BATCH_BEGIN, { batch: 2, ops: 0, bytes: 0 }), encodeFrame(Kind.COMMIT, { batch: 2 }));
    expect((await c.next(Kind.APPLIED)).header).toMatchObject({ batch: 2, written: 0, digest: expectedDigest });
    expect(hooks.batches[1]).toEqual({ batch: 2, paths: [] });
    await c.close();
    await c.until('unsubscribe', () => hooks.subscribers.size === 0);

    // A reconnect reports the same digest without a rescan...
    const again = await TestClient.open(t.url, t.token);
    expect((await again.next(Kind.HELLO)).header).toMatchObject({ digest: expectedDigest, entries: tree.length });
    await again.close();

    // ...and a restarted agent scanning the root from disk agrees.
    const restarted = await startAgent({ root: t.root, token: t.token, port: 0, log: () => {} });
    try {
      const fresh = await TestClient.open(`ws://${restarted.host}:${restarted.port}/`, t.token);
      expect((await fresh.next(Kind.HELLO)).header).toMatchObject({ digest: expectedDigest, entries: tree.length });
      await fresh.close();
    } finally {
      await restarted.close();
    }
  });

  it('turns per-path failures into problems while the rest of the batch applies', async () => {
    t = await startTestAgent();
    const c = await TestClient.ready(t.url, t.token);
    const body = enc.encode('x');
    const file = (path: string) =>
      encodeFrame(Kind.FILE, { batch: 5, path, size: 1, mode: 0o644, mtime: MTIME, hash: hasher.h64Bytes(body), offset: 0 }, body);
    c.send(
      encodeFrame(Kind.BATCH_BEGIN, { batch: 5, ops: 3, bytes: 3 }),
      file('a.txt'),
      file('a.txt/under-a-file.txt'),
      file('.skiff-tmp-reserved'),
      file('b.txt'),
      encodeFrame(Kind.COMMIT, { batch: 5 }),
    );
    const applied = await c.next(Kind.APPLIED);
    // A file in a parent position is replaced by the directory the path needs: the incoming entry wins.
    expect(applied.header.problems.map((p) => p.path)).toEqual(['.skiff-tmp-reserved']);
    expect(statSync(join(t.root, 'a.txt')).isDirectory()).toBe(true);
    expect(readFileSync(join(t.root, 'b.txt'), 'utf8')).toBe('x');
    await c.close();
  });
});
