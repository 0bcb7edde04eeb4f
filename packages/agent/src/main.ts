import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, EXIT_WITH_STDIN_ENV, TOKEN_ENV, asSkiffError, isSkiffError } from '@skiff/protocol';
import { copyBundle } from './bundle/copy-to.ts';
import { seedVolume } from './bundle/seed.ts';
import { USAGE, parseArgs, resolveToken, type CliCommand } from './cli-args.ts';
import { installInit } from './init/init.ts';
import { startAgent } from './server/agent.ts';
import { appConfigFromEnv } from './supervisor/config.ts';
import { Supervisor } from './supervisor/supervisor.ts';

/** Exit code for a bad command line or a missing token (the shells' usage code). */
const EXIT_USAGE = 2;
/** Exit code for any other failure to start. */
const EXIT_FAILURE = 1;

function fail(err: unknown, exitCode: number): never {
  const e = asSkiffError(err);
  process.stderr.write(`skiff-agent: ${e.code}: ${e.message}\n`);
  process.exit(exitCode);
}

/** `copy-to DIR` (the agent image's default command): the bundle is the directory of this bundled file. */
async function copyTo(dir: string): Promise<void> {
  try {
    const copied = await copyBundle(fileURLToPath(new URL('.', import.meta.url)), resolve(dir));
    process.stdout.write(`${JSON.stringify({ event: 'copied', ...copied })}\n`);
  } catch (err) {
    fail(err, EXIT_FAILURE);
  }
}

/** `seed FROM TO` (the copy-files-to-volume step): the image's workdir into the source volume, once. */
async function seed(from: string, to: string): Promise<void> {
  try {
    const seeded = await seedVolume(resolve(from), resolve(to));
    process.stdout.write(`${JSON.stringify({ event: 'seeded', ...seeded })}\n`);
  } catch (err) {
    fail(err, EXIT_FAILURE);
  }
}

/**
 * skiff-agent: parse the command line, read the token, start receiving, print
 * the listening line. stdout carries only that JSON line (the daemon parses
 * it); everything else goes to stderr. The token is never printed, and it is
 * removed from the environment so that processes started later do not inherit it.
 */
async function main(): Promise<void> {
  let token: string;
  let cmd: Extract<CliCommand, { kind: 'run' }>;
  try {
    const parsed = parseArgs(process.argv.slice(2));
    if (parsed.kind === 'help') {
      process.stdout.write(USAGE);
      return;
    }
    if (parsed.kind === 'copy-to') {
      await copyTo(parsed.dir);
      return;
    }
    if (parsed.kind === 'seed') {
      await seed(parsed.from, parsed.to);
      return;
    }
    cmd = parsed;
    token = resolveToken(cmd.tokenFile, process.env, (p) => readFileSync(p, 'utf8'));
  } catch (err) {
    fail(err, EXIT_USAGE);
  }
  delete process.env[TOKEN_ENV];
  // The app's output is copied to our stdout; a reader that went away must not kill the agent.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);

  let supervisor: Supervisor;
  try {
    supervisor = new Supervisor({ config: appConfigFromEnv(process.env, resolve(cmd.root)) });
  } catch (err) {
    fail(err, EXIT_USAGE);
  }
  const log = (message: string) => process.stderr.write(`skiff-agent: ${message}\n`);
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  // Signals are handled from here on: as PID 1, a signal without a handler is ignored.
  installInit({ supervisor, log, onShutdown: () => agent?.close() });
  if (process.env[EXIT_WITH_STDIN_ENV] === '1') {
    // Started by a daemon on this machine: when it goes (even by SIGKILL) our
    // stdin closes, and the agent stops its app and exits rather than linger.
    process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
    process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
    process.stdin.resume();
  }

  agent = await startAgent({ root: cmd.root, host: cmd.host, port: cmd.port, token, hooks: supervisor });
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', host: agent.host, port: agent.port, root: agent.root, pid: process.pid })}\n`,
  );
}

main().catch((err: unknown) => fail(err, isSkiffError(err) && err.code === ErrorCode.AUTH ? EXIT_USAGE : EXIT_FAILURE));
