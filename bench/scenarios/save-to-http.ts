import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { HELLO_NODE_DIR } from '../paths.ts';
import { freePort } from '../ports.ts';
import { loadSessionApi, type BenchSession } from '../skiff/session-api.ts';
import { summarize } from '../stats.ts';
import { SAVE_TO_HTTP } from '../targets.ts';
import { reason, type Scenario } from './scenario.ts';

/**
 * Save → new HTTP response, on examples/hello-node: edit message.js (the app
 * must restart to serve it), then poll the app until a response carries the
 * new message. The whole loop a developer feels: watch, sync, restart, serve.
 *
 * Needs: startSession({ dir, root, app: { run, env } }) → { ready, subscribe,
 * stop } from @skiff/daemon (skiff/session-api.ts), the agent running the app
 * with PORT from `env`.
 */

/** Poll period for the app: small next to the 300 ms target, cheap on loopback. */
const HTTP_POLL_MS = 5;
const APP_UP_TIMEOUT_MS = 30_000;
const RESPONSE_TIMEOUT_MS = 30_000;
/** Pause after each new response, so saves do not pile into one restart. */
const SAVE_GAP_MS = 100;

async function body(url: string): Promise<string | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return await res.text();
  } catch {
    return null; // restarting: connection refused or reset
  }
}

async function until(url: string, wanted: string, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if ((await body(url))?.includes(wanted)) return performance.now();
    if (performance.now() > deadline) throw new Error(`no response with "${wanted}" from ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, HTTP_POLL_MS));
  }
}

export const saveToHttp: Scenario = {
  id: 'save-to-http',
  title: 'save → new HTTP response (examples/hello-node)',
  async run(ctx) {
    const label = 'skiff daemon, app restarted';
    let skiff: Measured | Missing;
    const src = await ctx.freshDir('http-src');
    const root = await ctx.freshDir('http-root');
    let session: BenchSession | null = null;
    try {
      const startSession = await loadSessionApi();
      await cp(HELLO_NODE_DIR, src, { recursive: true });
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/`;
      session = await startSession({ dir: src, root, app: { run: 'node server.js', env: { PORT: String(port) } } });
      await session.ready;
      await until(url, 'Hello', APP_UP_TIMEOUT_MS);
      const latencies: number[] = [];
      for (let i = 0; i < ctx.profile.httpSaves; i++) {
        const message = `bench save ${i + 1} of run ${process.pid}`;
        const written = performance.now();
        await writeFile(join(src, 'message.js'), `export const message = '${message}';\n`);
        latencies.push((await until(url, message, RESPONSE_TIMEOUT_MS)) - written);
        await new Promise((r) => setTimeout(r, SAVE_GAP_MS));
      }
      ctx.log(`save → HTTP: p50 ${summarize(latencies).median.toFixed(0)} ms over ${latencies.length} saves`);
      skiff = measured(label, Unit.MS, latencies, [`${latencies.length} saves of message.js, app polled every ${HTTP_POLL_MS} ms`]);
    } catch (err) {
      skiff = { label, missing: reason(err) };
    } finally {
      await session?.stop();
      await removeDir(root);
      await removeDir(src);
    }
    const comparison: Comparison = { id: 'save-to-http', title: this.title, shape: Shape.LATENCY, skiff, reference: [], targets: SAVE_TO_HTTP };
    return [comparison];
  },
};
