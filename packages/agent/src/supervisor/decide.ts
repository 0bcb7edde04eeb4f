import { allMatch, type PathMatcher } from './patterns.ts';

/**
 * What the supervisor does with one committed batch, or with everything that
 * arrived while it was busy (batches and app spec changes, folded into one
 * decision). Pure: the caller supplies what it knows about the app.
 */
export const BatchAction = {
  /** Nothing: the app hot-reloads these paths, or nothing changed and it is up. */
  NONE: 'none',
  /** Stop the app (when running) and start it again. */
  RESTART: 'restart',
  /** Run assemble first; restart only when it succeeds. */
  ASSEMBLE_AND_RESTART: 'assemble-and-restart',
  /** There is no run command: nothing to start. */
  NO_COMMAND: 'no-command',
} as const;
export type BatchAction = (typeof BatchAction)[keyof typeof BatchAction];

export interface BatchFacts {
  /** Wire paths of the batches; empty for a verify-only commit or a spec change alone. */
  paths: readonly string[];
  /** Committed batches folded into this decision; 0 when only the app spec changed. */
  batches: number;
  /** The app spec changed since the last decision: the app restarts whatever the paths. */
  specChanged: boolean;
  /** The spec's assemble command changed: assemble runs again before that restart. */
  assembleChanged: boolean;
  hasRun: boolean;
  hasAssemble: boolean;
  /** The app is running, or waiting out a restart backoff: it is being kept up. */
  appActive: boolean;
  /**
   * Assemble has not succeeded since the agent started, or its last run
   * failed: the next start needs it whatever the batch touched.
   */
  assembleDirty: boolean;
  assembleOn: PathMatcher | null;
  hotReload: PathMatcher | null;
}

export interface BatchDecision {
  action: BatchAction;
  /** One line for the log: why. */
  reason: string;
}

/**
 * Invariants:
 * - exactly one restart per decision (the caller folds batches and spec
 *   changes);
 * - hot-reload never starts or keeps down an app: it only skips a restart of
 *   an app that is up, and never a restart for a changed spec;
 * - assemble runs before a start when configured and either needed (dirty,
 *   or its command changed), unconditional (no assembleOn, for a batch) or
 *   triggered (a path matches). A spec change alone re-runs assemble only
 *   when needed.
 */
export function decideBatch(facts: BatchFacts): BatchDecision {
  const { paths } = facts;
  if (!facts.hasRun) return { action: BatchAction.NO_COMMAND, reason: 'no run command' };

  if (facts.appActive && !facts.specChanged && paths.length === 0) {
    return { action: BatchAction.NONE, reason: 'nothing changed and the app is up' };
  }
  if (facts.appActive && !facts.specChanged && allMatch(facts.hotReload, paths)) {
    return { action: BatchAction.NONE, reason: `hot reload: ${describe(paths)} match hotReload` };
  }

  if (facts.hasAssemble) {
    if (facts.assembleDirty) {
      return { action: BatchAction.ASSEMBLE_AND_RESTART, reason: 'assemble has not succeeded yet' };
    }
    if (facts.assembleChanged) {
      return { action: BatchAction.ASSEMBLE_AND_RESTART, reason: 'the assemble command changed' };
    }
    if (facts.assembleOn === null && facts.batches > 0) {
      return { action: BatchAction.ASSEMBLE_AND_RESTART, reason: `${describe(paths)} changed` };
    }
    const trigger = paths.find((path) => facts.assembleOn?.(path) === true);
    if (trigger !== undefined) {
      return { action: BatchAction.ASSEMBLE_AND_RESTART, reason: `${trigger} matches assembleOn` };
    }
  }
  if (facts.specChanged) return { action: BatchAction.RESTART, reason: 'the app spec changed' };
  if (!facts.appActive) return { action: BatchAction.RESTART, reason: 'the app is not running' };
  return { action: BatchAction.RESTART, reason: `${describe(paths)} changed` };
}

function describe(paths: readonly string[]): string {
  if (paths.length === 0) return 'no paths';
  if (paths.length === 1) return paths[0];
  return `${paths.length} paths`;
}
