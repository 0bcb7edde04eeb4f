import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { connectControl, ensureDaemon, isDaemonNotRunning, runtimePaths, type ControlConnection, type RuntimePaths } from '@skiff/daemon/control';

/**
 * How the CLI reaches skiffd: through the per-user socket, starting the
 * daemon first when a command needs one. Only the light control client is
 * imported here, so commands that talk to a running daemon start fast.
 */
export function daemonPaths(env: NodeJS.ProcessEnv = process.env): RuntimePaths {
  return runtimePaths(env, homedir());
}

/** The daemon program: its bundle when built, else its source through tsx. */
export function daemonCommand(): { command: string; args: string[] } {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('@skiff/daemon/package.json'));
  const bundled = join(pkgDir, 'dist', 'skiffd.js');
  if (existsSync(bundled)) return { command: process.execPath, args: [bundled] };
  return { command: process.execPath, args: ['--import', 'tsx', join(pkgDir, 'src', 'main.ts')] };
}

/** Connects to the running daemon, starting one when none runs. */
export async function connectOrStartDaemon(env: NodeJS.ProcessEnv): Promise<ControlConnection> {
  const { connection } = await ensureDaemon({ paths: daemonPaths(env), daemonCommand: daemonCommand() });
  return connection;
}

/** Connects to the running daemon, or returns null when none runs. */
export async function connectIfRunning(env: NodeJS.ProcessEnv): Promise<ControlConnection | null> {
  try {
    return await connectControl({ socketPath: daemonPaths(env).socketPath });
  } catch (err) {
    if (isDaemonNotRunning(err)) return null;
    throw err;
  }
}
