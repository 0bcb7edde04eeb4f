import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readBundleManifest, type BundleManifest } from '@skiff/agent/bundle-manifest';

/**
 * The self-contained agent bundle (packages/agent/dist/bundle, assembled by
 * scripts/agent-bundle.mjs): this machine's node, its libraries and dynamic
 * loader, the bundled agent and its addon. Container targets ship it into
 * the app's container and start it through its own loader, so the app image
 * needs neither Node nor a given libc. Its manifest says how to launch it
 * and names it by content (`version`).
 */
export interface AgentBundle {
  /** Absolute directory of the bundle on this machine. */
  dir: string;
  manifest: BundleManifest;
}

export async function findAgentBundle(): Promise<AgentBundle> {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('@skiff/agent/package.json')), 'dist', 'bundle');
  return { dir, manifest: await readBundleManifest(dir) };
}
