import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ErrorCode, TOKEN_ENV, bearer } from '@skiff/protocol';

/** The skiff-agent program as the daemon's local target starts it: a child process, token in the environment. */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const WAIT_MS = 20_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the agent; resolves with its first stdout line (or its exit), leaving it running. */
function runAgent(args: string[], env: Record<string, string | undefined>) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (env[TOKEN_ENV] === undefined) delete childEnv[TOKEN_ENV];
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (run.stderr += d.toString()));
  const firstLine = new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no output within ${WAIT_MS} ms: ${run.stderr}`)), WAIT_MS);
    const done = () => {
      clearTimeout(timer);
      resolve(run);
    };
    child.stdout.on('data', () => run.stdout.includes('\n') && done());
    child.on('exit', (code) => {
      run.code = code;
      done();
    });
  });
  const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
  return { child, firstLine, exited };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('skiff-agent', () => {
  it('prints exactly one listening line, creates its root and accepts the token from a file', async () => {
    const base = mkdtempSync(join(tmpdir(), 'skiff-main-'));
    dirs.push(base);
    const token = randomBytes(32).toString('hex');
    writeFileSync(join(base, 'token'), `${token}\n`);
    const root = join(base, 'new/root');
    const { child, firstLine, exited } = runAgent(['--root', root, '--token-file', join(base, 'token')], { [TOKEN_ENV]: undefined });
    try {
      const run = await firstLine;
      const line = JSON.parse(run.stdout.trim());
      expect(line).toEqual({ event: 'listening', host: '127.0.0.1', port: expect.any(Number), root, pid: child.pid });
      expect(line.port).toBeGreaterThan(0);
      expect(statSync(root).mode & 0o777).toBe(0o755);
      const ws = new WebSocket(`ws://127.0.0.1:${line.port}/`, { headers: { authorization: bearer(token) } });
      await new Promise((resolve, reject) => {
        ws.once('message', resolve);
        ws.once('error', reject);
      });
      ws.terminate();
      expect(run.stdout + run.stderr).not.toContain(token);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('exits 2 with SKIFF_E_AUTH when it has no token', async () => {
    const { firstLine } = runAgent(['--root', join(tmpdir(), 'skiff-never-created')], { [TOKEN_ENV]: undefined });
    const run = await firstLine;
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(ErrorCode.AUTH);
    expect(run.stderr).toContain(TOKEN_ENV);
  });

  it('exits 2 on a bad argument and prints help on --help', async () => {
    const bad = await runAgent(['--port', 'x'], { [TOKEN_ENV]: 'a'.repeat(64) }).firstLine;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(ErrorCode.USAGE);
    const help = await runAgent(['--help'], {}).firstLine;
    expect(help.stdout).toContain('usage: skiff-agent');
  });
});
