import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ErrorCode, SkiffError } from '@skiff/protocol';

/**
 * The self-contained agent bundle (packages/agent/dist/bundle, assembled by
 * scripts/agent-bundle.mjs): this machine's node, its libraries and dynamic
 * loader, the bundled agent and its addon. Container targets ship it into
 * the app's container and start it through its own loader, so the app image
 * needs neither Node nor a given libc.
 */
export interface AgentBundle {
  /** Absolute directory of the bundle on this machine. */
  dir: string;
  /** Content digest of the bundle: names the agent image and volume, so a new skiff never runs a stale agent. */
  version: string;
  /** Bundle-relative paths, from manifest.json. */
  loader: string;
  libDir: string;
  node: string;
  entry: string;
}

interface Manifest {
  version: string;
  loader: string;
  libDir: string;
  node: string;
  entry: string;
}

export function findAgentBundle(): AgentBundle {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('@skiff/agent/package.json')), 'dist', 'bundle');
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new SkiffError(ErrorCode.AGENT_START, `the self-contained agent is not built (${manifestPath} is missing): run 'npm run build' in skiff's directory`);
  }
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  return { dir, version: m.version, loader: m.loader, libDir: m.libDir, node: m.node, entry: m.entry };
}
