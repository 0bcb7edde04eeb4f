import { ErrorCode, SkiffError, TOKEN_ENV } from '@skiff/protocol';
import { DEFAULT_HOST } from './server/defaults.ts';

/** The sync root unless --root says otherwise (odo's source directory in a container). */
export const DEFAULT_ROOT = '/tmp/src';
/** 0: any free port; the listening line reports the real one. */
export const DEFAULT_PORT = 0;
const MAX_PORT = 65_535;

export const USAGE = `usage: skiff-agent [--root DIR] [--host HOST] [--port N] [--token-file FILE]
       skiff-agent copy-to DIR
       skiff-agent seed FROM TO

Receives files from skiffd over an authenticated websocket and writes them under DIR.

  --root DIR         sync root, created when missing (default ${DEFAULT_ROOT})
  --host HOST        address to listen on (default ${DEFAULT_HOST})
  --port N           port to listen on, 0 for any free port (default ${DEFAULT_PORT})
  --token-file FILE  file holding the token, used when ${TOKEN_ENV} is not set
  --help             show this text

  copy-to DIR        copy this self-contained agent bundle (node, libraries, agent)
                     into DIR and exit: the agent image's default command
  seed FROM TO       copy FROM's content into the volume at TO unless TO was
                     seeded before, and exit: the copy-files-to-volume step

When listening, prints one JSON line to stdout:
  {"event":"listening","host":...,"port":...,"root":...,"pid":...}
`;

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'run'; root: string; host: string; port: number; tokenFile?: string }
  | { kind: 'copy-to'; dir: string }
  | { kind: 'seed'; from: string; to: string };

/** The sub-command that fills a volume with the agent bundle (see bundle/copy-to.ts). */
export const COPY_TO = 'copy-to';
/** The sub-command that seeds a source volume from the image (see bundle/seed.ts). */
export const SEED = 'seed';

const VALUE_FLAGS = ['--root', '--host', '--port', '--token-file'] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];

function isValueFlag(s: string): s is ValueFlag {
  return (VALUE_FLAGS as readonly string[]).includes(s);
}

/**
 * The agent's command line, parsed without touching the process: argv in,
 * options out, a SKIFF_E_USAGE error for anything else. The token never comes
 * from argv (a command line is visible to every process): it comes from the
 * environment or from a file.
 */
export function parseArgs(argv: readonly string[]): CliCommand {
  if (argv[0] === COPY_TO) return parseCopyTo(argv.slice(1));
  if (argv[0] === SEED) return parseSeed(argv.slice(1));
  const values: Partial<Record<ValueFlag, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (!isValueFlag(flag)) throw usage(`unknown argument ${JSON.stringify(arg)}`);
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i += 1;
    }
    if (value === undefined || value === '') throw usage(`${flag} needs a value`);
    if (values[flag] !== undefined) throw usage(`${flag} given twice`);
    values[flag] = value;
  }
  const cmd: CliCommand = {
    kind: 'run',
    root: values['--root'] ?? DEFAULT_ROOT,
    host: values['--host'] ?? DEFAULT_HOST,
    port: values['--port'] === undefined ? DEFAULT_PORT : parsePort(values['--port']),
  };
  if (values['--token-file'] !== undefined) cmd.tokenFile = values['--token-file'];
  return cmd;
}

function parseCopyTo(rest: readonly string[]): CliCommand {
  if (rest.includes('--help') || rest.includes('-h')) return { kind: 'help' };
  if (rest.length === 0 || rest[0] === '') throw usage(`${COPY_TO} needs a directory`);
  if (rest.length > 1) throw usage(`${COPY_TO} takes one directory, got ${JSON.stringify(rest.slice(1))} after it`);
  return { kind: 'copy-to', dir: rest[0] };
}

function parseSeed(rest: readonly string[]): CliCommand {
  if (rest.includes('--help') || rest.includes('-h')) return { kind: 'help' };
  if (rest.length !== 2 || rest.some((r) => r === '')) throw usage(`${SEED} takes two directories, FROM and TO`);
  return { kind: 'seed', from: rest[0], to: rest[1] };
}

function parsePort(s: string): number {
  const n = /^\d{1,5}$/.test(s) ? Number(s) : NaN;
  if (!(n >= 0 && n <= MAX_PORT)) throw usage(`--port must be a number from 0 to ${MAX_PORT}, got ${JSON.stringify(s)}`);
  return n;
}

function usage(message: string): SkiffError {
  return new SkiffError(ErrorCode.USAGE, `${message} (see skiff-agent --help)`);
}

/**
 * The token: ${TOKEN_ENV} when set, else the first line of --token-file.
 * Errors name where the token was looked for, never what it is.
 */
export function resolveToken(
  tokenFile: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string,
): string {
  const fromEnv = env[TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv.trim();
  if (tokenFile === undefined) {
    throw new SkiffError(ErrorCode.AUTH, `no token: set ${TOKEN_ENV} or pass --token-file FILE`);
  }
  let text: string;
  try {
    text = readFile(tokenFile);
  } catch (cause) {
    throw new SkiffError(ErrorCode.AUTH, `cannot read the token file ${tokenFile}: ${(cause as Error).message}`, { cause });
  }
  const token = text.split(/\r?\n/, 1)[0].trim();
  if (token === '') throw new SkiffError(ErrorCode.AUTH, `the token file ${tokenFile} is empty`);
  return token;
}
