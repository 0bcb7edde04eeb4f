import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerSkipReason, execIn } from './support/docker-engine.ts';
import { FIRST_START_MS, useDockerFixture } from './support/docker-fixture.ts';
import { nodeImage } from './support/docker-images.ts';
import { descendants, procExists, type HostProc } from './support/docker-procs.ts';
import { appContainer, type DockerProject } from './support/docker-project.ts';

/**
 * The agent's PID-1 duties in the container the Docker target makes, through
 * `skiff dev`: an app that leaves orphans (double-forked children, reparented
 * to PID 1 at once) has them reaped when they exit, with no zombie left, as
 * test/docker-agent-pid1.test.ts shows for a container started by hand.
 */

const skip = await dockerSkipReason();

const ORPHANS = 3;
/** The FIFO the orphans block on; opening it for writing lets them exit. */
const RELEASE_FIFO = '/tmp/skiff-test-release';
/** How often the host's /proc is looked at for what prints nothing (reparenting, reaping). */
const POLL_MS = 25;
const PROC_WAIT_MS = 30_000;

const APP = `trap 'echo "app: got TERM"; exit 0' TERM
rm -f ${RELEASE_FIFO}
mkfifo ${RELEASE_FIFO}
for i in $(seq ${ORPHANS}); do
  ( cat ${RELEASE_FIFO} > /dev/null & echo "app: orphan $!" )
done
echo "app: ready"
while :; do sleep 1 & wait $!; done
`;

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + PROC_WAIT_MS;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${PROC_WAIT_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

describe.skipIf(skip !== null)('the agent as PID 1 of the Docker target\'s container', () => {
  let project: DockerProject;
  const fx = useDockerFixture('pid1', async (fx) => {
    project = await fx.project('orphans', (await nodeImage()).tag, { run: 'sh app.sh' });
    await writeFile(join(project.dir, 'app.sh'), APP);
  });

  it('reaps the app\'s orphans: reparented to PID 1, then gone without a zombie', async () => {
    const dev = fx.dev(project);
    await dev.waitFor((e) => e.event === 'app.log' && e.data.text.includes('app: ready'), FIRST_START_MS);
    const output = () => dev.events.filter((e) => e.event === 'app.log').map((e) => e.data.text as string).join('');
    const orphanNsPids = [...output().matchAll(/^app: orphan (\d+)$/gm)].map((m) => Number(m[1]));
    expect(orphanNsPids).toHaveLength(ORPHANS);
    // The reaper addon shipped in the bundle was loaded (else the agent says they will not be reaped).
    const logs = ((await appContainer(project).logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer).toString('utf8');
    expect(logs).not.toContain('will not be reaped');

    const agentPid = (await appContainer(project).inspect()).State.Pid;
    const orphans = await until('the orphans reparented to PID 1', () => {
      const found = descendants(agentPid).filter((p) => orphanNsPids.includes(p.nsPid) && p.ppid === agentPid);
      return found.length === ORPHANS ? found : undefined;
    });
    expect(orphans.map((p) => p.comm)).toEqual(Array(ORPHANS).fill('cat'));

    const release = await execIn(appContainer(project), ['sh', '-c', `: > ${RELEASE_FIFO}`]);
    expect(release.code).toBe(0);
    // Unreaped, they would stay zombies (state Z) of PID 1 for good.
    await until('the orphans reaped', () => (orphans.every((p: HostProc) => !procExists(p.pid)) ? true : undefined));
    expect(descendants(agentPid).filter((p) => p.state === 'Z')).toEqual([]);
  });
});
