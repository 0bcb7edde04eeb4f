import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerSkipReason, execIn } from './support/docker-engine.ts';
import { useDockerFixture } from './support/docker-fixture.ts';
import { busyboxImage } from './support/docker-images.ts';
import { appContainer, type DockerProject } from './support/docker-project.ts';
import { fetchUntil } from './support/http-until.ts';

/**
 * examples/static-site on the Docker target in the busybox test image (no
 * Node, no libc, no loader of its own): busybox's httpd serves the synced
 * root, and an edit of index.html is served without restarting it.
 */

const skip = await dockerSkipReason();

describe.skipIf(skip !== null)('examples/static-site in an image of busybox alone', () => {
  let project: DockerProject;
  const fx = useDockerFixture('static', async (fx) => {
    project = await fx.example('static-site', (await busyboxImage()).tag);
  });

  it('serves the synced page, then the edited one, from the same httpd', async () => {
    const { dev, running } = await fx.devRunning(project);
    const { session } = await fx.status<{ session: { urls: string[] } }>(project);
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
    const { session: after } = await fx.status<{ session: { app: { pid: number; restarts: number; state: string } } }>(project);
    expect(after.app).toMatchObject({ state: 'running', pid: running.data.pid, restarts: 0 });
  });
});
