import { peakMiB, runChild } from './child-io.ts';
import { loadPushApi } from './push-api.ts';
import { setPushV8Flags } from '@skiff/daemon/v8-flags';

// With the V8 options the skiff command and the daemon push with.
setPushV8Flags();

/**
 * One push in a process of its own, so each run starts with the daemon side's
 * state as a restart leaves it: nothing in memory but what .skiff/index.json
 * holds, and code not yet warmed up by an earlier run. Prints one JSON line.
 *
 *   node --import tsx bench/skiff/push-child.ts DIR   (agent from SKIFF_BENCH_AGENT_URL / _TOKEN)
 *
 * Phases, from inside runPush: scanMs is from the call to the end of the
 * scan (runPush opens the connection meanwhile, connectMs; into an empty
 * agent the transfer starts during the scan); transferMs from when both are
 * done to the end.
 */

/** A push in the benchmark never needs the 15 minute default. */
const PUSH_TIMEOUT_MS = 10 * 60_000;

async function main(): Promise<Record<string, unknown>> {
  const dir = process.argv[2];
  const url = process.env.SKIFF_BENCH_AGENT_URL ?? '';
  const token = process.env.SKIFF_BENCH_AGENT_TOKEN ?? '';
  const t0 = performance.now();
  const api = await loadPushApi();
  const imported = performance.now();
  let connectAsked = 0;
  let connected = 0;
  let scanned = 0;
  const warnings: string[] = [];
  const result = await api.runPush({
    dir,
    timeoutMs: PUSH_TIMEOUT_MS,
    connect: async () => {
      connectAsked = performance.now();
      const client = await api.AgentClient.connect(url, token);
      connected = performance.now();
      return client;
    },
    onWarning: (w) => warnings.push(w.message),
    onScanned: () => (scanned = performance.now()),
  });
  const done = performance.now();
  return {
    importMs: imported - t0,
    pushMs: done - imported,
    // The connection is opened while the scan runs: the transfer starts once both are done.
    scanMs: (scanned || connectAsked) - imported,
    connectMs: connected - connectAsked,
    transferMs: done - Math.max(scanned || connectAsked, connected),
    peakMiB: peakMiB(),
    warnings,
    result: { ...result, problems: result.problems.length },
  };
}

runChild(main);
