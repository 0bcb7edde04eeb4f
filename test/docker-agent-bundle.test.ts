import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_MANIFEST, bundleCommand, readBundleManifest, type BundleManifest } from '@skiff/agent';
import { parseLdd } from '../scripts/ldd.mjs';
import { BUNDLE_DIR } from './support/docker-images.ts';

/**
 * The self-contained agent bundle on this machine, without Docker: what the
 * build put in it, that its manifest tells the truth and names it by its
 * content, that it runs through its own loader whatever LD_LIBRARY_PATH
 * says, and its copy-to step.
 */

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Runs the bundle at `dir` through its own loader; exit code and output. */
function runBundle(manifest: BundleManifest, dir: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, ...rest] = bundleCommand(manifest, dir, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, rest, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('parseLdd', () => {
  const cases: Array<[string, string, ReturnType<typeof parseLdd>]> = [
    [
      'glibc',
      '\tlinux-vdso.so.1 (0x00007ffc)\n\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f1)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f3)\n',
      {
        libs: [
          { name: 'libstdc++.so.6', path: '/lib/x86_64-linux-gnu/libstdc++.so.6' },
          { name: 'libc.so.6', path: '/lib/x86_64-linux-gnu/libc.so.6' },
        ],
        loader: '/lib64/ld-linux-x86-64.so.2',
        missing: [],
      },
    ],
    [
      'musl',
      '\t/lib/ld-musl-x86_64.so.1 (0x7f1)\n\tlibstdc++.so.6 => /usr/lib/libstdc++.so.6 (0x7f2)\n\tlibc.musl-x86_64.so.1 => /lib/ld-musl-x86_64.so.1 (0x7f1)\n',
      {
        libs: [
          { name: 'libstdc++.so.6', path: '/usr/lib/libstdc++.so.6' },
          { name: 'libc.musl-x86_64.so.1', path: '/lib/ld-musl-x86_64.so.1' },
        ],
        loader: '/lib/ld-musl-x86_64.so.1',
        missing: [],
      },
    ],
    ['a missing library', '\tlibfoo.so.1 => not found\n\t/lib64/ld-linux-x86-64.so.2 (0x1)\n', { libs: [], loader: '/lib64/ld-linux-x86-64.so.2', missing: ['libfoo.so.1'] }],
    ['a static file', '\tnot a dynamic executable\n', { libs: [], loader: null, missing: [] }],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(parseLdd(text)).toEqual(expected);
  });
});

describe('the agent bundle', () => {
  let manifest: BundleManifest;
  let work: string;

  beforeAll(async () => {
    manifest = await readBundleManifest(BUNDLE_DIR);
    work = await mkdtemp(join(tmpdir(), 'skiff-bundle-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('holds node, its libraries and loader, the agent and its addon, each as the manifest lists it', () => {
    expect(filesUnder(BUNDLE_DIR)).toEqual([...manifest.files.map((f) => f.path), BUNDLE_MANIFEST, 'VERSION'].sort());
    for (const file of manifest.files) {
      const path = join(BUNDLE_DIR, file.path);
      expect({ path: file.path, sha256: sha256(path), size: statSync(path).size, mode: statSync(path).mode & 0o777 }).toEqual({
        path: file.path,
        sha256: file.sha256,
        size: file.size,
        mode: file.mode,
      });
    }
    const paths = manifest.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['node', 'skiff-agent.js', 'reaper.node', 'lib/libc.so.6']));
    expect(manifest.loader).toMatch(/^lib\/ld-/);
    expect(manifest.nodeVersion).toBe(process.version);
  });

  it('is named by its content: VERSION is the digest of the file list', () => {
    const digest = createHash('sha256');
    for (const f of manifest.files) digest.update(`${f.mode.toString(8)} ${f.sha256} ${f.path}\n`);
    expect(manifest.version).toBe(digest.digest('hex').slice(0, manifest.version.length));
    expect(readFileSync(join(BUNDLE_DIR, 'VERSION'), 'utf8')).toBe(`${manifest.version}\n`);
  });

  it('never spawns process.execPath, which is the loader when the bundle runs through it', () => {
    expect(readFileSync(join(BUNDLE_DIR, manifest.entry), 'utf8')).not.toContain('execPath');
  });

  it('runs through its own loader even when LD_LIBRARY_PATH names a broken libc', async () => {
    const broken = join(work, 'broken-lib');
    await mkdir(broken);
    await writeFile(join(broken, 'libc.so.6'), 'not a shared library\n');
    const run = await runBundle(manifest, BUNDLE_DIR, ['--help'], { PATH: process.env.PATH, LD_LIBRARY_PATH: broken });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^usage: skiff-agent/);
  });

  it('copy-to copies it whole, finds a whole copy there, and redoes a damaged one', async () => {
    const dest = join(work, 'volume');
    const env = { PATH: process.env.PATH };
    const first = await runBundle(manifest, BUNDLE_DIR, ['copy-to', dest], env);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ event: 'copied', version: manifest.version, alreadyThere: false });
    expect(filesUnder(dest)).toEqual(filesUnder(BUNDLE_DIR));
    for (const file of manifest.files) expect([file.path, sha256(join(dest, file.path))]).toEqual([file.path, file.sha256]);

    // The copy runs as well as the original.
    const copied = await runBundle(manifest, dest, ['--help'], env);
    expect(copied.code).toBe(0);

    const again = await runBundle(manifest, BUNDLE_DIR, ['copy-to', dest], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ alreadyThere: true });

    // A copy cut short: a file shorter than listed, or no manifest (it is written last).
    await truncate(join(dest, manifest.node), 1000);
    const repaired = await runBundle(manifest, BUNDLE_DIR, ['copy-to', dest], env);
    expect(JSON.parse(repaired.stdout)).toMatchObject({ alreadyThere: false });
    expect(sha256(join(dest, manifest.node))).toBe(manifest.files.find((f) => f.path === manifest.node)!.sha256);
    await unlink(join(dest, BUNDLE_MANIFEST));
    const redone = await runBundle(manifest, BUNDLE_DIR, ['copy-to', dest], env);
    expect(JSON.parse(redone.stdout)).toMatchObject({ alreadyThere: false });
    expect(filesUnder(dest)).toEqual(filesUnder(BUNDLE_DIR));
  });

  it('copy-to outside a bundle fails with SKIFF_E_AGENT_START and says how to build one', async () => {
    const notBundle = join(work, 'not-a-bundle');
    await mkdir(notBundle);
    await writeFile(join(notBundle, 'package.json'), '{"type":"module"}\n');
    await writeFile(join(notBundle, manifest.entry), readFileSync(join(BUNDLE_DIR, manifest.entry)));
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [join(notBundle, manifest.entry), 'copy-to', join(work, 'nowhere')], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stderr }));
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/SKIFF_E_AGENT_START: .*not a self-contained agent bundle.*npm run build/);
  });
});
