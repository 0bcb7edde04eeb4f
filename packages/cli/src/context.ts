import type { Style } from './render/style.ts';

/** What a command needs from the process, passed in so tests can capture it. */
export interface CommandContext {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  style: Style;
}
