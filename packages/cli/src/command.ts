import type { OptionSpecs, OptionValues } from './args.ts';
import type { CommandContext } from './context.ts';

/** One `skiff` command: its help, its options and what it does. */
export interface Command {
  name: string;
  summary: string;
  help: string;
  options: OptionSpecs;
  /** Most positionals accepted. */
  maxPositionals: number;
  run(values: OptionValues, positionals: string[], ctx: CommandContext): Promise<number>;
}
