import type { Editor } from '../edits.ts';
import type { Comparison } from '../figures.ts';
import type { Profile } from '../profile.ts';
import type { SaveTimes } from '../save-loop.ts';
import type { Summary } from '../stats.ts';
import type { GeneratedTree } from '../tree.ts';

/**
 * A scenario measures skiff and its reference on the same tree in the same
 * run and returns comparisons. A skiff API that is not there yet makes the
 * skiff side Missing, never the whole scenario fail: the reference is still
 * measured and the run goes on.
 */

/** Figures one scenario measures and another reuses, so the run does not pay for them twice. */
export interface Shared {
  /** The tar pipe's first full sync times (ms), from first-sync. */
  tarPipeMs?: Summary;
  /** rsync re-run per save, measured once and compared against by every save scenario. */
  rsyncSaves?: Promise<SaveTimes>;
}

export interface Context {
  profile: Profile;
  tree: GeneratedTree;
  /** Saves to the source tree, deterministic from the seed. */
  editor: Editor;
  shared: Shared;
  /** A new empty directory for a destination or agent root, removed when the run ends. */
  freshDir(name: string): Promise<string>;
  /** A progress line on stderr (the table goes to stdout). */
  log(line: string): void;
}

export interface Scenario {
  id: string;
  title: string;
  run(ctx: Context): Promise<Comparison[]>;
}

/** The message of anything thrown, first line only, for a Missing figure. */
export function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
