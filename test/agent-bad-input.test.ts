import { request } from 'node:http';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  Kind,
  MAX_CHUNK_BYTES,
  MAX_HEADER_BYTES,
  PROTOCOL_VERSION,
  bearer,
  encodeFrame,
  loadHasher,
  type ErrorCode as Code,
} from '@skiff/protocol';
import { CloseCode, MAX_PAYLOAD_BYTES } from '@skiff/agent';
import { TestClient, concat, rawFrame, snapshot, startTestAgent, tempsUnder, type TestAgent } from './agent-harness.ts';

/**
 * Hostile and broken input against a real agent. After every case: the
 * specific error code arrived, the agent still applies a normal batch for a
 * fresh connection, and nothing outside the root changed.
 */
const hasher = await loadHasher();
const enc = new TextEncoder();
const HASH = '0123456789abcdef';

let t: TestAgent;
let sentinelBefore: Record<string, string>;

beforeEach(async () => {
  t = await startTestAgent();
  sentinelBefore = snapshot(t.sentinel);
});

afterEach(async () => {
  // The agent is still useful, and the sentinel is untouched.
  await expectServesGoodBatch();
  expect(snapshot(t.sentinel)).toEqual(sentinelBefore);
  expect(tempsUnder(t.root)).toEqual([]);
  await t.cleanup();
});

let goodBatch = 1000;
async function expectServesGoodBatch(): Promise<void> {
  const c = await TestClient.ready(t.url, t.token);
  const batch = goodBatch++;
  const body = enc.encode(`good ${batch}`);
  c.send(
    concat(
      encodeFrame(Kind.BATCH_BEGIN, { batch, ops: 1, bytes: body.length }),
      encodeFrame(Kind.FILE, { batch, path: `good/${batch}.txt`, size: body.length, mode: 0o644, mtime: Date.now(), hash: hasher.h64Bytes(body), offset: 0 }, body),
      encodeFrame(Kind.COMMIT, { batch }),
    ),
  );
  const applied = await c.next(Kind.APPLIED);
  expect(applied.header).toMatchObject({ batch, written: 1, problems: [] });
  expect(readFileSync(join(t.root, `good/${batch}.txt`), 'utf8')).toBe(`good ${batch}`);
  await c.close();
}

/** Sends `messages` after the handshake; expects ERROR `code` and then the close `closeCode`. */
async function expectRejected(messages: Uint8Array[], code: Code, closeCode: number, handshake = true): Promise<TestClient> {
  const c = handshake ? await TestClient.ready(t.url, t.token) : await TestClient.open(t.url, t.token);
  c.send(...messages);
  const err = await c.next(Kind.ERROR);
  expect(err.header.code).toBe(code);
  expect((await c.waitClosed()).code).toBe(closeCode);
  return c;
}

function upgradeStatus(headers: Record<string, string>): Promise<{ status: number; upgraded: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: t.agent.host,
      port: t.agent.port,
      path: '/',
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': Buffer.from('0123456789abcdef').toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, upgraded: true, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, upgraded: false, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('authentication', () => {
  it.each([
    ['a wrong token', { authorization: bearer('f'.repeat(64)) }],
    ['a missing token', {}],
    ['a malformed header', { authorization: 'Basic dXNlcjpwYXNz' }],
  ])('answers %s with HTTP 401 and no upgrade', async (_name, headers) => {
    const res = await upgradeStatus(headers);
    expect(res).toMatchObject({ status: 401, upgraded: false });
    expect(res.body).not.toContain(t.token);
    expect(t.logs.join('\n')).not.toContain(t.token);
  });

  it('upgrades the same request when the token is right', async () => {
    expect(await upgradeStatus({ authorization: bearer(t.token) })).toMatchObject({ status: 101, upgraded: true });
  });

  it('never opens a websocket for a wrong token', async () => {
    // The token with its last digit changed (to another digit, whatever it was).
    const wrong = `${t.token.slice(0, -1)}${t.token.endsWith('0') ? '1' : '0'}`;
    const ws = new WebSocket(t.url, { headers: { authorization: bearer(wrong) } });
    const outcome = await new Promise<string>((resolve) => {
      ws.on('open', () => resolve('open'));
      ws.on('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
      ws.on('error', (e) => resolve(`error ${e.message}`));
    });
    expect(outcome).toBe('http 401');
    ws.terminate();
  });

  it('answers plain HTTP with 426 at the root and 404 elsewhere', async () => {
    const get = (path: string) =>
      new Promise<number>((resolve, reject) => {
        request({ host: t.agent.host, port: t.agent.port, path }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    expect(await get('/')).toBe(426);
    expect(await get('/anything')).toBe(404);
  });
});

describe('frames refused on decode', () => {
  const file = (over: Record<string, unknown>) => ({ batch: 1, path: 'ok.txt', size: 1, mode: 0o644, mtime: 1, hash: HASH, offset: 0, ...over });
  const begin = encodeFrame(Kind.BATCH_BEGIN, { batch: 1, ops: 1, bytes: 1 });

  it.each([
    ['a ".." path', { path: '../escape.txt' }, ErrorCode.PATH_TRAVERSAL],
    ['a ".." path deeper down', { path: 'a/../../escape.txt' }, ErrorCode.PATH_TRAVERSAL],
    ['an absolute path', { path: '/tmp/skiff-absolute.txt' }, ErrorCode.PATH_ABSOLUTE],
    ['a NUL in the path', { path: 'a\u0000b' }, ErrorCode.PATH_NUL],
    ['a path that is not normalised', { path: 'a//b' }, ErrorCode.PATH_NOT_NORMALISED],
  ])('refuses a FILE with %s', async (_name, over, code) => {
    await expectRejected([begin, rawFrame(Kind.FILE, file(over), enc.encode('x'))], code, CloseCode.POLICY_VIOLATION);
    expect(existsSync(join(t.base, 'escape.txt'))).toBe(false);
  });

  it('refuses a FILE with the absolute path of a file outside the root', async () => {
    const target = join(t.sentinel, 'secret.txt');
    await expectRejected([begin, rawFrame(Kind.FILE, file({ path: target }), enc.encode('x'))], ErrorCode.PATH_ABSOLUTE, CloseCode.POLICY_VIOLATION);
  });

  it('refuses a SYMLINK whose target escapes the root', async () => {
    const link = { batch: 1, path: 'evil', target: '../sentinel', mtime: 1 };
    await expectRejected([begin, rawFrame(Kind.SYMLINK, link)], ErrorCode.SYMLINK_ESCAPE, CloseCode.POLICY_VIOLATION);
    const abs = { batch: 1, path: 'evil', target: t.sentinel, mtime: 1 };
    await expectRejected([begin, rawFrame(Kind.SYMLINK, abs)], ErrorCode.SYMLINK_ESCAPE, CloseCode.POLICY_VIOLATION);
    expect(existsSync(join(t.root, 'evil'))).toBe(false);
  });

  it('refuses a header length over the limit', async () => {
    await expectRejected([rawFrame(Kind.BATCH_BEGIN, { batch: 1, ops: 0, bytes: 0 }, undefined, { head: MAX_HEADER_BYTES + 1 })], ErrorCode.FRAME_HEADER_TOO_LARGE, CloseCode.INVALID_PAYLOAD);
  });

  it('refuses a payload length over the limit', async () => {
    await expectRejected([rawFrame(Kind.FILE, file({}), enc.encode('x'), { payload: MAX_CHUNK_BYTES + 1 })], ErrorCode.FRAME_CHUNK_TOO_LARGE, CloseCode.INVALID_PAYLOAD);
  });

  it('refuses a truncated frame', async () => {
    const whole = encodeFrame(Kind.FILE, file({ size: 10 }), enc.encode('0123456789'));
    await expectRejected([begin, whole.subarray(0, whole.length - 4)], ErrorCode.FRAME_TRUNCATED, CloseCode.INVALID_PAYLOAD);
    await expectRejected([whole.subarray(0, 5)], ErrorCode.FRAME_TRUNCATED, CloseCode.INVALID_PAYLOAD);
  });

  it('refuses a header that is not JSON, an unknown kind and a text message', async () => {
    await expectRejected([rawFrame(Kind.COMMIT, '{"batch":')], ErrorCode.FRAME_MALFORMED, CloseCode.INVALID_PAYLOAD);
    await expectRejected([rawFrame(99, {})], ErrorCode.FRAME_UNKNOWN_KIND, CloseCode.INVALID_PAYLOAD);
    const c = await TestClient.ready(t.url, t.token);
    c.ws.send('hello as text');
    expect((await c.next(Kind.ERROR)).header.code).toBe(ErrorCode.FRAME_MALFORMED);
    expect((await c.waitClosed()).code).toBe(CloseCode.UNSUPPORTED_DATA);
  });

  it('refuses a chunk that overruns its file size', async () => {
    await expectRejected([begin, rawFrame(Kind.FILE, file({ size: 2 }), enc.encode('abc'))], ErrorCode.SIZE_MISMATCH, CloseCode.INVALID_PAYLOAD);
  });

  it('closes a connection whose message is over the payload limit', async () => {
    const c = await TestClient.ready(t.url, t.token);
    c.send(new Uint8Array(MAX_PAYLOAD_BYTES + 1));
    expect((await c.waitClosed()).code).toBe(1009);
  });
});

describe('frames out of order', () => {
  it('refuses a daemon speaking another protocol version', async () => {
    const hello = encodeFrame(Kind.HELLO, { protocol: PROTOCOL_VERSION + 1, software: 'skiffd/99' });
    await expectRejected([hello], ErrorCode.PROTOCOL_VERSION, CloseCode.PROTOCOL_ERROR, false);
  });

  it('refuses any frame before the daemon HELLO', async () => {
    await expectRejected([encodeFrame(Kind.INVENTORY_REQUEST, {})], ErrorCode.PROTOCOL_STATE, CloseCode.PROTOCOL_ERROR, false);
  });

  it('refuses a second HELLO', async () => {
    const hello = encodeFrame(Kind.HELLO, { protocol: PROTOCOL_VERSION, software: 'skiffd/test' });
    await expectRejected([hello], ErrorCode.PROTOCOL_STATE, CloseCode.PROTOCOL_ERROR);
  });

  it('refuses a chunk of a file never begun', async () => {
    const chunk = encodeFrame(Kind.FILE, { batch: 7, path: 'x', size: 10, mode: 0o644, mtime: 1, hash: HASH, offset: 5 }, enc.encode('56789'));
    await expectRejected([encodeFrame(Kind.BATCH_BEGIN, { batch: 7, ops: 1, bytes: 10 }), chunk], ErrorCode.PROTOCOL_STATE, CloseCode.PROTOCOL_ERROR);
    expect(existsSync(join(t.root, 'x'))).toBe(false);
  });

  it('refuses a file frame of a batch never begun', async () => {
    const whole = encodeFrame(Kind.FILE, { batch: 7, path: 'x', size: 1, mode: 0o644, mtime: 1, hash: HASH, offset: 0 }, enc.encode('x'));
    await expectRejected([whole], ErrorCode.PROTOCOL_STATE, CloseCode.PROTOCOL_ERROR);
    expect(existsSync(join(t.root, 'x'))).toBe(false);
  });

  it('refuses a COMMIT of a batch never begun', async () => {
    await expectRejected([encodeFrame(Kind.COMMIT, { batch: 42 })], ErrorCode.PROTOCOL_STATE, CloseCode.PROTOCOL_ERROR);
  });

  it('refuses frames only the agent sends', async () => {
    const applied = encodeFrame(Kind.APPLIED, { batch: 1, written: 0, deleted: 0, bytes: 0, problems: [], digest: HASH, entries: 0 });
    await expectRejected([applied], ErrorCode.PROTOCOL_STATE, CloseCode.PROTOCOL_ERROR);
  });
});

describe('paths refused on apply', () => {
  it('never writes through a symlink planted in the root pointing outside', async () => {
    symlinkSync(t.sentinel, join(t.root, 'planted'));
    mkdirSync(join(t.root, 'inside'));
    symlinkSync('inside', join(t.root, 'planted-inside'));
    const c = await TestClient.ready(t.url, t.token);
    const body = enc.encode('pwned');
    const file = (path: string) =>
      encodeFrame(Kind.FILE, { batch: 1, path, size: body.length, mode: 0o644, mtime: 1, hash: hasher.h64Bytes(body), offset: 0 }, body);
    c.send(
      concat(
        encodeFrame(Kind.BATCH_BEGIN, { batch: 1, ops: 4, bytes: 10 }),
        file('planted/secret.txt'),
        file('planted/new.txt'),
        file('planted-inside/x.txt'),
        encodeFrame(Kind.DELETE, { batch: 1, path: 'planted/sub' }),
        file('fine.txt'),
        encodeFrame(Kind.COMMIT, { batch: 1 }),
      ),
    );
    const applied = await c.next(Kind.APPLIED);
    expect(applied.header.problems.map((p) => [p.path, p.code]).sort()).toEqual([
      ['planted-inside/x.txt', ErrorCode.SYMLINK_ESCAPE],
      ['planted/new.txt', ErrorCode.SYMLINK_ESCAPE],
      ['planted/secret.txt', ErrorCode.SYMLINK_ESCAPE],
      ['planted/sub', ErrorCode.SYMLINK_ESCAPE],
    ]);
    expect(applied.header.written).toBe(1);
    expect(readFileSync(join(t.root, 'fine.txt'), 'utf8')).toBe('pwned');
    expect(existsSync(join(t.root, 'inside/x.txt'))).toBe(false);
    await c.close();
  });
});

describe('connections lost and replaced', () => {
  const SIZE = 3 * MAX_CHUNK_BYTES + 123;
  const content = Buffer.alloc(SIZE, 0x5a);
  const header = (offset: number) => ({ batch: 3, path: 'big/file.bin', size: SIZE, mode: 0o644, mtime: 1, hash: hasher.h64Bytes(content), offset });
  const chunk = (offset: number) => encodeFrame(Kind.FILE, header(offset), content.subarray(offset, offset + MAX_CHUNK_BYTES));

  it('leaves no temporary and no partial file after a connection dropped mid-file', async () => {
    writeFileSync(join(t.root, 'previous.txt'), 'previous');
    const c = await TestClient.ready(t.url, t.token);
    c.send(encodeFrame(Kind.BATCH_BEGIN, { batch: 3, ops: 1, bytes: SIZE }), chunk(0), chunk(MAX_CHUNK_BYTES));
    // An inventory request after the chunks proves they were processed.
    c.send(encodeFrame(Kind.INVENTORY_REQUEST, {}));
    await c.next(Kind.INVENTORY);
    expect(tempsUnder(t.root)).toHaveLength(1);
    c.terminate();

    const again = await TestClient.ready(t.url, t.token);
    expect(tempsUnder(t.root)).toEqual([]);
    expect(existsSync(join(t.root, 'big/file.bin'))).toBe(false);
    expect(readFileSync(join(t.root, 'previous.txt'), 'utf8')).toBe('previous');
    await again.close();
  });

  it('drops a peer that stops answering pings, with its half-written file', async () => {
    await t.cleanup();
    t = await startTestAgent({ heartbeatMs: 100 });
    sentinelBefore = snapshot(t.sentinel);
    const c = await TestClient.ready(t.url, t.token, { autoPong: false });
    c.send(encodeFrame(Kind.BATCH_BEGIN, { batch: 3, ops: 1, bytes: SIZE }), chunk(0));
    c.send(encodeFrame(Kind.INVENTORY_REQUEST, {}));
    await c.next(Kind.INVENTORY);
    expect(tempsUnder(t.root)).toHaveLength(1);
    // Silent from here on: the agent's pings go unanswered.
    expect((await c.waitClosed()).code).toBe(1006);
    expect(tempsUnder(t.root)).toEqual([]);
    expect(t.logs.some((l) => l.includes('no sign of life'))).toBe(true);
  });

  it('lets the newest daemon connection win, aborting the older one mid-batch', async () => {
    const old = await TestClient.ready(t.url, t.token);
    old.send(encodeFrame(Kind.BATCH_BEGIN, { batch: 3, ops: 1, bytes: SIZE }), chunk(0));
    old.send(encodeFrame(Kind.INVENTORY_REQUEST, {}));
    await old.next(Kind.INVENTORY);
    const newer = await TestClient.ready(t.url, t.token);
    expect((await old.waitClosed()).code).toBe(CloseCode.REPLACED);
    expect(tempsUnder(t.root)).toEqual([]);
    newer.send(encodeFrame(Kind.INVENTORY_REQUEST, {}));
    expect((await newer.next(Kind.INVENTORY)).header.last).toBe(true);
    await newer.close();
  });
});
