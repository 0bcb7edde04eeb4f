import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { HELLO_NODE_DIR } from '../paths.ts';
import { freePort } from '../ports.ts';
import { loadPushApi } from '../skiff/push-api.ts';
import { loadSessionApi, type BenchSession } from '../skiff/session-api.ts';
import { summarize } from '../stats.ts';
import { SAVE_TO_HTTP } from '../targets.ts';
import { reason, type Context, type Scenario } from './scenario.ts';

/**
 * Save → new HTTP response, on examples/hello-node: edit message.js (the app
 * must restart to serve it), then poll the app until a response carries the
 * new message. The whole loop a developer feels: see the save, sync it,
 * restart, serve. Two ways in:
 *   - the daemon (the target's subject). Needs startSession({ dir, root,
 *     app: { run, env } }) → { ready, subscribe, stop } from @skiff/daemon
 *     (skiff/session-api.ts);
 *   - a one-shot push per save into an agent that runs the app (SKIFF_APP),
 *     available today: the agent's commit → restart → serve path, plus a scan.
 */

/** Poll period for the app: small next to the 300 ms target, cheap on loopback. */
export const HTTP_POLL_MS = 5;
const APP_UP_TIMEOUT_MS = 30_000;
const RESPONSE_TIMEOUT_MS = 30_000;
const PUSH_TIMEOUT_MS = 60_000;
/** Agent and app output kept to explain an app that never answered. */
const OUTPUT_TAIL_CHARS = 600;
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

export async function until(url: string, wanted: string, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if ((await body(url))?.includes(wanted)) return performance.now();
    if (performance.now() > deadline) throw new Error(`no response with "${wanted}" from ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, HTTP_POLL_MS));
  }
}

/** Saves message.js `count` times; `propagate` runs after each write (a push, or nothing when a daemon watches). */
export async function timeResponses(src: string, url: string, count: number, propagate: () => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const message = `bench save ${i + 1} of run ${process.pid}`;
    const written = performance.now();
    await writeFile(join(src, 'message.js'), `export const message = '${message}';\n`);
    const [seen] = await Promise.all([until(url, message, RESPONSE_TIMEOUT_MS), propagate()]);
    latencies.push(seen - written);
    await new Promise((r) => setTimeout(r, SAVE_GAP_MS));
  }
  return latencies;
}

/** A fresh copy of the example app, its agent root and a free port; removed by `done`. */
async function workspace(ctx: Context, name: string) {
  const src = await ctx.freshDir(`${name}-src`);
  const root = await ctx.freshDir(`${name}-root`);
  await cp(HELLO_NODE_DIR, src, { recursive: true });
  const port = await freePort();
  return {
    src,
    root,
    url: `http://127.0.0.1:${port}/`,
    app: { run: 'node server.js', env: { PORT: String(port) } },
    done: async () => {
      await removeDir(root);
      await removeDir(src);
    },
  };
}

async function daemonSide(ctx: Context): Promise<Measured | Missing> {
  const label = 'skiff daemon, app restarted';
  let session: BenchSession | null = null;
  const ws = await workspace(ctx, 'http-daemon');
  try {
    const startSession = await loadSessionApi();
    session = await startSession({ dir: ws.src, root: ws.root, app: ws.app });
    await session.ready;
    await until(ws.url, 'Hello', APP_UP_TIMEOUT_MS);
    const latencies = await timeResponses(ws.src, ws.url, ctx.profile.httpSaves, async () => undefined);
    ctx.log(`save → HTTP (daemon): p50 ${summarize(latencies).median.toFixed(0)} ms`);
    return measured(label, Unit.MS, latencies, [`${latencies.length} saves of message.js, app polled every ${HTTP_POLL_MS} ms`]);
  } catch (err) {
    return { label, missing: reason(err) };
  } finally {
    await session?.stop();
    await ws.done();
  }
}

async function pushSide(ctx: Context): Promise<Measured | Missing> {
  const label = 'skiff push per save, app restarted';
  const ws = await workspace(ctx, 'http-push');
  try {
    const api = await loadPushApi();
    let output = '';
    const agent = await api.startLocalAgent({
      root: ws.root,
      appConfig: ws.app,
      onOutput: (_stream, data) => (output = (output + data.toString()).slice(-OUTPUT_TAIL_CHARS)),
    });
    try {
      const push = () => api.runPush({ dir: ws.src, timeoutMs: PUSH_TIMEOUT_MS, connect: () => api.AgentClient.connect(agent.url, agent.token) });
      await push();
      await until(ws.url, 'Hello', APP_UP_TIMEOUT_MS).catch((err: Error) => {
        throw new Error(`${err.message}; agent and app output: ${output.trim().replace(/\s+/g, ' ') || '(none)'}`);
      });
      const latencies = await timeResponses(ws.src, ws.url, ctx.profile.httpSaves, push);
      ctx.log(`save → HTTP (push per save): p50 ${summarize(latencies).median.toFixed(0)} ms`);
      return measured(label, Unit.MS, latencies, [`${latencies.length} saves of message.js, each followed by a runPush in this process`]);
    } finally {
      await agent.stop();
    }
  } catch (err) {
    return { label, missing: reason(err) };
  } finally {
    await ws.done();
  }
}

export const saveToHttp: Scenario = {
  id: 'save-to-http',
  title: 'save → new HTTP response (examples/hello-node)',
  async run(ctx) {
    const daemon = await daemonSide(ctx);
    const push = await pushSide(ctx);
    const base = { shape: Shape.LATENCY, reference: [] as Measured[] };
    return [
      { ...base, id: 'save-to-http', title: 'save → new HTTP response (daemon)', skiff: daemon, targets: SAVE_TO_HTTP },
      { ...base, id: 'save-to-http-push', title: 'save → new HTTP response (push per save)', skiff: push, targets: [] },
    ] satisfies Comparison[];
  },
};
