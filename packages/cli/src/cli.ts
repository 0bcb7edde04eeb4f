import { parseArgs } from 'node:util';
import { ErrorCode, SKIFF_VERSION, SkiffError, asSkiffError } from '@skiff/protocol';
import { PUSH_HELP, PUSH_OPTIONS, pushCommand } from './commands/push.ts';
import type { CommandContext } from './context.ts';
import { colourEnabled, makeStyle } from './render/style.ts';

/**
 * The `skiff` command: parses arguments, runs one command, maps errors to a
 * message with its code and an exit status (1 failure, 2 usage).
 */
export const MAIN_HELP = `skiff ${SKIFF_VERSION} — keeps your source synced into a running app

Usage: skiff <command> [options]

Commands:
  push [DIR]     sync DIR into the agent once

Run 'skiff <command> --help' for the options of a command.
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
      case 'push': {
        const { values, positionals } = parse(rest, PUSH_OPTIONS, 1);
        if (values.help) return help(ctx, PUSH_HELP);
        return await pushCommand(
          { dir: positionals[0] ?? '.', target: values.target, localRoot: values['local-root'], agent: values.agent, tokenFile: values['token-file'], json: values.json },
          ctx,
        );
      }
      default:
        throw new SkiffError(ErrorCode.USAGE, `unknown command ${JSON.stringify(command)}; run 'skiff --help'`);
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

