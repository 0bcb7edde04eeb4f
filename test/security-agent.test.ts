import { readFileSync, readdirSync, readlinkSync, mkdtempSync, rmSync } from 'node:fs';
import { createHash, timingSafeEqual } from 'node:crypto';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppState, Kind, TOKEN_ENV, TOKEN_MIN_BYTES, bearer, encodeFrame } from '@skiff/protocol';
import { tokenCheck } from '../packages/agent/src/server/auth.ts';
import { TOKEN_BYTES, newToken, startLocalAgent, type LocalAgent } from '../packages/daemon/src/targets/local.ts';
import { TestClient, WAIT_MS, startTestAgent, type TestAgent } from './agent-harness.ts';

/**
 * The agent's token: random enough, never where another process or a log
 * could read it, compared without leaking its length or content through
 * time, and the local agent reachable from this machine only.
 *
 * node:crypto is wrapped (not replaced) so that the comparison's calls can be
 * counted: a check that returned early on a length mismatch would skip the
 * constant-time comparison, and the counts would show it. No timing is measured.
 */
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, createHash: vi.fn(real.createHash), timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const SHA256_BYTES = 32;
const TOKENS_SAMPLED = 1000;
const HEX_DIGITS = 16;
/** Bits of entropy per hex character, at most 4; a uniform sample of 64,000 characters comes within a hair of it. */
const MIN_BITS_PER_CHAR = 3.99;
/** Offered tokens at least this long are looked for in the agent's log. */
const MIN_LOGGED_TOKEN_CHARS = 32;

describe('tokens', () => {
  it(`are ${TOKEN_BYTES * 8} random bits (at least 128), hex, and never repeat`, () => {
    expect(TOKEN_BYTES).toBeGreaterThanOrEqual(TOKEN_MIN_BYTES);
    expect(TOKEN_MIN_BYTES * 8).toBeGreaterThanOrEqual(128);
    const tokens = Array.from({ length: TOKENS_SAMPLED }, () => newToken());
    for (const t of tokens) expect(t).toMatch(new RegExp(`^[0-9a-f]{${TOKEN_BYTES * 2}}$`));
    expect(new Set(tokens).size).toBe(TOKENS_SAMPLED);
    // Every hex digit about equally often: Shannon entropy per character close to its maximum of 4 bits.
    const counts = new Map<string, number>();
    for (const ch of tokens.join('')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(HEX_DIGITS);
    const total = TOKENS_SAMPLED * TOKEN_BYTES * 2;
    const entropy = -[...counts.values()].reduce((h, n) => h + (n / total) * Math.log2(n / total), 0);
    expect(entropy).toBeGreaterThan(MIN_BITS_PER_CHAR);
  });
});

describe('the token comparison', () => {
  const token = 'a'.repeat(64);
  let check: (authorization: string | undefined) => boolean;

  beforeEach(() => {
    check = tokenCheck(token);
    vi.mocked(createHash).mockClear();
    vi.mocked(timingSafeEqual).mockClear();
  });

  it.each([
    ['one character', bearer('b')],
    ['a shorter token', bearer('a'.repeat(63))],
    ['the same length, one character off', bearer(`${'a'.repeat(63)}b`)],
    ['a longer token', bearer('a'.repeat(65))],
    ['the longest a header may carry', bearer('a'.repeat(512))],
    ['no header', undefined],
    ['another scheme', `Basic ${'a'.repeat(64)}`],
  ])('hashes and compares in constant time for %s, and refuses it', (_name, authorization) => {
    expect(check(authorization)).toBe(false);
    // One digest of what was offered (the expected one was made once, up front), one comparison of two digests.
    expect(vi.mocked(createHash)).toHaveBeenCalledTimes(1);
    expect(vi.mocked(createHash)).toHaveBeenCalledWith('sha256');
    expect(vi.mocked(timingSafeEqual)).toHaveBeenCalledTimes(1);
    const [a, b] = vi.mocked(timingSafeEqual).mock.calls[0] as [Buffer, Buffer];
    expect([a.length, b.length]).toEqual([SHA256_BYTES, SHA256_BYTES]);
  });

  it('takes the same steps for the right token', () => {
    expect(check(bearer(token))).toBe(true);
    expect(vi.mocked(createHash)).toHaveBeenCalledTimes(1);
    expect(vi.mocked(timingSafeEqual)).toHaveBeenCalledTimes(1);
  });
});

describe('the agent refuses a wrong token of any length only after comparing digests', () => {
  let t: TestAgent;
  beforeAll(async () => {
    t = await startTestAgent();
  });
  afterAll(async () => t?.cleanup());

  function upgradeStatus(authorization: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request({
        host: t.agent.host,
        port: t.agent.port,
        path: '/',
        headers: {
          authorization,
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': Buffer.from('0123456789abcdef').toString('base64'),
        },
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
  }

  it.each([1, 32, 63, 64, 65, 200, 512])('a %i-character token gets 401', async (length) => {
    const offered = 'f'.repeat(length);
    vi.mocked(timingSafeEqual).mockClear();
    expect(await upgradeStatus(bearer(offered))).toBe(401);
    expect(vi.mocked(timingSafeEqual)).toHaveBeenCalledTimes(1);
    // A short offer would match any word of the log; a long one must not appear in it.
    if (length >= MIN_LOGGED_TOKEN_CHARS) expect(t.logs.join('\n')).not.toContain(offered);
    expect(t.logs.join('\n')).not.toContain(t.token);
  });
});

/** Listening TCP sockets of a process, from its descriptors and /proc/net/tcp{,6}. */
function listeningSockets(pid: number): { family: 'tcp' | 'tcp6'; address: string; port: number }[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // A descriptor closed while we listed them.
    }
  }
  const LISTEN = '0A';
  const out: { family: 'tcp' | 'tcp6'; address: string; port: number }[] = [];
  for (const family of ['tcp', 'tcp6'] as const) {
    for (const line of readFileSync(`/proc/net/${family}`, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== LISTEN || !inodes.has(cols[9])) continue;
      const [hexAddress, hexPort] = cols[1].split(':');
      out.push({ family, address: family === 'tcp' ? ipv4(hexAddress) : hexAddress, port: parseInt(hexPort, 16) });
    }
  }
  return out;
}

/** /proc/net/tcp writes an IPv4 address as one little-endian 32-bit hex number. */
function ipv4(hex: string): string {
  return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
}

const procText = (pid: number, file: 'cmdline' | 'environ') => readFileSync(`/proc/${pid}/${file}`).toString('utf8').split('\0');

describe.skipIf(process.platform !== 'linux')('a local agent and its app', () => {
  let root: string;
  let agent: LocalAgent;
  const output: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'skiff-sec-agent-'));
    // The app prints its whole environment, so any leak would also show in its output.
    agent = await startLocalAgent({ root, appConfig: { run: 'env; exec sleep 600' }, onOutput: (_s, d) => output.push(d.toString()) });
  });
  afterAll(async () => {
    await agent?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('keep the token off command lines, out of the app, out of every output, and listen on loopback only', async () => {
    // A wrong token first: its refusal is logged, neither token is.
    const wrong = newToken();
    await expect(TestClient.open(agent.url, wrong)).rejects.toThrow('HTTP 401');

    const c = await TestClient.ready(agent.url, agent.token);
    c.send(encodeFrame(Kind.BATCH_BEGIN, { batch: 1, ops: 0, bytes: 0 }), encodeFrame(Kind.COMMIT, { batch: 1 }));
    await c.next(Kind.APPLIED);
    let appPid: number | undefined;
    while (appPid === undefined) {
      const status = await c.next(Kind.APP_STATUS);
      if (status.header.state === AppState.RUNNING) appPid = status.header.pid;
    }
    // The app's output reaches us on the agent's stdout, which no frame announces: poll it with a deadline.
    const deadline = Date.now() + WAIT_MS;
    while (!output.join('').includes('PATH=')) {
      if (Date.now() > deadline) throw new Error(`the app did not print its environment within ${WAIT_MS} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }

    // The agent's command line: no token. Its environment: the token, the one intended channel.
    const cmdline = procText(agent.pid, 'cmdline');
    expect(cmdline.some((arg) => arg.includes('skiff-agent') || arg.includes('main.ts'))).toBe(true);
    expect(cmdline.join(' ')).not.toContain(agent.token);
    expect(procText(agent.pid, 'environ')).toContain(`${TOKEN_ENV}=${agent.token}`);

    // The app: neither the variable nor the value, in its environment or its command line.
    const appEnv = procText(appPid!, 'environ');
    expect(appEnv.some((v) => v.startsWith('PATH='))).toBe(true);
    expect(appEnv.filter((v) => v.startsWith(`${TOKEN_ENV}=`) || v.includes(agent.token))).toEqual([]);
    expect(procText(appPid!, 'cmdline').join(' ')).not.toContain(agent.token);

    // Nothing the agent or the app printed, nor any frame sent to the daemon, holds either token.
    const printed = output.join('');
    expect(printed).toContain('refused a connection');
    expect(printed).not.toContain(agent.token);
    expect(printed).not.toContain(wrong);
    const logFrames = c.frames.filter((f) => f.kind === Kind.LOG).map((f) => Buffer.from(f.payload).toString());
    expect(logFrames.join('')).toContain('PATH=');
    expect(logFrames.join('')).not.toContain(agent.token);
    await c.close();

    // Every listening socket of the agent is on 127.0.0.1, none on a wildcard or IPv6 address.
    const port = Number(new URL(agent.url).port);
    expect(listeningSockets(agent.pid)).toEqual([{ family: 'tcp', address: '127.0.0.1', port }]);
  });
});
