import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sameContent, writeSparseFile } from '../big-file.ts';
import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { RSYNC_OPTIONS, startRsyncDaemon } from '../reference/rsync-daemon.ts';
import { runTimed } from '../proc.ts';
import { oneShotInChild } from '../skiff/oneshot-process.ts';
import { sparseAllocation } from '../targets.ts';
import { reason, type Context, type Scenario } from './scenario.ts';
import { summarize } from '../stats.ts';

/**
 * A sparse file (a disk image, a database preallocated with holes): does it
 * stay sparse on the other side? The project holds one file of large
 * apparent size with a few data extents; after a first sync, the disk the
 * copy takes (st_blocks) is the figure. skiff: a one-shot push with a fresh
 * agent. Reference: `rsync -a --sparse` into its daemon.
 */

const MIB = 2 ** 20;
const FILE_NAME = 'disk.img';
const SEED = 0x5fa25e;
const EXTENTS = 32;
const EXTENT_BYTES = 64 * 1024;
const BLOCK_BYTES = 512;
const RUNS = 3;

function allocatedMiB(path: string): number {
  return (statSync(path).blocks * BLOCK_BYTES) / MIB;
}

export const sparseFile: Scenario = {
  id: 'sparse-file',
  title: 'a sparse file',
  async run(ctx: Context) {
    const apparentMiB = ctx.profile.name === 'full' ? 1024 : 128;
    const src = await ctx.freshDir('sparse-src');
    const file = join(src, FILE_NAME);
    writeSparseFile(file, apparentMiB * MIB, EXTENTS, EXTENT_BYTES, SEED);
    const sourceMiB = allocatedMiB(file);
    const rsyncAlloc: number[] = [];
    const rsyncMs: number[] = [];
    const skiffAlloc: number[] = [];
    const skiffMs: number[] = [];
    const notes: string[] = [];
    let missing = '';
    try {
      for (let run = 0; run < RUNS; run++) {
        const dest = await ctx.freshDir('sparse-rsync');
        const rsync = await startRsyncDaemon(dest, await ctx.freshDir('rsyncd'));
        try {
          const r = await runTimed('rsync', ['-a', '--sparse', ...RSYNC_OPTIONS, `${src}/`, rsync.url]);
          rsyncMs.push(r.ms);
          rsyncAlloc.push(allocatedMiB(join(dest, FILE_NAME)));
        } finally {
          await rsync.stop();
          await removeDir(dest);
        }
        const root = await ctx.freshDir('sparse-skiff');
        try {
          await rm(join(src, '.skiff'), { recursive: true, force: true });
          const p = await oneShotInChild(src, { root });
          skiffMs.push(p.pushMs);
          skiffAlloc.push(allocatedMiB(join(root, FILE_NAME)));
          if (!sameContent(file, join(root, FILE_NAME))) notes.push(`run ${run + 1}: the agent's file differs from the source`);
        } catch (err) {
          missing = reason(err);
          notes.push(`run ${run + 1}: ${missing}`);
        } finally {
          await removeDir(root);
        }
      }
    } finally {
      await rm(src, { recursive: true, force: true });
    }
    const skiff: Measured | Missing = skiffAlloc.length
      ? measured('skiff push (first sync, fresh agent)', Unit.MIB, skiffAlloc, [`push time (median) ${summarize(skiffMs).median.toFixed(0)} ms`, ...notes])
      : { label: 'skiff push (first sync, fresh agent)', missing };
    const comparison: Comparison = {
      id: 'sparse-file',
      title: `a sparse file (${apparentMiB} MiB apparent, ${sourceMiB.toFixed(1)} MiB allocated) → disk used on the other side`,
      shape: Shape.RUNS,
      skiff,
      reference: [
        measured('rsync -a --sparse', Unit.MIB, rsyncAlloc, [`time (median) ${summarize(rsyncMs).median.toFixed(0)} ms, process start included`]),
      ],
      targets: sparseAllocation(sourceMiB),
    };
    return [comparison];
  },
};
