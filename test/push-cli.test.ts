import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTrees } from './support/tree-compare.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';

const AGENT_BIN = fileURLToPath(new URL('../packages/agent/bin/skiff-agent.js', import.meta.url));

/** Starts skiff-agent by hand, as a user would in a VM or a container, and waits for its listening line. */
function startAgentByHand(root: string, tokenFile: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AGENT_BIN, '--root', root, '--port', '0', '--token-file', tokenFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('agent did not start')), 30_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve({ child, port: (JSON.parse(out.slice(0, nl)) as { port: number }).port });
      }
    });
    child.on('error', reject);
  });
}

describe('skiff push options', () => {
  let work: string;
  let project: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-cli-'));
    project = join(work, 'project');
    await mkdir(join(project, 'src'), { recursive: true });
    await writeFile(join(project, 'src', 'index.js'), 'console.log(1)\n');
    await writeFile(join(project, 'README.md'), '# p\n');
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('--agent with --token-file pushes into an agent that already runs', async () => {
    const root = join(work, 'by-hand-root');
    const tokenFile = join(work, 'token');
    await writeFile(tokenFile, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    const { child, port } = await startAgentByHand(root, tokenFile);
    try {
      const r = await runSkiff(['push', project, '--agent', `ws://127.0.0.1:${port}`, '--token-file', tokenFile, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(jsonOf(r)).toMatchObject({ ok: true, uploaded: 2, inSync: true });
      expect(await compareTrees(project, root, (rel) => rel === '.skiff')).toEqual([]);

      await writeFile(tokenFile, `${'cd'.repeat(32)}\n`);
      const denied = await runSkiff(['push', project, '--agent', `ws://127.0.0.1:${port}`, '--token-file', tokenFile, '--json']);
      expect(denied.code).toBe(1);
      expect(jsonOf(denied)).toMatchObject({ ok: false, error: { code: 'SKIFF_E_AUTH' } });
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('a bad SKIFF_PUSH_TIMEOUT exits non-zero naming the variable and an example', async () => {
    const r = await runSkiff(['push', project, '--local-root', join(work, 'r1')], { env: { SKIFF_PUSH_TIMEOUT: 'soon' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SKIFF_PUSH_TIMEOUT="soon" is not a valid duration.*90s.*SKIFF_E_DURATION/s);
  });

  it('CF_STARTUP_TIMEOUT is read when SKIFF_PUSH_TIMEOUT is unset, and bounds the whole push', async () => {
    const r = await runSkiff(['push', project, '--local-root', join(work, 'r2'), '--json'], { env: { SKIFF_PUSH_TIMEOUT: '', CF_STARTUP_TIMEOUT: '1ms' } });
    expect(r.code).toBe(1);
    expect(jsonOf(r)).toMatchObject({ ok: false, error: { code: 'SKIFF_E_TIMEOUT', message: expect.stringContaining('CF_STARTUP_TIMEOUT') } });
  });

  it('usage errors exit 2 with a code; --help prints usage', async () => {
    const unknown = await runSkiff(['push', '--nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/SKIFF_E_USAGE/);
    const badAgent = await runSkiff(['push', project, '--agent', 'http://x']);
    expect(badAgent.code).toBe(2);
    const help = await runSkiff(['push', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: skiff push/);
    const noToken = await runSkiff(['push', project, '--agent', 'ws://127.0.0.1:1'], { env: { SKIFF_AGENT_TOKEN: '' } });
    expect(noToken.stderr).toMatch(/SKIFF_E_AUTH/);
  });
});

describe('roots that overlap', () => {
  it('refuses an agent root that holds the project, or lies inside it, and touches nothing', async () => {
    const work = await mkdtemp(join(tmpdir(), 'skiff-overlap-'));
    try {
      const project = join(work, 'parent', 'project');
      await mkdir(project, { recursive: true });
      await writeFile(join(project, 'keep.txt'), 'precious\n');
      for (const root of [join(work, 'parent'), project, join(project, 'agent')]) {
        const r = await runSkiff(['push', project, '--local-root', root, '--json']);
        expect(r.code).toBe(1);
        expect(jsonOf(r)).toMatchObject({ ok: false, error: { code: 'SKIFF_E_CONFIG', message: expect.stringContaining('overlap') } });
      }
      expect(await readFile(join(project, 'keep.txt'), 'utf8')).toBe('precious\n');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
