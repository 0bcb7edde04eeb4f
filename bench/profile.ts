import { REFERENCE_FILES } from './tree.ts';

/**
 * How much each scenario does. The full profile is sized for DESIGN's
 * reference tree within 10 minutes on 2 cores; --quick keeps every scenario
 * but shrinks the tree and the counts to stay under a minute. Runs of the
 * tools being compared are interleaved (rsync, tar, skiff, rsync, ...) so a
 * slow spell of the machine lands on all of them.
 */
export interface Profile {
  name: 'full' | 'quick';
  files: number;
  /** Repetitions of a first full sync, per tool. */
  firstSyncRuns: number;
  /** Repetitions of a no-change run, per tool and variant. */
  noChangeRuns: number;
  /** Saves timed with a whole-tree re-run per save (rsync, one-shot push): each costs a full scan. */
  rerunSaves: number;
  /** Saves timed through the long-running daemon (DESIGN asks for at least 200). */
  daemonSaves: number;
  /** Files rewritten at once in a storm. */
  stormFiles: number;
  stormRuns: number;
  watcherRuns: number;
  httpSaves: number;
}

export const FULL: Profile = {
  name: 'full',
  files: REFERENCE_FILES,
  firstSyncRuns: 3,
  noChangeRuns: 5,
  rerunSaves: 20,
  daemonSaves: 200,
  stormFiles: 5_000,
  stormRuns: 3,
  watcherRuns: 3,
  httpSaves: 50,
};

export const QUICK: Profile = {
  name: 'quick',
  files: 5_000,
  firstSyncRuns: 2,
  noChangeRuns: 3,
  rerunSaves: 10,
  daemonSaves: 30,
  stormFiles: 500,
  stormRuns: 1,
  watcherRuns: 1,
  httpSaves: 10,
};
