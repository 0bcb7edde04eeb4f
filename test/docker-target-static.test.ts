import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevTerminal, privateRuntime, stopDaemon } from './support/dev-session.ts';
import { dockerSkipReason, execIn } from './support/docker-engine.ts';
import { busyboxImage } from './support/docker-images.ts';
import { agentImageGuard, appContainer, dockerExample, removeInstance, type DockerProject } from './support/docker-project.ts';
import { fetchUntil } from './support/http-until.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';

/**
 * examples/static-site on the Docker target in the busybox test image (no
 * Node, no libc, no loader of its own): busybox's httpd serves the synced
 * root, and an edit of index.html is served without restarting it.
 */

const skip = await dockerSkipReason();

const FIRST_START_MS = 120_000;

describe.skipIf(skip !== null)('examples/static-site in an image of busybox alone', () => {
  let work: string;
  let runtime: string;
  let env: NodeJS.ProcessEnv;
  let project: DockerProject;
  let dev: DevTerminal;
  let agentImage: Awaited<ReturnType<typeof agentImageGuard>>;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-docker-static-'));
    agentImage = await agentImageGuard();
    project = await dockerExample('static-site', work, (await busyboxImage()).tag);
    ({ dir: runtime, env } = await privateRuntime());
  });

  afterAll(async () => {
    await dev?.detach();
    if (env) await stopDaemon(env);
    if (project) await removeInstance(project.instance);
    await agentImage?.release();
    await rm(work, { recursive: true, force: true });
    if (runtime) await rm(runtime, { recursive: true, force: true });
  });

  it('serves the synced page, then the edited one, from the same httpd', async () => {
    dev = new DevTerminal([project.dir], env);
    const running = await dev.waitFor((e) => e.event === 'app.status' && e.data.state === 'running', FIRST_START_MS);
    const { session } = jsonOf<{ session: { urls: string[] } }>(await runSkiff(['status', project.dir, '--json'], { env }));
    expect(session.urls).toEqual([`http://127.0.0.1:${project.hostPort}`]);
    const url = `${session.urls[0]}/index.html`;
    expect(await fetchUntil(url, /Hello from a static site/)).toContain('Served by busybox httpd');

    // The image has no node and no libc: what runs the agent came in its volume.
    const probe = await execIn(appContainer(project), ['sh', '-c', 'ls /usr/local/bin/node /usr/bin/node /lib/x86_64-linux-gnu 2>&1; echo "exit $?"']);
    expect(probe.stdout).toMatch(/exit [1-9]/);

    const mark = dev.events.length;
    const page = (await readFile(join(project.dir, 'index.html'), 'utf8')).replace('Hello from a static site', 'Edited while served');
    await writeFile(join(project.dir, 'index.html'), page);
    expect(await fetchUntil(url, /Edited while served/)).not.toContain('Hello from a static site');
    const synced = await dev.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'watch', 30_000, mark);
    expect(synced.data).toMatchObject({ uploaded: 1, inSync: true });
    // hotReload: the same httpd served it, no restart.
    const { session: after } = jsonOf<{ session: { app: { pid: number; restarts: number; state: string } } }>(await runSkiff(['status', project.dir, '--json'], { env }));
    expect(after.app).toMatchObject({ state: 'running', pid: running.data.pid, restarts: 0 });
  });
});
