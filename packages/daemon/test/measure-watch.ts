/**
 * Measures the watcher on a generated tree: time to ready, resident memory
 * and inotify watches for each backend, then (native backend, default
 * windows) the latency of lone saves and the batches of a 5,000-file storm.
 *
 *   npx tsx packages/daemon/test/measure-watch.ts [--files 50000] [--poll-files 5000] [--dir /dev/shm]
 *
 * Each backend runs in a fresh process so that one's memory does not count
 * against the other. For 50,000 files the tree has 97 x 41 leaf directories
 * (4,075 with the root and the 97 parents), like the reference tree of
 * DESIGN.md, and the same shape scaled for other counts; small files: the
 * watcher never reads content.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { watchBatches } from '../src/watch/batcher.ts';
import { watchTree } from '../src/watch/watch-tree.ts';

const TOP_DIRS = 97;
const SUB_DIRS = 41;
const REFERENCE_FILES = 50_000;
const SAVES = 10;
/** Longer than the native watcher's 500 ms cadence, so each save is a lone one. */
const SAVE_SPACING_MS = 700;
const STORM_FILES = 5_000;

type Backend = 'parcel' | 'poll';

interface Result {
  backend: Backend;
  files: number;
  dirs: number;
  readyMs: number;
  rssBeforeMiB: number;
  rssMiB: number;
  inotifyWatches: number;
  saveLatencyMs?: number[];
  stormBatches?: Record<string, number[]>;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The reference shape (97 x 41 leaves for 50,000 files), scaled to `files`. */
function leafDirs(files: number): string[] {
  const top = Math.max(1, Math.round((TOP_DIRS * files) / REFERENCE_FILES));
  const dirs: string[] = [];
  for (let t = 0; t < top; t++) for (let s = 0; s < SUB_DIRS; s++) dirs.push(`t${t}/s${s}`);
  return dirs;
}

function generate(root: string, files: number): { files: string[]; dirs: number } {
  const leaves = leafDirs(files);
  for (const dir of leaves) mkdirSync(join(root, dir), { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < files; i++) {
    const rel = `${leaves[i % leaves.length]}/f${i}.txt`;
    writeFileSync(join(root, rel), `file ${i}\n`);
    paths.push(rel);
  }
  return { files: paths, dirs: 1 + leaves.length / SUB_DIRS + leaves.length };
}

function inotifyWatches(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fdinfo')) {
    try {
      count += readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('inotify ')).length;
    } catch {
      // The descriptor closed meanwhile.
    }
  }
  return count;
}

/** Rewrites `count` existing files from another process, as git checkout would. */
function storm(root: string, paths: string[]): Promise<void> {
  const list = join(root, '..', `storm-list-${process.pid}.json`);
  writeFileSync(list, JSON.stringify(paths));
  const script = `const fs=require('fs');const [root,list]=process.argv.slice(1);for(const p of JSON.parse(fs.readFileSync(list,'utf8')))fs.writeFileSync(root+'/'+p,'changed');`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, root, list], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', () => {
      rmSync(list, { force: true });
      resolve();
    });
  });
}

async function child(backend: Backend, root: string, files: number, dirs: number): Promise<Result> {
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const errors: string[] = [];
  const result: Result = { backend, files, dirs, readyMs: 0, rssBeforeMiB: mib(rssBefore), rssMiB: 0, inotifyWatches: 0 };

  if (backend === 'poll') {
    const w = watchTree(root, { isIgnored: () => false, poll: true, onEvents: () => {}, onError: (e) => errors.push(e.message) });
    await w.ready;
    result.readyMs = Math.round(performance.now() - t0);
    result.rssMiB = mib(process.memoryUsage().rss);
    result.inotifyWatches = inotifyWatches();
    await w.close();
  } else {
    let onBatch: (paths: string[]) => void = () => {};
    const w = watchBatches(root, {
      isIgnored: () => false,
      onBatch: (paths) => onBatch(paths),
      onError: (e) => errors.push(e.message),
    });
    await w.ready;
    result.readyMs = Math.round(performance.now() - t0);
    result.rssMiB = mib(process.memoryUsage().rss);
    result.inotifyWatches = inotifyWatches();

    const all = leafDirs(files).map((dir, i) => `${dir}/f${i}.txt`);
    result.saveLatencyMs = [];
    for (let k = 0; k < SAVES; k++) {
      await sleep(SAVE_SPACING_MS);
      const path = all[k * 97];
      const got = new Promise<string[]>((resolve) => (onBatch = resolve));
      const t = performance.now();
      writeFileSync(join(root, path), `saved ${k}\n`);
      const paths = await got;
      result.saveLatencyMs.push(Math.round((performance.now() - t) * 10) / 10);
      if (!paths.includes(path)) errors.push(`save ${k}: batch ${JSON.stringify(paths)} lacks ${path}`);
    }

    // Existing files in the order git writes them (sorted paths):
    // clustered, about 12 files in each of ~400 directories; scattered,
    // one or two in each of the ~4,000 (a stride coprime with the count).
    const leaves = leafDirs(files);
    const n = Math.min(STORM_FILES, files);
    const storms = {
      clustered: Array.from({ length: n }, (_, k) => {
        const i = (k % 400) + Math.floor(k / 400) * leaves.length; // file i lives in leaves[i % leaves.length]
        return `${leaves[k % 400]}/f${i}.txt`;
      }),
      scattered: Array.from({ length: n }, (_, k) => {
        const i = (k * 9) % files;
        return `${leaves[i % leaves.length]}/f${i}.txt`;
      }),
    };
    result.stormBatches = {};
    for (const [name, paths] of Object.entries(storms)) {
      await sleep(SAVE_SPACING_MS);
      const batches: number[] = [];
      onBatch = (p) => batches.push(p.length);
      await storm(root, paths.sort());
      await sleep(2_000);
      result.stormBatches[name] = batches;
    }
    await w.close();
  }
  if (errors.length > 0) console.error(`${backend}: ${errors.join('; ')}`);
  return result;
}

async function runChild(backend: Backend, root: string, files: number, dirs: number): Promise<Result> {
  const self = fileURLToPath(import.meta.url);
  const args = [...process.execArgv, self, '--child', backend, '--root', root, '--files', String(files), '--dirs', String(dirs)];
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (chunk) => (out += chunk));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${backend} measurement exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as Result);
    });
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    const result = await child(
      arg('child', 'parcel') as Backend,
      arg('root', ''),
      Number(arg('files', '0')),
      Number(arg('dirs', '0')),
    );
    console.log(JSON.stringify(result));
    return;
  }
  const base = arg('dir', '/dev/shm');
  const files = Number(arg('files', '50000'));
  const pollFiles = Number(arg('poll-files', '5000'));
  const results: Result[] = [];
  for (const [backend, n] of [['parcel', files], ['poll', pollFiles]] as const) {
    if (n <= 0) continue;
    const root = mkdtempSync(join(base, 'skiff-measure-'));
    try {
      const t = performance.now();
      const tree = generate(root, n);
      console.error(`${backend}: generated ${n} files in ${tree.dirs} directories in ${Math.round(performance.now() - t)} ms`);
      results.push(await runChild(backend, root, n, tree.dirs));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  console.table(
    results.map((r) => ({
      backend: r.backend,
      files: r.files,
      dirs: r.dirs,
      'ready ms': r.readyMs,
      'RSS MiB (before)': r.rssBeforeMiB,
      'RSS MiB': r.rssMiB,
      'inotify watches': r.inotifyWatches,
    })),
  );
  for (const r of results) {
    if (r.saveLatencyMs) {
      const sorted = [...r.saveLatencyMs].sort((a, b) => a - b);
      console.log(`${r.backend}: lone save -> batch latency ms: ${r.saveLatencyMs.join(', ')} (median ${sorted[Math.floor(sorted.length / 2)]})`);
    }
    for (const [name, sizes] of Object.entries(r.stormBatches ?? {})) {
      console.log(`${r.backend}: ${name} storm of ${STORM_FILES} rewrites -> batches of ${JSON.stringify(sizes)}`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
