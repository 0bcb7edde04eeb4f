import { parseArgs } from 'node:util';
import { ErrorCode, SKIFF_VERSION, SkiffError, asSkiffError } from '@skiff/protocol';
import type { Command } from './command.ts';
import { daemonCommand } from './commands/daemon.ts';
import { devCommand } from './commands/dev.ts';
import { logsCommand } from './commands/logs.ts';
import { pushCommand } from './commands/push.ts';
import { sessionsCommand } from './commands/sessions.ts';
import { statusCommand } from './commands/status.ts';
import { stopCommand } from './commands/stop.ts';
import type { CommandContext } from './context.ts';
import { colourEnabled, makeStyle } from './render/style.ts';

/**
 * The `skiff` command: parses arguments, runs one command, maps errors to a
 * message with its code and an exit status (1 failure, 2 usage).
 */
export const COMMANDS: readonly Command[] = [devCommand, pushCommand, statusCommand, logsCommand, sessionsCommand, stopCommand, daemonCommand];

export const MAIN_HELP = `skiff ${SKIFF_VERSION} — keeps your source synced into a running app

Usage: skiff <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Run 'skiff <command> --help' for the options of a command.
Colour follows the terminal; NO_COLOR=1 turns it off.
`;

export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const [command, ...rest] = argv;
  const wantsJson = rest.includes('--json');
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        ctx.stdout.write(MAIN_HELP);
        return command === undefined ? EXIT.USAGE : EXIT.OK;
      case '--version':
      case 'version':
        ctx.stdout.write(`skiff ${SKIFF_VERSION}\n`);
        return EXIT.OK;
      default: {
        const cmd = COMMANDS.find((c) => c.name === command);
        if (!cmd) throw new SkiffError(ErrorCode.USAGE, `unknown command ${JSON.stringify(command)}; run 'skiff --help'`);
        const { values, positionals } = parse(rest, cmd.options, cmd.maxPositionals);
        if (values.help) return help(ctx, cmd.help);
        return await cmd.run(values as Record<string, string | boolean | undefined>, positionals, ctx);
      }
    }
  } catch (err) {
    const e = asSkiffError(err);
    if (wantsJson) ctx.stdout.write(`${JSON.stringify({ ok: false, error: e.toJSON() })}\n`);
    ctx.stderr.write(`${ctx.style.red('error')} ${e.message} [${e.code}]\n`);
    return e.code === ErrorCode.USAGE ? EXIT.USAGE : EXIT.FAILURE;
  }
}

function help(ctx: CommandContext, text: string): number {
  ctx.stdout.write(text);
  return EXIT.OK;
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** parseArgs with usage errors carrying SKIFF_E_USAGE and a bound on positionals. */
function parse<O extends Options>(args: string[], options: O, maxPositionals: number) {
  try {
    const parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
    if (parsed.positionals.length > maxPositionals) {
      throw new SkiffError(ErrorCode.USAGE, `unexpected argument ${JSON.stringify(parsed.positionals[maxPositionals])}`);
    }
    return parsed;
  } catch (err) {
    if (err instanceof SkiffError) throw err;
    throw new SkiffError(ErrorCode.USAGE, (err as Error).message, { cause: err });
  }
}

/** Entry point when run as a program. */
export async function run(): Promise<void> {
  const ctx: CommandContext = { stdout: process.stdout, stderr: process.stderr, env: process.env, style: makeStyle(colourEnabled(process.stderr)) };
  process.exitCode = await main(process.argv.slice(2), ctx);
}

