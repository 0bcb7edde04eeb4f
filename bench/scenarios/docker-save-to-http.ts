import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerImages, dockerProblem } from '../docker-bench.ts';
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
 * Save → new HTTP response of examples/hello-node running in a container:
 * a daemon session on the Docker target (the example's skiff.yaml with
 * `target: docker`, a Node image, the app port published on 127.0.0.1), an
 * edit of message.js, then the app polled until a response carries the new
 * message: watch, sync through the published agent port, restart in the
 * container, serve. The same loop as save-to-http, one target further.
 */

/** The first start may build the agent image and fill its volume. */
const APP_UP_TIMEOUT_MS = 120_000;
const LABEL = 'skiff daemon, app in a container';
const APP_PORT = 8080;

/** The example's skiff.yaml, pointed at the Docker target and the image at hand. */
function projectYaml(image: string, hostPort: number): string {
  return [
    'name: bench-hello-docker',
    'target: docker',
    `image: ${JSON.stringify(image)}`,
    'run: node server.js',
    `ports: ["${hostPort}:${APP_PORT}"]`,
    'env:',
    `  PORT: "${APP_PORT}"`,
    '',
  ].join('\n');
}

async function daemonInContainer(ctx: Context, image: string): Promise<Measured | Missing> {
  const src = await ctx.freshDir('http-docker-src');
  await cp(HELLO_NODE_DIR, src, { recursive: true });
  const hostPort = await freePort();
  await writeFile(join(src, 'skiff.yaml'), projectYaml(image, hostPort));
  const url = `http://127.0.0.1:${hostPort}/`;
  const { Session } = await import('@skiff/daemon');
  const session = new Session({
    root: src,
    target: 'docker',
    log: (level, message) => {
      if (level === 'warn' || level === 'error') sessionWarnings.push(message);
    },
  });
  try {
    await session.ready;
    await until(url, 'Hello', APP_UP_TIMEOUT_MS);
    const latencies = await timeResponses(src, url, ctx.profile.httpSaves, async () => undefined);
    ctx.log(`save → HTTP (docker): p50 ${summarize(latencies).median.toFixed(0)} ms`);
    return measured(LABEL, Unit.MS, latencies, [
      `${latencies.length} saves of message.js, app polled every ${HTTP_POLL_MS} ms through its port published on 127.0.0.1`,
      'Tilt documents 1.1–1.8 s for this loop with live_update (not measured here)',
    ]);
  } catch (err) {
    return { label: LABEL, missing: reason(err) };
  } finally {
    // Stops the session and removes its container and volumes.
    await session.delete().catch(() => undefined);
    await removeDir(src);
  }
}

export const dockerSaveToHttp: Scenario = {
  id: 'docker-save-to-http',
  title: 'save → new HTTP response in a container (examples/hello-node)',
  async run(ctx) {
    const base = { id: 'docker-save-to-http', title: 'save → new HTTP response (container)', shape: Shape.LATENCY, reference: [], targets: SAVE_TO_HTTP };
    const problem = await dockerProblem();
    if (problem !== null) {
      ctx.log(`docker-save-to-http skipped: ${problem}`);
      return [{ ...base, skiff: { label: LABEL, missing: `skipped: ${problem}` } }] satisfies Comparison[];
    }
    const images = await dockerImages();
    try {
      return [{ ...base, skiff: await daemonInContainer(ctx, await images.node()) }] satisfies Comparison[];
    } finally {
      await images.release();
    }
  },
};
