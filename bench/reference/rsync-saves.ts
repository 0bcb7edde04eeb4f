import { removeDir } from '../location.ts';
import { timeSaves, type SaveTimes } from '../save-loop.ts';
import type { Context } from '../scenarios/scenario.ts';
import { withRsyncDaemon } from './rsync-daemon.ts';

/**
 * The reference for one saved file: rsync re-run after each save. It rescans
 * the whole tree every time, so each save costs about a no-change run, and a
 * few tens of saves give its distribution. Measured once per benchmark run
 * and shared by the scenarios that compare against it.
 */

/** Keeps rsync's picks apart from the other scenarios' picks. */
const RSYNC_SAVES_SALT = 0x5a5e01;

export function rsyncPerSave(ctx: Context): Promise<SaveTimes> {
  ctx.shared.rsyncSaves ??= (async () => {
    const dest = await ctx.freshDir('saves-rsync');
    try {
      return await withRsyncDaemon(dest, await ctx.freshDir('rsyncd'), async (d) => {
        await d.push(ctx.tree.root);
        return timeSaves({
          editor: ctx.editor,
          picks: ctx.editor.pick(ctx.profile.rerunSaves, RSYNC_SAVES_SALT),
          destRoot: dest,
          propagate: () => d.push(ctx.tree.root),
        });
      });
    } finally {
      await removeDir(dest);
    }
  })();
  return ctx.shared.rsyncSaves;
}
