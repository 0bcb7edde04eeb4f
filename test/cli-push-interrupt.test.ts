import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, watch } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { privateRuntime } from './support/dev-session.ts';
import { SKIFF_BIN } from './support/run-cli.ts';

/**
 * Ctrl-C in the middle of a one-shot `skiff push`, which started a local
 * agent of its own: when skiff has exited, that agent is gone and its root
 * holds no temporary file, and the exit status is 130.
 */

const TEMP_PREFIX = '.skiff-tmp-';
const BIG_FILES = 24;
const BIG_FILE_BYTES = 8 * 1024 * 1024;
const SMALL_DIRS = 40;
const SMALL_FILES_PER_DIR = 50;
const SMALL_FILE_BYTES = 32 * 1024;
const EVENT_WAIT_MS = 30_000;

/** tmpfs when the machine has one at /dev/shm: the tree is a few hundred MiB. */
function scratch(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

/** The pids of the processes whose parent is `ppid`, with their command lines. */
function childrenOf(ppid: number): Array<{ pid: number; cmdline: string }> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== ppid) continue;
      out.push({ pid: Number(name), cmdline: readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ') });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Whether a process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function tempFilesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.name.startsWith(TEMP_PREFIX)) found.push(join(entry.parentPath, entry.name));
  }
  return found;
}

describe('Ctrl-C during a one-shot push', () => {
  let work: string;

  beforeEach(async () => {
    work = await mkdtemp(join(scratch(), 'skiff-cli-sigint-'));
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('stops the agent it started, leaves no temporary file in the root, and exits 130', async () => {
    const project = join(work, 'project');
    const root = join(work, 'agent-root');
    await mkdir(project);
    // Big files at the top (sent first, each in many chunks), then many small ones.
    for (let i = 0; i < BIG_FILES; i++) await writeFile(join(project, `big-${String(i).padStart(2, '0')}.bin`), Buffer.alloc(BIG_FILE_BYTES, i + 1));
    for (let d = 0; d < SMALL_DIRS; d++) {
      await mkdir(join(project, `dir-${d}`));
      for (let f = 0; f < SMALL_FILES_PER_DIR; f++) await writeFile(join(project, `dir-${d}`, `f-${f}.txt`), Buffer.alloc(SMALL_FILE_BYTES, (d + f) % 251));
    }
    await mkdir(root);
    const { env } = await privateRuntime();

    // Subscribe first: the first temporary file in the root means a file is being received.
    let receiving!: () => void;
    const midFile = new Promise<void>((resolve) => (receiving = resolve));
    const watcher = watch(root, (_event, name) => {
      if (typeof name === 'string' && name.startsWith(TEMP_PREFIX)) receiving();
    });
    const child = spawn(process.execPath, [SKIFF_BIN, 'push', project, '--local-root', root], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      await Promise.race([
        midFile,
        exited.then(() => Promise.reject(new Error(`skiff push ended before any file was received: ${stderr}`))),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no temporary file appeared within ${EVENT_WAIT_MS} ms: ${stderr}`)), EVENT_WAIT_MS)),
      ]);
    } finally {
      watcher.close();
    }
    const agents = childrenOf(child.pid!).filter((p) => p.cmdline.includes('skiff-agent'));
    expect(agents).toHaveLength(1);

    child.kill('SIGINT');
    const end = await exited;

    expect(end, stderr).toEqual({ code: 130, signal: null });
    expect(stderr).toContain('interrupted');
    expect(alive(agents[0].pid)).toBe(false);
    expect(await tempFilesUnder(root)).toEqual([]);
    // It stopped in the middle: not everything was sent.
    expect((await readdir(root)).filter((n) => n.startsWith('big-')).length).toBeLessThan(BIG_FILES);
  });
});
