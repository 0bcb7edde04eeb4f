import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseOptions, USAGE, type Options } from './args.ts';
import { killTracked } from './cleanup.ts';
import { Editor } from './edits.ts';
import type { Comparison } from './figures.ts';
import { makeRunDir, removeDir, type Placement } from './location.ts';
import { machine, versions } from './machine.ts';
import { versionLine } from './proc.ts';
import { RESULTS_DIR } from './paths.ts';
import { behindLines, detailText, summaryTable, verdictsOf, writeJson } from './report.ts';
import { clusterFirstSync, clusterSaveToHttp, dockerFirstSync, dockerSaveToHttp, firstSync, hashScenario, noChange, saveRerun, saveToHttp, saveToRoot, stormScenario, watcherReady } from './scenarios/index.ts';
import { bigDelta, pushOneShot, rapidSaves, sessionNoChange, sparseFile } from './scenarios/index.ts';
import type { Context, Scenario } from './scenarios/scenario.ts';
import { checkTree } from './tree-check.ts';
import { agentMode } from './skiff/push-api.ts';
import { sessionWarnings } from './skiff/session-api.ts';
import { generateTree, specFor } from './tree.ts';

/**
 * npm run bench: builds the reference tree on tmpfs, runs every scenario with
 * skiff and its reference side by side, prints the figures and a summary
 * table, and writes bench/results/latest.json. Progress goes to stderr, the
 * report to stdout.
 */

/**
 * In the order they run: the tar pipe figure of first-sync is reused by hash.
 * The Docker and Kubernetes scenarios come last and are skipped, with the
 * reason, when no engine answers or no test cluster is built.
 */
const SCENARIOS: Scenario[] = [firstSync, noChange, saveRerun, saveToRoot, stormScenario, watcherReady, saveToHttp, hashScenario];
// The figures of DESIGN's later rows: one-shot and in-session no-change, rapid saves, big files.
SCENARIOS.splice(2, 0, pushOneShot, sessionNoChange);
SCENARIOS.splice(SCENARIOS.indexOf(saveToRoot) + 1, 0, rapidSaves);
SCENARIOS.push(bigDelta, sparseFile, dockerFirstSync, dockerSaveToHttp, clusterFirstSync, clusterSaveToHttp);

const MIB = 2 ** 20;

interface ScenarioOutcome {
  id: string;
  title: string;
  ms: number;
  comparisons: Comparison[];
  error?: string;
  /** Set when the source tree was not intact after the scenario (it is then rebuilt). */
  sourceDamage?: string;
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function runScenarios(opts: Options, placement: Placement): Promise<{ outcomes: ScenarioOutcome[]; tree: ReturnType<typeof generateTree> }> {
  const spec = specFor(opts.profile.files, opts.seed);
  const tree = generateTree(join(placement.dir, 'src'), spec);
  log(`tree: ${tree.files.length.toLocaleString('en-US')} files, ${tree.dirCount.toLocaleString('en-US')} dirs, ${(tree.totalBytes / MIB).toFixed(1)} MiB, generated in ${(tree.generateMs / 1000).toFixed(1)} s`);
  let dirs = 0;
  const ctx: Context = {
    profile: opts.profile,
    tree,
    editor: new Editor(tree.root, tree),
    shared: {},
    freshDir: async (name) => {
      const dir = join(placement.dir, `${name}-${++dirs}`);
      await mkdir(dir, { recursive: true });
      return dir;
    },
    log,
  };
  const outcomes: ScenarioOutcome[] = [];
  for (const scenario of SCENARIOS) {
    if (opts.only && !opts.only.includes(scenario.id)) continue;
    log(`scenario ${scenario.id}: ${scenario.title}`);
    const started = performance.now();
    try {
      const comparisons = await scenario.run(ctx);
      outcomes.push({ id: scenario.id, title: scenario.title, ms: performance.now() - started, comparisons });
    } catch (err) {
      const error = (err as Error).message;
      log(`scenario ${scenario.id} failed: ${error}`);
      outcomes.push({ id: scenario.id, title: scenario.title, ms: performance.now() - started, comparisons: [], error });
    }
    const damage = checkTree(tree);
    if (damage) {
      const what = `${damage.count} source file(s) missing or changed in size after this scenario, e.g. ${damage.examples.join('; ')}`;
      log(`scenario ${scenario.id}: ${what}; rebuilding the tree`);
      outcomes[outcomes.length - 1].sourceDamage = what;
      generateTree(tree.root, spec);
    }
    log(`scenario ${scenario.id} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return { outcomes, tree };
}

async function main(): Promise<void> {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const placement = await makeRunDir();
  const stop = (signal: NodeJS.Signals) => {
    killTracked();
    if (!opts.keep) void removeDir(placement.dir).finally(() => process.exit(130));
    else process.exit(130);
    log(`interrupted by ${signal}`);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  log(`agents start ${agentMode()}`);
  const rsync = await versionLine('rsync');
  if (rsync.startsWith('unavailable')) log(`rsync is not installed (apt-get install -y rsync): every rsync reference will fail; ${rsync}`);
  log(`profile ${opts.profile.name}; trees in ${placement.dir} (${placement.fsType}${placement.onTmpfs ? '' : ': NOT tmpfs, figures are not comparable with DESIGN'})`);

  let result;
  try {
    result = await runScenarios(opts, placement);
  } finally {
    killTracked();
    if (!opts.keep) await removeDir(placement.dir);
  }
  const { outcomes, tree } = result;
  const comparisons = outcomes.flatMap((o) => o.comparisons);
  const totalMs = performance.now() - started;
  const [m, v] = [machine(), await versions()];

  const header = [
    `skiff benchmark — ${opts.profile.name} profile, ${startedAt}`,
    `machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}, node ${m.node}, load ${m.loadAverage}`,
    `tree: ${tree.files.length.toLocaleString('en-US')} files in ${tree.spec.topDirs} x ${tree.spec.subDirs} dirs (${tree.dirCount.toLocaleString('en-US')} in all), ${(tree.totalBytes / MIB).toFixed(1)} MiB, seed ${tree.spec.seed}, on ${placement.fsType} (${placement.dir})`,
    `versions: skiff ${v.skiff} at ${v.commit}; ${v.rsync}; ${v.tar}`,
    `agent: ${agentMode()}`,
    '',
  ];
  const failed = [
    ...outcomes.filter((o) => o.error).map((o) => `scenario ${o.id} failed: ${o.error}`),
    ...outcomes.filter((o) => o.sourceDamage).map((o) => `scenario ${o.id} damaged the source tree: ${o.sourceDamage}`),
  ];
  const behind = behindLines(comparisons);
  process.stdout.write(
    [
      ...header,
      detailText(comparisons),
      summaryTable(comparisons),
      '',
      ...(failed.length ? ['failures:', ...failed.map((f) => `  ${f}`), ''] : []),
      ...(sessionWarnings.length ? [`the daemon logged ${sessionWarnings.length} warning(s) during the sessions, e.g. ${sessionWarnings[0]}`, ''] : []),
      behind.length ? 'where skiff is behind its target:' : 'skiff is within every target it was measured on.',
      ...behind.map((b) => `  - ${b}`),
      '',
      `total ${(totalMs / 1000).toFixed(1)} s`,
      '',
    ].join('\n'),
  );

  const json = {
    startedAt,
    totalMs,
    profile: opts.profile,
    machine: m,
    versions: { ...v, agent: agentMode() },
    tree: {
      files: tree.files.length,
      seed: tree.spec.seed,
      topDirs: tree.spec.topDirs,
      subDirs: tree.spec.subDirs,
      dirs: tree.dirCount,
      totalBytes: tree.totalBytes,
      generateMs: tree.generateMs,
      location: { dir: placement.dir, fsType: placement.fsType, tmpfs: placement.onTmpfs },
    },
    daemonWarnings: sessionWarnings,
    scenarios: outcomes.map((o) => ({
      id: o.id,
      title: o.title,
      ms: o.ms,
      error: o.error,
      sourceDamage: o.sourceDamage,
      comparisons: o.comparisons.map((c) => ({ ...c, verdicts: verdictsOf(c) })),
    })),
  };
  await writeJson(join(RESULTS_DIR, 'latest.json'), json);
  await writeJson(join(RESULTS_DIR, `latest-${opts.profile.name}.json`), json);
  log(`wrote ${join(RESULTS_DIR, 'latest.json')}`);
}

await main();
