import { request } from 'node:http';

/** How often a starting agent is asked whether it listens yet. */
export const AGENT_PROBE_INTERVAL_MS = 100;
/** How long one probe may take. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Whether a skiff agent answers at `httpUrl` (its plain HTTP answer to a
 * request that is not an upgrade is 426). A published port of a container
 * whose agent has not bound yet refuses or resets the connection instead.
 */
export function agentAnswers(httpUrl: string): Promise<boolean> {
  return new Promise((resolve) => {
    // No keep-alive (Node's global agent keeps sockets 5 s): an idle probe socket would hold a
    // one-shot push's process that long after its push, and a port-forward open with it.
    const req = request(httpUrl, { method: 'GET', timeout: PROBE_TIMEOUT_MS, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 426);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Polls until the agent answers, `check` throws (the place it runs in
 * failed: the error says why), or `deadline` (ms since the epoch) passes,
 * when `onTimeout` gives the error.
 */
export async function waitForAgent(httpUrl: string, opts: { deadline: number; check: () => Promise<void>; onTimeout: () => Promise<Error> }): Promise<void> {
  for (;;) {
    if (await agentAnswers(httpUrl)) return;
    await opts.check();
    if (Date.now() > opts.deadline) throw await opts.onTimeout();
    await new Promise((r) => setTimeout(r, AGENT_PROBE_INTERVAL_MS));
  }
}
