/**
 * Scan benchmark on the reference tree: 50,000 files in 97 x 41 directories,
 * log-normal sizes (median 2 KiB, sigma 1.5, capped at 8 MiB), about 306 MiB.
 *
 *   npx tsx packages/daemon/test/scan-bench.ts [dir]   (default /dev/shm/skiff-scan-bench)
 *
 * Prints wall and CPU time of a fresh scan, then of warm re-scans (previous
 * index given: nothing is read again). CPU time is the steadier figure on a
 * busy machine.
 *
 * The tree is generated once (deterministic) and reused by later runs.
 */
import { randomFillSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scanTree } from '../src/index/index.ts';

const FILES = 50_000;
const TOP_DIRS = 97;
const SUB_DIRS = 41;
const MEDIAN_BYTES = 2048;
const SIGMA = 1.5;
const CAP_BYTES = 8 * 1024 * 1024;
const SEED = 0x5eed;

/** mulberry32: a small deterministic PRNG so every run builds the same tree. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function generate(root: string): Promise<void> {
  const rand = prng(SEED);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const pool = randomFillSync(Buffer.alloc(CAP_BYTES + 4096));
  const dirs: string[] = [];
  for (let i = 0; i < TOP_DIRS; i++) for (let j = 0; j < SUB_DIRS; j++) dirs.push(join(root, `d${i}`, `s${j}`));
  await Promise.all(dirs.map((d) => mkdir(d, { recursive: true })));
  let total = 0;
  const writes: Promise<void>[] = [];
  for (let n = 0; n < FILES; n++) {
    const size = Math.min(CAP_BYTES, Math.round(MEDIAN_BYTES * Math.exp(SIGMA * gauss())));
    const offset = Math.floor(rand() * 4096);
    total += size;
    writes.push(writeFile(join(dirs[n % dirs.length], `f${n}.dat`), pool.subarray(offset, offset + size)));
    if (writes.length >= 64) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  console.log(`generated ${FILES} files, ${(total / 2 ** 20).toFixed(0)} MiB in ${root}`);
}

/** Wall time and CPU time (user + system) of one run. */
async function timed<T>(run: () => Promise<T>): Promise<{ result: T; wallMs: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await run();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { result, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const WARM_RUNS = 5;

async function main(): Promise<void> {
  const root = process.argv[2] ?? '/dev/shm/skiff-scan-bench';
  if (!existsSync(join(root, 'd0'))) await generate(root);
  const mib = (n: number) => (n / 2 ** 20).toFixed(0);
  const ms = (n: number) => n.toFixed(0).padStart(5);

  const fresh = await timed(() => scanTree(root));
  const f = fresh.result;
  console.log(
    `fresh scan:   ${ms(fresh.wallMs)} ms wall, ${ms(fresh.cpuMs)} ms cpu; ${f.entries.size} entries, hashed ${f.hashed} (${mib(f.bytesHashed)} MiB), reused ${f.reused}`,
  );
  for (let i = 0; i < WARM_RUNS; i++) {
    const warm = await timed(() => scanTree(root, { previous: f.entries }));
    const w = warm.result;
    console.log(
      `warm re-scan: ${ms(warm.wallMs)} ms wall, ${ms(warm.cpuMs)} ms cpu; ${w.entries.size} entries, hashed ${w.hashed}, reused ${w.reused}`,
    );
  }
  console.log(`rss ${mib(process.memoryUsage().rss)} MiB`);
}

await main();
