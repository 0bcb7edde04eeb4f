import { randomInt } from 'node:crypto';

/**
 * Seeds and a small deterministic generator for the fault tests. A run picks
 * a fresh seed unless SKIFF_FAULT_SEED names one, and every failure message
 * carries it, so a failing run can be replayed exactly. SKIFF_FAULT_LONG=1
 * asks for the long variants (more cut points, more kill rounds).
 */
export const FAULT_LONG = process.env.SKIFF_FAULT_LONG === '1';

const SEED_LIMIT = 2 ** 31;

export function faultSeed(): number {
  const given = process.env.SKIFF_FAULT_SEED;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`SKIFF_FAULT_SEED must be a positive integer, got ${JSON.stringify(given)}`);
    return n;
  }
  return randomInt(1, SEED_LIMIT);
}

export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi). */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  /** `n` distinct items, in a seeded order. */
  sample<T>(items: readonly T[], n: number): T[];
  bytes(n: number): Buffer;
}

/** xorshift32: fast, deterministic, plenty for picking cut points and file contents. */
export function prng(seed: number): Prng {
  let s = seed >>> 0 || 1;
  const u32 = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const next = () => u32() / 0x1_0000_0000;
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo));
  return {
    next,
    int,
    pick: (items) => items[int(0, items.length)],
    sample(items, n) {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = int(0, i + 1);
        [copy[i], copy[j]] = [copy[j], copy[i]];
      }
      return copy.slice(0, n);
    },
    bytes(n) {
      const buf = Buffer.allocUnsafe(n);
      let i = 0;
      for (; i + 4 <= n; i += 4) buf.writeUInt32LE(u32(), i);
      for (; i < n; i++) buf[i] = u32() & 0xff;
      return buf;
    },
  };
}
