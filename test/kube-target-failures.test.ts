import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { COPY_AGENT, COPY_FILES } from '../packages/daemon/src/targets/kubernetes/objects.ts';
import { lastJsonOf } from './support/cli-json.ts';
import { initialSync } from './support/fault-daemon.ts';
import { notFoundPullError } from './support/fake-kube/index.ts';
import { APP_IMAGE, KUBE_WAIT_MS, KubeProject } from './support/kube-project.ts';

/**
 * A pod that cannot run the agent, as `skiff dev` and `skiff push` report
 * it: an image that cannot be pulled (SKIFF_E_IMAGE_MISSING, with the
 * cluster's pull error, on one line), a claim that never binds (a timeout
 * at SKIFF_PUSH_TIMEOUT that names the claim), an agent container that
 * keeps exiting (SKIFF_E_AGENT_START) — at start, and under a running
 * session, which reports it and recovers once the container runs again.
 */

/** The push timeout of the claim test: long enough to apply and watch, short for a test. */
const SHORT_PUSH_TIMEOUT = '4s';
const AGENT_IMAGE = 'registry.example.com/skiff/skiff-agent:does-not-exist';

describe('a pod that cannot run the agent, on the kubernetes target', () => {
  let p: KubeProject;
  afterEach(async () => {
    await p?.cleanup();
  });

  /** `skiff dev --json` fails with `code`, its message on one line; the message. */
  const devFails = async (code: string): Promise<string> => {
    const r = await p.skiff(['dev', p.project, '--target', 'kubernetes', '--json']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).not.toBe(0);
    const error = lastJsonOf(r).error!;
    expect(error.code).toBe(code);
    expect(error.message).not.toContain('\n');
    return error.message;
  };

  it('the app image cannot be pulled: SKIFF_E_IMAGE_MISSING with the pull error, on one line, from dev and from push', async () => {
    p = await KubeProject.start({ name: 'kube-no-image' });
    await writeFile(join(p.project, 'a.txt'), 'a\n');
    p.kube.setImageMissing(APP_IMAGE);

    const message = await devFails('SKIFF_E_IMAGE_MISSING');
    // The seeding step is the first container that uses the app's image.
    expect(message).toContain(`init container ${COPY_FILES}: the image ${JSON.stringify(APP_IMAGE)} cannot be pulled`);
    expect(message).toContain(notFoundPullError(APP_IMAGE));

    const push = await p.skiff(['push', p.project, '--target', 'kubernetes']);
    expect(push.code).not.toBe(0);
    const lines = push.stderr.split('\n').filter((l) => l.includes('SKIFF_E_IMAGE_MISSING'));
    expect(lines, push.stderr).toHaveLength(1);
    expect(lines[0]).toContain(notFoundPullError(APP_IMAGE));
  });

  it('the agent image cannot be pulled: SKIFF_E_IMAGE_MISSING naming copy-agent and skiff.yaml\'s agentImage', async () => {
    p = await KubeProject.start({ name: 'kube-no-agent-image', yaml: `agentImage: ${AGENT_IMAGE}\n` });
    p.kube.setImageMissing(AGENT_IMAGE);
    const message = await devFails('SKIFF_E_IMAGE_MISSING');
    expect(message).toContain(`init container ${COPY_AGENT}: the image ${JSON.stringify(AGENT_IMAGE)} cannot be pulled`);
    expect(message).toContain(notFoundPullError(AGENT_IMAGE));
  });

  it('the claim stays Pending: a timeout at SKIFF_PUSH_TIMEOUT naming the unbound claim', async () => {
    p = await KubeProject.start({ name: 'kube-pending', env: { SKIFF_PUSH_TIMEOUT: SHORT_PUSH_TIMEOUT } });
    p.kube.setClaimsPending(true);
    const message = await devFails('SKIFF_E_TIMEOUT');
    expect(message).toContain('SKIFF_PUSH_TIMEOUT');
    expect(message).toContain(`claim ${p.names.claim} is not bound`);
    // And what the claim's own events say: here, the provisioner it waits for.
    expect(message).toContain(`; claim ${p.names.claim}: Waiting for a volume to be created`);
    // Nothing was forced: the claim is still there, Pending, for a cluster whose provisioner is slow.
    const claim = await p.core.readNamespacedPersistentVolumeClaim({ name: p.names.claim, namespace: 'default' });
    expect(claim.status?.phase).toBe('Pending');
  });

  it('the agent container keeps exiting: SKIFF_E_AGENT_START at start; under a session, reported, then recovered', async () => {
    p = await KubeProject.start({ name: 'kube-crash' });
    await writeFile(join(p.project, 'a.txt'), 'a\n');
    p.kube.setCrashing('app');
    const message = await devFails('SKIFF_E_AGENT_START');
    expect(message).toContain('container app keeps exiting');

    // A session that runs when the agent starts crashing.
    p.kube.setCrashing('app', false);
    const t = p.dev();
    expect((await initialSync(t)).data.inSync).toBe(true);
    const mark = t.events.length;
    p.kube.setCrashing('app');
    const reported = await t.waitFor((e) => e.event === 'agent.state' && e.data.code === 'SKIFF_E_AGENT_START', KUBE_WAIT_MS, mark);
    expect(reported.data.message).toContain('container app keeps exiting');
    p.kube.setCrashing('app', false);
    const resumed = await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'reconnect', KUBE_WAIT_MS, mark);
    expect(resumed.data).toMatchObject({ uploaded: 0, inSync: true });
  });
});
