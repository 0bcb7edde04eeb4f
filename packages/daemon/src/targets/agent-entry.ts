import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AGENT_NODE_OPTIONS } from '@skiff/agent/bundle-manifest';

/**
 * How to start the agent program on this machine: the bundled file when the
 * workspace was built (plain node, fast start), else its TypeScript source
 * through tsx (development, tests before a build); with the agent's node
 * options either way.
 */
export function agentCommand(): { command: string; args: string[] } {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('@skiff/agent/package.json'));
  const bundled = join(pkgDir, 'dist', 'skiff-agent.js');
  if (existsSync(bundled) && process.env.SKIFF_AGENT_FROM_SOURCE !== '1') {
    return { command: process.execPath, args: [...AGENT_NODE_OPTIONS, bundled] };
  }
  return { command: process.execPath, args: [...AGENT_NODE_OPTIONS, '--import', 'tsx', join(pkgDir, 'src', 'main.ts')] };
}
