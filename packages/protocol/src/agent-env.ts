/*
 * How a daemon (or a container spec) configures an agent it starts: through
 * environment variables, never the command line, so nothing shows in `ps`.
 * The token variable is in auth.ts.
 */

/**
 * JSON of AppSpec (app-spec.ts): the spec the agent's supervisor starts with.
 * A daemon that is connected replaces it with APP_SPEC frames; SKIFF_APP
 * alone configures an agent started by hand.
 */
export const APP_CONFIG_ENV = 'SKIFF_APP';
/** "1": the agent exits when its stdin (a pipe from the daemon that started it) closes. */
export const EXIT_WITH_STDIN_ENV = 'SKIFF_AGENT_EXIT_WITH_STDIN';
