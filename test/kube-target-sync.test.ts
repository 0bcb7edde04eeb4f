import { randomBytes } from 'node:crypto';
import { mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lastJsonOf } from './support/cli-json.ts';
import { convergedAfter, initialSync, sessionStatus } from './support/fault-daemon.ts';
import { generateProject, type GeneratedTree } from './support/gen-tree.ts';
import { APP_IMAGE, KUBE_WAIT_MS, KubeProject, NAMESPACE, until } from './support/kube-project.ts';
import { jsonOf } from './support/run-cli.ts';

/**
 * The Kubernetes target's real client code (server-side apply, the pod
 * watch, the port-forward) through the real `skiff` command and daemon,
 * against the fake API server, whose kubelet runs the real agent with the
 * claim's directory as its root: what lands there is compared with the
 * project byte for byte. A pod replaced under a session resumes by sending
 * only what differs; `skiff delete` leaves nothing with the instance label.
 */

const FILES = 1500;
/** A run line that ignores SIGTERM until it is killed. */
const STUBBORN_APP = "trap '' TERM; echo stubborn app up; while :; do sleep 1; done";

interface PushJson {
  ok: boolean;
  uploaded: number;
  deleted: number;
  bytes: number;
  inSync: boolean;
}

describe('skiff on the kubernetes target, against the fake API server', () => {
  let p: KubeProject;
  let tree: GeneratedTree;
  afterEach(async () => {
    await p?.cleanup();
  });

  const differences = () => p.differences(tree.ignored);

  it('skiff dev: the claim holds the project byte for byte, edits follow, a replaced pod resumes sending only differences, skiff delete removes every object', async () => {
    p = await KubeProject.start({ name: 'kube-sync' });
    tree = await generateProject(p.project, FILES, 11);
    const t = p.dev();
    const first = await initialSync(t);
    expect(first.data).toMatchObject({ inSync: true, problems: [] });
    expect(first.data.uploaded).toBeGreaterThanOrEqual(tree.files);
    expect(await differences()).toEqual([]);
    const pod = await p.runningPod();
    const status = await sessionStatus(p.project, p.env);
    expect(status).toMatchObject({ state: 'watching', inSync: true, agent: { state: 'connected' } });
    expect((status.agent as { description?: string }).description).toContain(`pod ${pod}`);

    // Edits: a rewrite, a new file in a new directory, a delete.
    let mark = t.events.length;
    await writeFile(join(p.project, 'src', 'sub1', 'edited.txt'), randomBytes(3000));
    await mkdir(join(p.project, 'new dir'), { recursive: true });
    await writeFile(join(p.project, 'new dir', 'new.txt'), 'new\n');
    await unlink(join(p.project, 'run.sh'));
    await convergedAfter(t, mark, differences, KUBE_WAIT_MS);

    // The pod replaced with nothing changed: the new agent finds the claim's files, nothing is sent.
    mark = t.events.length;
    await p.deletePod(pod);
    const resumed = await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'reconnect', KUBE_WAIT_MS, mark);
    expect(resumed.data).toMatchObject({ uploaded: 0, copied: 0, deleted: 0, bytes: 0, inSync: true });
    const second = await p.runningPod(pod);
    expect((await sessionStatus(p.project, p.env)).agent).toMatchObject({ state: 'connected', description: expect.stringContaining(`pod ${second}`) });
    expect(await differences()).toEqual([]);

    // Replaced again, its image held back so that an edit is taken in while no pod runs: exactly that file goes.
    p.kube.setImageMissing(APP_IMAGE);
    mark = t.events.length;
    await p.deletePod(second);
    const away = await t.waitFor((e) => e.event === 'agent.state' && e.data.code === 'SKIFF_E_IMAGE_MISSING', KUBE_WAIT_MS, mark);
    expect(away.data.message).toContain(`the image ${JSON.stringify(APP_IMAGE)} cannot be pulled`);
    expect(away.data.message).toContain('not found');
    const entries = ((await sessionStatus(p.project, p.env)) as unknown as { entries: number }).entries;
    const whileAway = randomBytes(777);
    await writeFile(join(p.project, 'made while the pod was away.bin'), whileAway);
    await waitForStatus(p, (s) => s.entries === entries + 1, 'the edit taken in by the session');
    expect(t.events.slice(mark).filter((e) => e.event === 'sync.finished')).toEqual([]);
    p.kube.setImageMissing(APP_IMAGE, false);
    const back = await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'reconnect', KUBE_WAIT_MS, mark);
    expect(back.data).toMatchObject({ uploaded: 1, deleted: 0, bytes: whileAway.length, inSync: true });
    expect(await differences()).toEqual([]);

    // skiff delete, the session running: it stops, and every object with the instance label goes.
    const deleted = await p.skiff(['delete', p.project, '--target', 'kubernetes', '--json']);
    expect(deleted.code, deleted.stderr).toBe(0);
    const result = jsonOf<{ ok: boolean; target: string; removed: string[] }>(deleted);
    expect(result.target).toBe('kubernetes');
    expect(result.removed.sort()).toEqual([`Deployment default/${p.names.deployment}`, `PersistentVolumeClaim default/${p.names.claim}`, `Secret default/${p.names.secret}`].sort());
    expect(await p.instanceObjects()).toEqual([]);
  });

  it('skiff stop scales the Deployment to zero and keeps the claim; the next skiff dev resumes with nothing sent', async () => {
    p = await KubeProject.start({ name: 'kube-stop' });
    tree = await generateProject(p.project, 300, 13);
    const t = p.dev();
    expect((await initialSync(t)).data.inSync).toBe(true);
    const pod = await p.runningPod();

    const stopped = await p.skiff(['stop', p.project]);
    expect(stopped.code, stopped.stderr).toBe(0);
    await t.waitFor((e) => e.event === 'session.state' && e.data.state === 'stopped', KUBE_WAIT_MS);
    await until(async () => (await p.pods()).length === 0, 'the pods of a Deployment scaled to zero gone');
    const deployment = await p.objects.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: p.names.deployment, namespace: NAMESPACE } });
    expect((deployment as { spec: { replicas: number } }).spec.replicas).toBe(0);
    expect(await differences(), 'the claim keeps the files').toEqual([]);

    const again = p.dev();
    const resumed = await initialSync(again);
    expect(resumed.data).toMatchObject({ uploaded: 0, deleted: 0, bytes: 0, inSync: true });
    expect(await p.runningPod(pod)).not.toBe(pod);
  });

  it('skiff push: one shot leaves the pod running with the project in its claim; later pushes send only what changed; delete without a daemon', async () => {
    // An app that ignores SIGTERM: its pod takes the agent's stop grace to go, and its claim waits for it.
    p = await KubeProject.start({ name: 'kube-push', yaml: `ports: ["18081:8081"]\nrun: ${JSON.stringify(STUBBORN_APP)}\n` });
    tree = await generateProject(p.project, 400, 12);
    const push = async () => {
      const r = await p.skiff(['push', p.project, '--target', 'kubernetes', '--json']);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      return lastJsonOf(r) as unknown as PushJson;
    };
    const first = await push();
    expect(first).toMatchObject({ ok: true, inSync: true });
    expect(first.uploaded).toBeGreaterThanOrEqual(tree.files);
    expect(await differences()).toEqual([]);
    // The agent outlives the one-shot push, as `odo push` left the app running.
    const pod = await p.runningPod();

    expect(await push()).toMatchObject({ ok: true, uploaded: 0, deleted: 0, bytes: 0, inSync: true });
    await writeFile(join(p.project, 'src', 'pushed.txt'), 'pushed\n');
    await rm(join(p.project, 'big.bin'));
    expect(await push()).toMatchObject({ ok: true, uploaded: 1, deleted: 1, bytes: 7, inSync: true });
    expect(await differences()).toEqual([]);
    // Same pod all along: a push re-applies the objects, which changes nothing.
    expect(await p.runningPod()).toBe(pod);
    expect((await p.pods()).map((x) => x.metadata?.name)).toEqual([pod]);

    const deleted = await p.skiff(['delete', p.project, '--target', 'kubernetes', '--json']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(jsonOf<{ removed: string[] }>(deleted).removed.sort()).toEqual(
      [`Deployment default/${p.names.deployment}`, `PersistentVolumeClaim default/${p.names.claim}`, `Secret default/${p.names.secret}`, `Service default/${p.names.service}`].sort(),
    );
    expect(await p.instanceObjects()).toEqual([]);
  });
});

/** `skiff status` is a new process each time: looked at every 200 ms, not back to back. */
const STATUS_POLL_MS = 200;

/** Polls `skiff status` until `match` holds: a change taken in while no agent is connected sends no event. */
async function waitForStatus(p: KubeProject, match: (s: Record<string, unknown>) => boolean, what: string): Promise<void> {
  let s: Record<string, unknown> = {};
  try {
    await until(async () => match((s = (await sessionStatus(p.project, p.env)) as unknown as Record<string, unknown>)), what, STATUS_POLL_MS);
  } catch (err) {
    throw new Error(`${(err as Error).message}; status: ${JSON.stringify(s)}`);
  }
}
