import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { editInPlace, sameContent, writeRandomFile } from '../big-file.ts';
import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { RSYNC_OPTIONS, startRsyncDaemon } from '../reference/rsync-daemon.ts';
import { runTimed } from '../proc.ts';
import { loadPushApi, type LocalAgent } from '../skiff/push-api.ts';
import { oneShotInChild, type OneShot } from '../skiff/oneshot-process.ts';
import { summarize } from '../stats.ts';
import { DELTA_TIME, deltaBytes } from '../targets.ts';
import { reason, type Context, type Scenario } from './scenario.ts';

/**
 * 6 bytes changed in the middle of a large file (500 MiB in the full run),
 * in place, then synced again: what travels, and how long it takes. The
 * project holds that one file, so the figure is the file's, not a tree's.
 * skiff: a push in a new process with the saved index (as after a daemon
 * restart), into an agent kept running that holds the previous version;
 * every websocket message it sends is counted. rsync: its daemon holding the
 * previous version, `rsync -a --stats`, whose delta algorithm is on over a
 * network link; "Total bytes sent" is what the client sent. Runs are
 * interleaved, each run edits other bytes at another offset near the middle.
 */

const MIB = 2 ** 20;
const EDIT_BYTES = 6;
const FILE_NAME = 'big.bin';
const SEED = 0x0b16f11e;
const FULL_MIB = 500;
const QUICK_MIB = 64;
/** Offsets of successive runs' edits: apart by more than any block or chunk, never aligned to one. */
const RUN_STRIDE_BYTES = 3 * MIB + 4099;

function statValue(stdout: string, name: string): number {
  const m = new RegExp(`${name}: ([\\d,]+)`).exec(stdout);
  return m ? Number(m[1].replace(/,/g, '')) : Number.NaN;
}

function editFor(run: number, size: number): { offset: number; bytes: Buffer } {
  const bytes = Buffer.from(`#${run.toString(36).padStart(EDIT_BYTES - 1, '0')}`.slice(0, EDIT_BYTES));
  return { offset: Math.floor(size / 2) + run * RUN_STRIDE_BYTES, bytes };
}

interface Side {
  ms: number[];
  bytes: number[];
  notes: string[];
}

export const bigDelta: Scenario = {
  id: 'big-file-delta',
  title: '6 bytes changed in the middle of a large file',
  async run(ctx: Context) {
    const fileMiB = ctx.profile.name === 'full' ? FULL_MIB : QUICK_MIB;
    const size = fileMiB * MIB;
    const runs = ctx.profile.name === 'full' ? 5 : 3;
    const src = await ctx.freshDir('delta-src');
    const file = join(src, FILE_NAME);
    writeRandomFile(file, size, SEED);
    const rsyncDest = await ctx.freshDir('delta-rsync');
    const skiffRoot = await ctx.freshDir('delta-skiff');
    const rsync = await startRsyncDaemon(rsyncDest, await ctx.freshDir('rsyncd'));
    const rsyncSide: Side = { ms: [], bytes: [], notes: [] };
    const skiffSide: Side = { ms: [], bytes: [], notes: [] };
    const pushes: OneShot[] = [];
    let skiffMissing = '';
    let agent: LocalAgent | null = null;
    const rsyncRun = () => runTimed('rsync', ['-a', '--stats', ...RSYNC_OPTIONS, `${src}/`, rsync.url]);
    try {
      await rsyncRun();
      try {
        const api = await loadPushApi();
        agent = await api.startLocalAgent({ root: skiffRoot });
        await oneShotInChild(src, { url: agent.url, token: agent.token });
      } catch (err) {
        skiffMissing = reason(err);
      }
      const received: number[] = [];
      for (let run = 0; run < runs; run++) {
        const edit = editFor(run, size);
        editInPlace(file, edit.offset, edit.bytes);
        const r = await rsyncRun();
        rsyncSide.ms.push(r.ms);
        rsyncSide.bytes.push(statValue(r.stdout, 'Total bytes sent') / MIB);
        received.push(statValue(r.stdout, 'Total bytes received'));
        if (agent && !skiffMissing) {
          try {
            const p = await oneShotInChild(src, { url: agent.url, token: agent.token });
            pushes.push(p);
            skiffSide.ms.push(p.pushMs);
            skiffSide.bytes.push(p.wireBytes / MIB);
            if (p.result.uploaded !== 1 || !p.result.inSync) skiffSide.notes.push(`run ${run + 1}: uploaded ${p.result.uploaded}, inSync ${p.result.inSync}`);
          } catch (err) {
            skiffSide.notes.push(`run ${run + 1}: ${reason(err)}`);
          }
        }
        ctx.log(`delta run ${run + 1}/${runs}: rsync ${r.ms.toFixed(0)} ms ${rsyncSide.bytes.at(-1)!.toFixed(3)} MiB sent, skiff ${skiffSide.ms.at(-1)?.toFixed(0) ?? '-'} ms ${skiffSide.bytes.at(-1)?.toFixed(3) ?? '-'} MiB sent`);
      }
      rsyncSide.notes.push(`rsync -a --stats to its daemon; it also received ${summarize(received).median.toFixed(0)} bytes (block checksums) per run`);
      if (!sameContent(file, join(rsyncDest, FILE_NAME))) rsyncSide.notes.push('the destination differs from the source after the last run');
      if (pushes.length && !sameContent(file, join(skiffRoot, FILE_NAME))) skiffSide.notes.push("the agent's file differs from the source after the last run");
      if (pushes.length) {
        const med = (xs: number[]) => summarize(xs).median.toFixed(0);
        skiffSide.notes.unshift(`a push in a new process with the saved index, agent kept running; excluded: node start and module load ${med(pushes.map((p) => p.importMs))} ms`);
      }
    } finally {
      await agent?.stop();
      await rsync.stop();
      await removeDir(rsyncDest);
      await removeDir(skiffRoot);
      await rm(src, { recursive: true, force: true });
    }
    const side = (label: string, unit: typeof Unit.MS | typeof Unit.MIB, s: Side, samples: number[], notes: string[]): Measured | Missing =>
      samples.length ? measured(label, unit, samples, notes) : { label, missing: skiffMissing || s.notes.join('; ') || 'no run' };
    const title = `6 bytes changed in the middle of a ${fileMiB} MiB file`;
    return [
      {
        id: 'big-file-delta-bytes',
        title: `${title} → bytes sent`,
        shape: Shape.RUNS,
        skiff: side('skiff push', Unit.MIB, skiffSide, skiffSide.bytes, skiffSide.notes),
        reference: [measured('rsync (its delta algorithm)', Unit.MIB, rsyncSide.bytes, rsyncSide.notes)],
        targets: deltaBytes(fileMiB),
      },
      {
        id: 'big-file-delta-time',
        title: `${title} → time`,
        shape: Shape.RUNS,
        skiff: side('skiff push', Unit.MS, skiffSide, skiffSide.ms, []),
        reference: [measured('rsync (its delta algorithm)', Unit.MS, rsyncSide.ms, ['process start included'])],
        targets: DELTA_TIME,
      },
    ] satisfies Comparison[];
  },
};
