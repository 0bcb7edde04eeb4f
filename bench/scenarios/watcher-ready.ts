import { join } from 'node:path';
import { measured, Shape, Unit, type Comparison, type Measured, type Missing, type Unit as UnitT } from '../figures.ts';
import { summarize } from '../stats.ts';
import { WATCHER_READY, WATCHER_RSS, watcherWatches } from '../targets.ts';
import { bundleProbe } from '../watchers/bundle.ts';
import { WatcherKind } from '../watchers/kinds.ts';
import { probeWatcher, type WatcherFigures } from '../watchers/probe.ts';
import { reason, type Scenario } from './scenario.ts';

/**
 * Watcher ready on the tree: skiff's watchTree (packages/daemon/src/watch)
 * beside @parcel/watcher and chokidar, each alone in a bundled probe process
 * on plain node. Three figures per watcher: time to ready, RSS once ready,
 * inotify watches held; plus the delay to report a file created after ready.
 *
 * Needs: watchTree(root, { isIgnored, onEvents, onError }) → { ready, close }
 * exported by packages/daemon/src/watch/watch-tree.ts.
 */

const LABELS: Record<WatcherKind, string> = {
  [WatcherKind.SKIFF]: 'skiff watchTree',
  [WatcherKind.PARCEL]: '@parcel/watcher',
  [WatcherKind.CHOKIDAR]: 'chokidar',
};

type Runs = WatcherFigures[] | { error: string };

export const watcherReady: Scenario = {
  id: 'watcher-ready',
  title: 'watcher ready on the tree',
  async run(ctx) {
    const kinds = [WatcherKind.SKIFF, WatcherKind.PARCEL, WatcherKind.CHOKIDAR];
    const runs = new Map<WatcherKind, Runs>();
    const bundles = new Map<WatcherKind, string>();
    for (const kind of kinds) {
      try {
        bundles.set(kind, await bundleProbe(kind));
        runs.set(kind, []);
      } catch (err) {
        runs.set(kind, { error: `not available: ${reason(err)}` });
      }
    }
    const touchDir = join(ctx.tree.root, ctx.tree.leafDirs[Math.floor(ctx.tree.leafDirs.length / 2)]);
    for (let run = 0; run < ctx.profile.watcherRuns; run++) {
      for (const kind of kinds) {
        const figures = runs.get(kind)!;
        if (!Array.isArray(figures)) continue;
        try {
          const f = await probeWatcher(bundles.get(kind)!, kind, ctx.tree.root, touchDir, run);
          figures.push(f);
          ctx.log(`watcher ${kind} run ${run + 1}: ready ${f.readyMs.toFixed(0)} ms, ${f.rssMiB.toFixed(0)} MiB, ${f.watches} watches`);
        } catch (err) {
          runs.set(kind, { error: reason(err) });
        }
      }
    }

    const side = (kind: WatcherKind, unit: UnitT, pick: (f: WatcherFigures) => number, notes: (fs: WatcherFigures[]) => string[] = () => []): Measured | Missing => {
      const figures = runs.get(kind)!;
      if (!Array.isArray(figures)) return { label: LABELS[kind], missing: figures.error };
      return measured(LABELS[kind], unit, figures.map(pick), notes(figures));
    };
    const refs = (unit: UnitT, pick: (f: WatcherFigures) => number) =>
      [WatcherKind.PARCEL, WatcherKind.CHOKIDAR].map((k) => side(k, unit, pick)).filter((s): s is Measured => !('missing' in s));
    const firstEvent = (fs: WatcherFigures[]) => {
      const seen = fs.map((f) => f.firstEventMs).filter((ms): ms is number => ms !== null);
      return [seen.length ? `a file created after ready was reported in ${summarize(seen).median.toFixed(0)} ms` : 'a file created after ready was NOT reported within 5 s'];
    };
    const base = { shape: Shape.RUNS } as const;
    const comparisons: Comparison[] = [
      { ...base, id: 'watcher-ready-time', title: 'watcher ready on the tree: time', skiff: side(WatcherKind.SKIFF, Unit.MS, (f) => f.readyMs, firstEvent), reference: refs(Unit.MS, (f) => f.readyMs), targets: WATCHER_READY },
      {
        ...base,
        id: 'watcher-ready-rss',
        title: 'watcher ready on the tree: RSS',
        skiff: side(WatcherKind.SKIFF, Unit.MIB, (f) => f.rssMiB, (fs) => [`node alone, before watching: ${summarize(fs.map((f) => f.baselineMiB)).median.toFixed(0)} MiB; peak ${summarize(fs.map((f) => f.peakMiB)).max.toFixed(0)} MiB`]),
        reference: refs(Unit.MIB, (f) => f.rssMiB),
        targets: WATCHER_RSS,
      },
      { ...base, id: 'watcher-ready-watches', title: 'watcher ready on the tree: inotify watches', skiff: side(WatcherKind.SKIFF, Unit.COUNT, (f) => f.watches), reference: refs(Unit.COUNT, (f) => f.watches), targets: watcherWatches(ctx.tree.dirCount) },
    ];
    return comparisons;
  },
};
