import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppConfig } from './config.ts';

/**
 * Source-to-image convention: a project without configured commands may carry
 * its own scripts at `.s2i/bin/assemble` and `.s2i/bin/run`.
 */
export const S2I_ASSEMBLE = '.s2i/bin/assemble';
export const S2I_RUN = '.s2i/bin/run';

export const CommandSource = { CONFIG: 'config', S2I: 's2i', NONE: 'none' } as const;
export type CommandSource = (typeof CommandSource)[keyof typeof CommandSource];

export interface ResolvedCommand {
  command: string;
  source: CommandSource;
}

export interface ResolvedCommands {
  run: ResolvedCommand | null;
  assemble: ResolvedCommand | null;
}

/**
 * The commands to use now. The S2I scripts are looked up at every start, not
 * at agent start: they arrive with the first sync, and a later sync may add
 * or remove them. A configured command always wins over a script.
 */
export async function resolveCommands(config: AppConfig): Promise<ResolvedCommands> {
  return {
    run: await resolveOne(config.run, config.workdir, S2I_RUN),
    assemble: await resolveOne(config.assemble, config.workdir, S2I_ASSEMBLE),
  };
}

async function resolveOne(configured: string | undefined, workdir: string, script: string): Promise<ResolvedCommand | null> {
  if (configured !== undefined && configured.trim() !== '') return { command: configured, source: CommandSource.CONFIG };
  const path = join(workdir, script);
  try {
    if (!(await stat(path)).isFile()) return null;
  } catch {
    return null;
  }
  // `exec` makes the script itself the process group leader's image, so it gets
  // the stop signal directly. A script synced without its execute bit still
  // runs, through sh.
  const executable = await access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
  return { command: executable ? `exec ${shellQuote(path)}` : `exec /bin/sh ${shellQuote(path)}`, source: CommandSource.S2I };
}

/** Quotes `text` as one word for /bin/sh. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
