import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProjectConfig } from '@skiff/daemon';
import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { HELLO_NODE_DIR } from '../paths.ts';
import { freePort } from '../ports.ts';
import { sessionWarnings } from '../skiff/session-api.ts';
import { summarize } from '../stats.ts';
import { SAVE_TO_HTTP } from '../targets.ts';
import { reason, type Context, type Scenario } from './scenario.ts';
import { HTTP_POLL_MS, timeResponses, until } from './save-to-http.ts';

/**
 * Save → new HTTP response of examples/hello-node running where a skiff
 * target puts it: a daemon session on that target (the example's skiff.yaml
 * with the target, a Node image, the app port reachable on 127.0.0.1), an
 * edit of message.js, then the app polled until a response carries the new
 * message: watch, sync to the agent, restart there, serve. The same loop as
 * save-to-http, one target further; each target (docker-save-to-http.ts,
 * cluster-save-to-http.ts) brings its images and its words.
 */

/** The container side of the example's app port. */
const APP_PORT = 8080;

/** The images a target's skiff.yaml names, open for the scenario and let go after it. */
export interface SaveToHttpImages {
  image: string;
  /** skiff.yaml's agentImage, when the target needs one of its own. */
  agentImage?: string;
  release(): Promise<void>;
}

export interface SaveToHttpTarget {
  id: string;
  title: string;
  /** The figure's title. */
  figure: string;
  label: string;
  target: ProjectConfig['target'];
  /** skiff.yaml's name for the example. */
  projectName: string;
  /** Names the fresh directory the example is copied to. */
  dirName: string;
  /** How long the app may take to answer first (the first start may build or load images). */
  appUpTimeoutMs: number;
  /** How the app's port is reached from here, for the notes. */
  reach: string;
  /** What the peers do and document for this loop, for the notes. */
  peers: string;
  /** Why the target cannot be measured here, or null. */
  problem(): Promise<string | null>;
  images(): Promise<SaveToHttpImages>;
}

/** The example's skiff.yaml, pointed at the target and the images at hand. */
function projectYaml(target: SaveToHttpTarget, images: SaveToHttpImages, hostPort: number): string {
  return [
    `name: ${target.projectName}`,
    `target: ${target.target}`,
    `image: ${JSON.stringify(images.image)}`,
    ...(images.agentImage === undefined ? [] : [`agentImage: ${JSON.stringify(images.agentImage)}`]),
    'run: node server.js',
    `ports: ["${hostPort}:${APP_PORT}"]`,
    'env:',
    `  PORT: "${APP_PORT}"`,
    '',
  ].join('\n');
}

async function daemonOnTarget(ctx: Context, target: SaveToHttpTarget, images: SaveToHttpImages): Promise<Measured | Missing> {
  const src = await ctx.freshDir(target.dirName);
  await cp(HELLO_NODE_DIR, src, { recursive: true });
  const hostPort = await freePort();
  await writeFile(join(src, 'skiff.yaml'), projectYaml(target, images, hostPort));
  const url = `http://127.0.0.1:${hostPort}/`;
  const { Session } = await import('@skiff/daemon');
  const session = new Session({
    root: src,
    target: target.target,
    log: (level, message) => {
      if (level === 'warn' || level === 'error') sessionWarnings.push(message);
    },
  });
  try {
    await session.ready;
    await until(url, 'Hello', target.appUpTimeoutMs);
    const latencies = await timeResponses(src, url, ctx.profile.httpSaves, async () => undefined);
    ctx.log(`save → HTTP (${target.target}): p50 ${summarize(latencies).median.toFixed(0)} ms`);
    return measured(target.label, Unit.MS, latencies, [`${latencies.length} saves of message.js, app polled every ${HTTP_POLL_MS} ms through ${target.reach}`, target.peers]);
  } catch (err) {
    return { label: target.label, missing: reason(err) };
  } finally {
    // Stops the session and removes what the target made for it.
    await session.delete().catch(() => undefined);
    await removeDir(src);
  }
}

export function targetSaveToHttp(target: SaveToHttpTarget): Scenario {
  return {
    id: target.id,
    title: target.title,
    async run(ctx) {
      const base = { id: target.id, title: target.figure, shape: Shape.LATENCY, reference: [], targets: SAVE_TO_HTTP };
      const problem = await target.problem();
      if (problem !== null) {
        ctx.log(`${target.id} skipped: ${problem}`);
        return [{ ...base, skiff: { label: target.label, missing: `skipped: ${problem}` } }] satisfies Comparison[];
      }
      const images = await target.images();
      try {
        return [{ ...base, skiff: await daemonOnTarget(ctx, target, images) }] satisfies Comparison[];
      } finally {
        await images.release();
      }
    },
  };
}
