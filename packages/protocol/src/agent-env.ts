/**
 * How a daemon (or a container spec) configures an agent it starts: through
 * environment variables, never the command line, so nothing shows in `ps`.
 * The token variable is in auth.ts.
 */

/** JSON of AppSpec: what the agent's supervisor runs. */
export const APP_CONFIG_ENV = 'SKIFF_APP';
/** "1": the agent exits when its stdin (a pipe from the daemon that started it) closes. */
export const EXIT_WITH_STDIN_ENV = 'SKIFF_AGENT_EXIT_WITH_STDIN';

/** The app part of skiff.yaml, as the agent receives it in SKIFF_APP. */
export interface AppSpec {
  run?: string;
  assemble?: string;
  /** Gitignore-style patterns: assemble runs only when a batch touches one (absent: on every restart). */
  assembleOn?: string[];
  /** Gitignore-style patterns the app reloads by itself: a batch touching only these restarts nothing. */
  hotReload?: string[];
  /** Added to the agent's own environment for run and assemble. */
  env?: Record<string, string>;
}
