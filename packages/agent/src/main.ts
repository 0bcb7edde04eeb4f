import { readFileSync } from 'node:fs';
import { ErrorCode, TOKEN_ENV, asSkiffError, isSkiffError } from '@skiff/protocol';
import { USAGE, parseArgs, resolveToken, type CliCommand } from './cli-args.ts';
import type { AppHooks } from './hooks.ts';
import { startAgent } from './server/agent.ts';
import { noopHooks } from './server/noop-hooks.ts';

/**
 * skiff-agent: parse the command line, read the token, start receiving, print
 * the listening line. stdout carries only that JSON line (the daemon parses
 * it); everything else goes to stderr. The token is never printed, and it is
 * removed from the environment so that processes started later do not inherit it.
 */
const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

function fail(err: unknown, exitCode: number): never {
  const e = asSkiffError(err);
  process.stderr.write(`skiff-agent: ${e.code}: ${e.message}\n`);
  process.exit(exitCode);
}

async function main(): Promise<void> {
  let token: string;
  let cmd: Extract<CliCommand, { kind: 'run' }>;
  try {
    const parsed = parseArgs(process.argv.slice(2));
    if (parsed.kind === 'help') {
      process.stdout.write(USAGE);
      return;
    }
    cmd = parsed;
    token = resolveToken(cmd.tokenFile, process.env, (p) => readFileSync(p, 'utf8'));
  } catch (err) {
    fail(err, EXIT_USAGE);
  }
  delete process.env[TOKEN_ENV];

  // The app supervisor plugs in here: it provides the hooks the receiver calls after each batch.
  const hooks: AppHooks = noopHooks;

  const agent = await startAgent({ root: cmd.root, host: cmd.host, port: cmd.port, token, hooks });
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', host: agent.host, port: agent.port, root: agent.root, pid: process.pid })}\n`,
  );
}

main().catch((err: unknown) => fail(err, isSkiffError(err) && err.code === ErrorCode.AUTH ? EXIT_USAGE : EXIT_FAILURE));
