import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { Xorshift128 } from '../prng.ts';
import { tarPipe } from '../reference/tar-pipe.ts';
import { hashRate } from '../targets.ts';
import { reason, type Scenario } from './scenario.ts';

/**
 * Hashing must never be the bottleneck: skiff's content hash (xxhash64, the
 * protocol's hasher, fed 1 MiB chunks as the scan reads them) against the
 * rate at which the floor (the tar pipe) moves the tree's bytes.
 */

const CHUNK_BYTES = 1024 * 1024;
const HASH_BYTES = 128 * CHUNK_BYTES;
const HASH_RUNS = 5;
const BYTES_PER_GB = 1e9;

export const hashScenario: Scenario = {
  id: 'hash',
  title: 'content hash throughput',
  async run(ctx) {
    const label = 'skiff hasher (xxhash64 wasm, 1 MiB chunks)';
    let skiff: Measured | Missing;
    try {
      const protocol = (await import('@skiff/protocol')) as { loadHasher?: () => Promise<{ stream(): { update(c: Uint8Array): unknown; digest(): string } }> };
      if (typeof protocol.loadHasher !== 'function') throw new Error('@skiff/protocol has no loadHasher');
      const hasher = await protocol.loadHasher();
      const data = new Uint32Array(HASH_BYTES / 4);
      new Xorshift128(ctx.tree.spec.seed, HASH_BYTES).fill(data, data.length);
      const bytes = new Uint8Array(data.buffer);
      const rates: number[] = [];
      for (let run = 0; run < HASH_RUNS; run++) {
        const t0 = performance.now();
        const h = hasher.stream();
        for (let off = 0; off < bytes.length; off += CHUNK_BYTES) h.update(bytes.subarray(off, off + CHUNK_BYTES));
        h.digest();
        rates.push(HASH_BYTES / BYTES_PER_GB / ((performance.now() - t0) / 1000));
      }
      skiff = measured(label, Unit.GB_PER_S, rates, [`${HASH_BYTES / CHUNK_BYTES} MiB in memory per run, ${HASH_RUNS} runs`]);
    } catch (err) {
      skiff = { label, missing: reason(err) };
    }
    let tarMs = ctx.shared.tarPipeMs?.median;
    if (tarMs === undefined) {
      const dest = await ctx.freshDir('hash-tar');
      tarMs = await tarPipe(ctx.tree.root, dest);
      await removeDir(dest);
    }
    const floor = ctx.tree.totalBytes / BYTES_PER_GB / (tarMs / 1000);
    const comparison: Comparison = {
      id: 'hash',
      title: 'content hash throughput',
      shape: Shape.RUNS,
      skiff,
      reference: [measured('tar pipe moving the tree (the floor)', Unit.GB_PER_S, [floor], ['tree bytes / median first-sync time of the tar pipe'])],
      targets: hashRate(floor),
    };
    return [comparison];
  },
};
