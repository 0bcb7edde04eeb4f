import type { Output } from './output.ts';
import type { Style } from './render/style.ts';

/** What a command needs from the process, passed in so tests can capture it. */
export interface CommandContext {
  stdout: Output;
  stderr: Output;
  env: NodeJS.ProcessEnv;
  style: Style;
  /** Settles when stdout or stderr lost its reader (see output.ts). */
  outputClosed: Promise<void>;
}
