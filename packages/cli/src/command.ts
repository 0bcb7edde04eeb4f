import type { ParseArgsConfig } from 'node:util';
import type { CommandContext } from './context.ts';

/** One `skiff` command: its help, its options (node:util parseArgs) and what it does. */
export interface Command {
  name: string;
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Most positionals accepted. */
  maxPositionals: number;
  run(values: Record<string, string | boolean | undefined>, positionals: string[], ctx: CommandContext): Promise<number>;
}
