import { SKIFF_VERSION, SkiffError, ErrorCode, asSkiffError } from '@skiff/protocol';
import { parseCommandArgs } from './args.ts';
import type { Command } from './command.ts';
import { daemonCommand } from './commands/daemon.ts';
import { devCommand } from './commands/dev.ts';
import { logsCommand } from './commands/logs.ts';
import { pushCommand } from './commands/push.ts';
import { sessionsCommand } from './commands/sessions.ts';
import { statusCommand } from './commands/status.ts';
import { deleteCommand } from './commands/delete.ts';
import { stopCommand } from './commands/stop.ts';
import type { CommandContext } from './context.ts';
import { EXIT, exitCodeOf, isSignalExit } from './exit.ts';
import { guardOutputs } from './output.ts';
import { colourEnabled, makeStyle } from './render/style.ts';

/**
 * The `skiff` command: parses arguments, runs one command, maps errors to a
 * message with its code and an exit status (exit.ts). An error is printed
 * once: as `error MESSAGE [CODE]` on stderr, or, when the command was asked
 * for JSON, as `{"ok":false,"error":{code,message}}` on stdout alone.
 */
export const COMMANDS: readonly Command[] = [devCommand, pushCommand, statusCommand, logsCommand, sessionsCommand, stopCommand, deleteCommand, daemonCommand];

export const MAIN_HELP = `skiff ${SKIFF_VERSION} — keeps your source synced into a running app

Usage: skiff <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Run 'skiff <command> --help' for the options of a command.
Colour follows the terminal; NO_COLOR=1 turns it off.
`;

export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const [command, ...rest] = argv;
  // Until the arguments are parsed, a --json among them is the best guess of what the caller reads.
  let json = rest.includes('--json');
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
        if (!cmd) throw new SkiffError(ErrorCode.USAGE, `unknown command ${JSON.stringify(command)}; see 'skiff --help'`);
        const { values, positionals } = parseCommandArgs(rest, { command: `skiff ${cmd.name}`, options: cmd.options, maxPositionals: cmd.maxPositionals });
        json = values.json === true;
        if (values.help) {
          ctx.stdout.write(cmd.help);
          return EXIT.OK;
        }
        return await cmd.run(values, positionals, ctx);
      }
    }
  } catch (err) {
    const e = asSkiffError(err);
    if (json) ctx.stdout.write(`${JSON.stringify({ ok: false, error: e.toJSON() })}\n`);
    else ctx.stderr.write(`${ctx.style.red('error')} ${e.message} [${e.code}]\n`);
    return exitCodeOf(e.code);
  }
}

/** Entry point when run as a program. */
export async function run(): Promise<void> {
  const { stdout, stderr, closed } = guardOutputs(process.stdout, process.stderr);
  const ctx: CommandContext = { stdout, stderr, env: process.env, style: makeStyle(colourEnabled(process.stderr)), outputClosed: closed };
  const code = await main(process.argv.slice(2), ctx);
  // An interrupted command may leave work it gave up on (a scan of a big
  // tree) still running; everything it started has been stopped: exit now.
  if (isSignalExit(code)) process.exit(code);
  process.exitCode = code;
}
