import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_MOUNT, TOKEN_FILE } from '../packages/daemon/src/targets/pod-shape.ts';
import { printedAppUrl } from './support/dev-human.ts';
import type { DevTerminal } from './support/dev-session.ts';
import { dockerSkipReason, execIn } from './support/docker-engine.ts';
import { watchExits } from './support/docker-events.ts';
import { useDockerFixture } from './support/docker-fixture.ts';
import { nodeImage } from './support/docker-images.ts';
import { appContainer, setYaml, type DockerProject } from './support/docker-project.ts';
import { fetchUntil } from './support/http-until.ts';

/**
 * examples/hello-node on the Docker target, through `skiff dev` as a user
 * runs it: the app's own image (here a Node test image), the agent as PID 1,
 * the page at the printed URL, an edit served, a new `run` taken without a
 * new container, and `docker stop` ending the app through its own shutdown
 * handler before the engine's grace period runs out.
 */

const skip = await dockerSkipReason();

/** `docker stop`'s grace period: far above the agent's own, so an exit 0 is the app's, not the engine's SIGKILL (137). */
const STOP_GRACE_S = 30;

interface Status {
  session: { target: string; urls: string[]; agent: { description: string; url: string } };
}

describe.skipIf(skip !== null)('examples/hello-node on the Docker target', () => {
  let project: DockerProject;
  let dev: DevTerminal;
  let url: string;
  const fx = useDockerFixture('hello', async (fx) => {
    project = await fx.example('hello-node', (await nodeImage()).tag);
  });

  it('skiff dev: the page answers at the printed URL, and an edit changes it', async () => {
    ({ dev } = await fx.devRunning(project));
    const status = await fx.status<Status>(project);
    expect(status.session.target).toBe('docker');
    expect(status.session.urls).toEqual([`http://127.0.0.1:${project.hostPort}`]);
    expect(status.session.agent.description).toContain(project.instance.name);
    // The agent's own port is published on loopback only.
    expect(status.session.agent.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    url = status.session.urls[0];
    // What a person reads in skiff dev's output is the same URL.
    expect(await printedAppUrl(project.dir, fx.env)).toBe(url);
    expect(await fetchUntil(url, /Hello from skiff!/)).toMatch(/Hello from skiff!/);

    await writeFile(join(project.dir, 'message.js'), "export const message = 'Edited in the container';\n");
    expect(await fetchUntil(url, /Edited in the container/)).toMatch(/Edited in the container/);
    // The app's output reached the terminal.
    expect(dev.events.some((e) => e.event === 'app.log' && /hello-node listening on http:\/\/0\.0\.0\.0:8080/.test(e.data.text))).toBe(true);
  });

  it('the agent is the container\'s PID 1, started through its own loader; its token is a file, not in the container\'s config', async () => {
    const container = appContainer(project);
    const cmdline = await execIn(container, ['cat', '/proc/1/cmdline']);
    expect(cmdline.code).toBe(0);
    const argv = cmdline.stdout.split('\0').slice(0, -1);
    expect(argv[0]).toMatch(new RegExp(`^${AGENT_MOUNT}/lib/ld-`));
    expect(argv).toContain(`${AGENT_MOUNT}/skiff-agent.js`);
    expect(argv.slice(argv.indexOf('--root'), argv.indexOf('--root') + 2)).toEqual(['--root', '/tmp/src']);
    expect(argv.slice(argv.indexOf('--token-file'), argv.indexOf('--token-file') + 2)).toEqual(['--token-file', TOKEN_FILE]);

    const token = (await execIn(container, ['cat', TOKEN_FILE])).stdout.trim();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(await container.inspect())).not.toContain(token);
    const appEnv = await execIn(container, ['sh', '-c', 'cat /proc/[0-9]*/environ | tr "\\0" "\\n"']);
    expect(appEnv.stdout).not.toContain(token);
  });

  it('editing run in skiff.yaml restarts the app with the new command in the same container', async () => {
    const container = appContainer(project);
    const before = await container.inspect();
    const mark = dev.events.length;
    const run = 'echo "run was edited"; exec node server.js';
    await setYaml(project.dir, { run });
    const running = await dev.waitFor((e) => e.event === 'app.status' && e.data.state === 'running' && e.data.message === run, 30_000, mark);
    await dev.waitFor((e) => e.event === 'app.log' && e.data.text.includes('run was edited'), 30_000, mark);
    expect(await fetchUntil(url, new RegExp(`pid ${running.data.pid}\\b`))).toMatch(/Edited in the container/);

    const after = await container.inspect();
    expect(after.Id).toBe(before.Id);
    // Not even restarted: the spec travelled over the wire, the container's environment was never touched.
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    expect(after.RestartCount).toBe(before.RestartCount);
  });

  it('docker stop: the app\'s SIGTERM handler runs, the container exits 0 within the grace period, and the session comes back', async () => {
    const container = appContainer(project);
    const exits = await watchExits(container);
    const mark = dev.events.length;
    try {
      await container.stop({ t: STOP_GRACE_S });
      // 0 is hello-node's own exit (its handler calls process.exit(0)), passed on by the agent; the engine's SIGKILL would be 137.
      expect(await exits.next).toBe(0);
    } finally {
      exits.close();
    }
    const logs = ((await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer).toString('utf8');
    expect(logs).toContain('hello-node: SIGTERM, closing');
    expect(logs).toContain('skiff-agent: exiting with code 0');

    // The session saw its agent go, started the container again and verified it: nothing was re-sent.
    await dev.waitFor((e) => e.event === 'agent.state' && e.data.state === 'disconnected', 30_000, mark);
    const resync = await dev.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'reconnect', 60_000, mark);
    expect(resync.data).toMatchObject({ uploaded: 0, deleted: 0, inSync: true });
    expect(await fetchUntil(url, /Edited in the container/)).toMatch(/Edited in the container/);
  });
});
