import { randomInt } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { tmpdir } from 'node:os';

/**
 * The fuzzers' randomness: xorshift32, seeded, so that a failing run is
 * replayed exactly with SKIFF_FUZZ_SEED=<seed>. Every run without the
 * variable picks a new seed (more inputs over time) and prints it.
 */
export const FUZZ_SEED_ENV = 'SKIFF_FUZZ_SEED';
/** "1": the long run (millions of inputs) instead of the quick one npm test runs. */
export const FUZZ_LONG_ENV = 'SKIFF_FUZZ_LONG';

export const FUZZ_LONG = process.env[FUZZ_LONG_ENV] === '1';

/** The seed of this run: the variable when set, else a fresh one. Never 0 (xorshift would stay at 0). */
export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env[FUZZ_SEED_ENV];
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n <= 0 || n >= 2 ** 32) throw new Error(`${FUZZ_SEED_ENV} must be an integer from 1 to 2^32-1, got ${JSON.stringify(given)}`);
    return n;
  }
  return randomInt(1, 2 ** 32 - 1);
}

/** How to replay a run, for failure messages. */
export function replayHint(seed: number, file: string): string {
  return `seed ${seed}; replay with ${FUZZ_SEED_ENV}=${seed}${FUZZ_LONG ? ` ${FUZZ_LONG_ENV}=1` : ''} npx vitest run --project unit ${file}`;
}

export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0 || 1;
  }

  /** The next 32 random bits, as an unsigned integer. */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  /** In [0, 1). */
  float(): number {
    return this.next() / 2 ** 32;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi], both included. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** A choice weighted by the first element of each pair. */
  weighted<T>(table: readonly (readonly [number, T])[]): T {
    const total = table.reduce((n, [w]) => n + w, 0);
    let at = this.float() * total;
    for (const [w, value] of table) {
      if (at < w) return value;
      at -= w;
    }
    return table[table.length - 1][1];
  }

  bytes(n: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const r = this.next();
      out[i] = r & 0xff;
      if (i + 1 < n) out[i + 1] = (r >>> 8) & 0xff;
      if (i + 2 < n) out[i + 2] = (r >>> 16) & 0xff;
      if (i + 3 < n) out[i + 3] = r >>> 24;
    }
    return out;
  }
}

/** Memory-backed scratch space on Linux. */
const SHM_DIR = '/dev/shm';

/**
 * Where a fuzzer keeps its files: /dev/shm when it is there and writable,
 * else the temporary directory. A fuzzed agent creates and deletes tens of
 * thousands of files a second; on a disk file system (ext4 here) the kernel's
 * inode allocator, not the agent, then takes most of the run's time.
 */
export function fuzzScratch(): string {
  try {
    if (!statSync(SHM_DIR).isDirectory()) return tmpdir();
    accessSync(SHM_DIR, constants.W_OK);
    return SHM_DIR;
  } catch {
    return tmpdir();
  }
}
