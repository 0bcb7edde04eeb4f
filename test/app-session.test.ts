import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DevTerminal, privateRuntime, stopDaemon } from './support/dev-session.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';

const EXAMPLE = fileURLToPath(new URL('../examples/hello-node', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** GETs until the body matches or the deadline passes (the app restarts in between). */
async function fetchUntil(url: string, match: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      last = await (await fetch(url)).text();
      if (match.test(last)) return last;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${url} never answered ${match}; last: ${last}`);
}

describe('the example app through a session', () => {
  let work: string;
  let project: string;
  let env: NodeJS.ProcessEnv;
  let port: number;
  const terminals: DevTerminal[] = [];

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-app-'));
    project = join(work, 'hello-node');
    await cp(EXAMPLE, project, { recursive: true });
    port = await freePort();
    await writeFile(join(project, 'skiff.yaml'), `name: hello-test\nrun: node server.js\nports: [${port}]\nenv:\n  PORT: "${port}"\n`);
    env = (await privateRuntime()).env;
  });
  afterEach(async () => {
    for (const t of terminals.splice(0)) await t.detach();
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
  });

  const dev = () => {
    const t = new DevTerminal([project, '--local-root', join(work, 'agent-root')], env);
    terminals.push(t);
    return t;
  };

  it('serves the app, and an edit shows in the next response', async () => {
    const t = dev();
    await t.waitFor((e) => e.event === 'app.status' && e.data.state === 'running');
    expect(await fetchUntil(`http://127.0.0.1:${port}/`, /Hello from skiff!/)).toMatch(/Hello from skiff!/);
    await writeFile(join(project, 'message.js'), "export const message = 'Edited through skiff';\n");
    expect(await fetchUntil(`http://127.0.0.1:${port}/`, /Edited through skiff/)).toMatch(/Edited through skiff/);
    const status = jsonOf<{ session: { app: { state: string; restarts: number }; urls: string[] } }>(await runSkiff(['status', project, '--json'], { env }));
    expect(status.session.app.state).toBe('running');
    expect(status.session.urls).toEqual([`http://127.0.0.1:${port}`]);
    // The app's output reached the terminal and `skiff logs`.
    const logs = await runSkiff(['logs', project], { env });
    expect(logs.stdout).toMatch(new RegExp(`hello-node listening on http://127.0.0.1:${port}`));
  });

  it('a failing assemble keeps the old app serving and reports the failure', async () => {
    await writeFile(
      join(project, 'skiff.yaml'),
      `name: hello-test\nrun: node server.js\nassemble: test ! -e BREAK || { echo "build broke on purpose"; exit 7; }\nports: [${port}]\nenv:\n  PORT: "${port}"\n`,
    );
    const t = dev();
    await t.waitFor((e) => e.event === 'app.status' && e.data.state === 'running');
    const before = await fetchUntil(`http://127.0.0.1:${port}/`, /Hello from skiff!/);
    const mark = t.events.length;
    await writeFile(join(project, 'BREAK'), 'x');
    const failed = await t.waitFor((e) => e.event === 'app.status' && e.data.state === 'assemble-failed', 15_000, mark);
    expect(failed.data.message).toMatch(/7/);
    expect(failed.data.message).toMatch(/build broke on purpose/);
    // Same process still answers.
    expect(await fetchUntil(`http://127.0.0.1:${port}/`, /Hello from skiff!/)).toBe(before);
  });

  it('a crash-looping app backs off between restarts', async () => {
    await writeFile(join(project, 'skiff.yaml'), 'name: crash\nrun: echo crashing; exit 3\n');
    const t = dev();
    await t.waitFor(() => t.events.filter((e) => e.event === 'app.status' && e.data.state === 'backoff').length >= 3, 30_000);
    const starts = t.events.filter((e) => e.event === 'app.status' && e.data.state === 'running').map((e) => e.data.since as number);
    const gaps = starts.slice(1).map((s, i) => s - starts[i]);
    expect(gaps.length).toBeGreaterThanOrEqual(2);
    expect(gaps[gaps.length - 1]).toBeGreaterThan(gaps[0]);
    const status = jsonOf<{ session: { app: { exitCode: number; restarts: number } } }>(await runSkiff(['status', project, '--json'], { env }));
    expect(status.session.app.restarts).toBeGreaterThanOrEqual(2);
  });
});
