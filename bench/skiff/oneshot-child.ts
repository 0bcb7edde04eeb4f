import { peakMiB, runChild } from './child-io.ts';
import type { AgentClient } from '@skiff/daemon';
import { loadPushApi, type LocalAgent } from './push-api.ts';
import { setPushV8Flags } from '@skiff/daemon/v8-flags';

// With the V8 options the skiff command and the daemon push with.
setPushV8Flags();

/**
 * One push in a process of its own, as `skiff push` runs it without a
 * session: the saved index is all the daemon side starts from. Prints one
 * JSON line.
 *
 *   node --import tsx bench/skiff/oneshot-child.ts DIR
 *     SKIFF_BENCH_AGENT_ROOT=ROOT   start a fresh local agent on ROOT inside the push (what
 *                                   `skiff push` does for the local target) and stop it after
 *     SKIFF_BENCH_AGENT_URL/_TOKEN  or connect to an agent that keeps running
 *
 * Every message handed to the socket is counted (wireBytes): what crossed
 * the link, whatever the push reports about itself. pushMs runs from the
 * runPush call to its result, the agent's start included when it is started
 * here; stopping that agent afterwards is reported apart (stopMs).
 */

const PUSH_TIMEOUT_MS = 10 * 60_000;

async function main(): Promise<Record<string, unknown>> {
  const dir = process.argv[2];
  const t0 = performance.now();
  const api = await loadPushApi();
  const imported = performance.now();
  let wireBytes = 0;
  const send = api.AgentClient.prototype.send;
  // The written callback goes through: without it the packer never gets its buffers back.
  api.AgentClient.prototype.send = function countedSend(this: AgentClient, message: Uint8Array, written?: () => void) {
    wireBytes += message.length;
    return send.call(this, message, written);
  };
  const agentRoot = process.env.SKIFF_BENCH_AGENT_ROOT;
  let agent: LocalAgent | null = null;
  let agentStartMs = 0;
  let connectMs = 0;
  let scannedMs = 0;
  const warnings: string[] = [];
  const result = await api.runPush({
    dir,
    timeoutMs: PUSH_TIMEOUT_MS,
    connect: async () => {
      const t = performance.now();
      let url = process.env.SKIFF_BENCH_AGENT_URL ?? '';
      let token = process.env.SKIFF_BENCH_AGENT_TOKEN ?? '';
      if (agentRoot) {
        agent = await api.startLocalAgent({ root: agentRoot });
        ({ url, token } = agent);
        agentStartMs = performance.now() - t;
      }
      const client = await api.AgentClient.connect(url, token);
      connectMs = performance.now() - t;
      return client;
    },
    onWarning: (w) => warnings.push(w.message),
    onScanned: () => (scannedMs = performance.now() - imported),
  });
  const done = performance.now();
  const started = agent as LocalAgent | null;
  await started?.stop();
  const stopped = performance.now();
  return {
    importMs: imported - t0,
    pushMs: done - imported,
    agentStartMs,
    connectMs,
    scannedMs,
    stopMs: stopped - done,
    wireBytes,
    peakMiB: peakMiB(),
    warnings,
    result: { ...result, problems: result.problems.length },
  };
}

runChild(main);
