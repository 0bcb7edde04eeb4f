import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TEMP_PREFIX } from '@skiff/agent';
import { AGENT_PORT } from '../packages/daemon/src/targets/pod-shape.ts';
import { convergedAfter, initialSync, sessionStatus } from './support/fault-daemon.ts';
import { tempFilesUnder } from './support/fault-versions.ts';
import type { PortForwardSession } from './support/fake-kube/index.ts';
import { StatusReason } from './support/fake-kube/index.ts';
import { generateProject, type GeneratedTree } from './support/gen-tree.ts';
import { KUBE_WAIT_MS, KubeProject, NAMESPACE, until } from './support/kube-project.ts';

/**
 * Faults between the daemon and the pod, on the paths a cluster can break:
 * the port-forward's error channel and its websocket (dropped in the middle
 * of a batch), and the pod watch (410 Gone, as an ERROR event on an open
 * watch and as the answer to a new one). Each time the session reconnects
 * by itself and converges, the claim holds no temporary file, and the
 * target still follows the pods: a pod replaced afterwards is found.
 */

/** Large enough that its transfer through the forward takes a while: the drop lands inside it. */
const HUGE_FILE_BYTES = 64 * 1024 * 1024;
/** How often the claim is looked at for the agent's temporary file (there is no event for it). */
const TEMP_POLL_MS = 2;

describe('faults on the kubernetes target, against the fake API server', () => {
  let p: KubeProject;
  let tree: GeneratedTree;
  afterEach(async () => {
    await p?.cleanup();
  });

  const differences = () => p.differences(tree.ignored);
  /** The open forwards to the agent's port: the session's connection, once the probes are done. */
  const agentForwards = (): PortForwardSession[] => p.kube.portForwards().filter((s) => s.ports.length === 1 && s.ports[0] === AGENT_PORT);

  async function startSession(name: string, files: number) {
    p = await KubeProject.start({ name });
    tree = await generateProject(p.project, files, 21);
    const t = p.dev();
    expect((await initialSync(t)).data.inSync).toBe(true);
    expect(await differences()).toEqual([]);
    return t;
  }

  it('an error on the port-forward error channel: the session reconnects, sends nothing it had sent, and goes on syncing', async () => {
    const t = await startSession('kube-pf-error', 300);
    const [forward] = agentForwards();
    expect(agentForwards(), 'one forward, the session\'s connection').toHaveLength(1);

    const mark = t.events.length;
    const said = `error forwarding port ${AGENT_PORT} to pod 0f0e, uid : exit status 1: 2026/01/01 00:00:00 socat[1] E connect(5, AF=2 127.0.0.1:${AGENT_PORT}, 16): Connection reset by peer`;
    forward.sendError(said);
    await forward.closed;
    await t.waitFor((e) => e.event === 'agent.state' && e.data.state === 'disconnected', KUBE_WAIT_MS, mark);
    const resumed = await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'reconnect', KUBE_WAIT_MS, mark);
    expect(resumed.data).toMatchObject({ uploaded: 0, deleted: 0, bytes: 0, inSync: true });
    expect(agentForwards().filter((s) => s !== forward)).toHaveLength(1);
    // What the error channel said is in the daemon's log, where the session's events only show a lost connection.
    const log = await readFile(join(p.env.SKIFF_RUNTIME_DIR!, 'skiffd.log'), 'utf8');
    expect(log).toContain(`port-forward to port ${AGENT_PORT} of ${p.instance.name}'s pod: ${said}`);

    const after = t.events.length;
    await writeFile(join(p.project, 'after the error.txt'), 'still syncing\n');
    await convergedAfter(t, after, differences, KUBE_WAIT_MS);
    expect(await tempFilesUnder(p.claimDir())).toEqual([]);
  });

  it('the forward\'s websocket dropped in the middle of a batch: the session reconnects and converges, no temporary file is left', async () => {
    const t = await startSession('kube-pf-drop', 200);
    const mark = t.events.length;
    // A large tree arrives at once: a directory moved in, with a huge file among many small ones.
    const incoming = join(p.work, 'incoming');
    const more = await generateProject(incoming, 1500, 22);
    const huge = randomBytes(HUGE_FILE_BYTES);
    await writeFile(join(incoming, 'huge.bin'), huge);
    for (const rel of more.ignored) tree.ignored.push(`incoming/${rel}`);
    await rename(incoming, join(p.project, 'incoming'));

    // A temporary file of the agent in the claim: the batch is half across.
    const claim = p.claimDir();
    await until(async () => (await readdir(join(claim, 'incoming')).catch(() => [])).some((n) => n.startsWith(TEMP_PREFIX)), 'a temporary file of the agent', TEMP_POLL_MS);
    const [forward] = agentForwards();
    const sentBefore = forward.bytesToPod;
    forward.drop();
    await t.waitFor((e) => e.event === 'sync.failed', KUBE_WAIT_MS, mark);
    await t.waitFor((e) => e.event === 'agent.state' && e.data.state === 'disconnected', KUBE_WAIT_MS, mark);

    const syncs = await convergedAfter(t, mark, differences, KUBE_WAIT_MS);
    expect(syncs.at(-1)!.data.inSync).toBe(true);
    expect(t.events.slice(mark).some((e) => e.event === 'sync.finished' && e.data.reason === 'reconnect')).toBe(true);
    expect((await readFile(join(claim, 'incoming', 'huge.bin'))).equals(huge)).toBe(true);
    expect(await tempFilesUnder(claim)).toEqual([]);
    expect(sentBefore).toBeGreaterThan(0);
    expect((await sessionStatus(p.project, p.env)).agent.state).toBe('connected');
  });

  it('410 Gone on the pod watch, as an ERROR event and as the answer to the next watch: the target lists again and still finds a replaced pod', async () => {
    const t = await startSession('kube-watch-410', 200);
    const pod = await p.runningPod();
    const podsPath = `/api/v1/namespaces/${NAMESPACE}/pods`;
    const isPodWatch = (r: { path: string; query: Record<string, string> }) => r.path === podsPath && r.query.watch === 'true';
    const isPodList = (r: { path: string; query: Record<string, string> }) => r.path === podsPath && r.query.watch === undefined;
    await until(() => p.kube.openWatches('pods') === 1, "the target's pod watch");
    const from = p.kube.requests.length;

    // The next watch is refused with an HTTP 410, then the open one gets its ERROR event.
    p.kube.injectFault({ pathPrefix: podsPath, watch: true, code: 410, reason: StatusReason.Expired, message: 'too old resource version: 1 (9)' });
    expect(p.kube.expireWatches('pods')).toBe(1);
    // It lists again, its watch is refused, it lists again, and watches from there.
    await until(() => p.kube.requests.slice(from).filter(isPodWatch).length >= 2 && p.kube.openWatches('pods') === 1, 'a pod watch open again after the refused one');
    const after = p.kube.requests.slice(from).filter((r) => isPodWatch(r) || isPodList(r));
    expect(after.map((r) => (isPodWatch(r) ? `watch ${r.code === 410 ? 410 : 'open'}` : `list ${r.code}`))).toEqual(['list 200', 'watch 410', 'list 200', 'watch open']);

    // The pod replaced after the 410s: the target follows it to the new one.
    const mark = t.events.length;
    await p.deletePod(pod);
    const resumed = await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'reconnect', KUBE_WAIT_MS, mark);
    expect(resumed.data).toMatchObject({ uploaded: 0, bytes: 0, inSync: true });
    const second = await p.runningPod(pod);
    expect((await sessionStatus(p.project, p.env)).agent).toMatchObject({ state: 'connected', description: expect.stringContaining(`pod ${second}`) });
    const edit = t.events.length;
    await writeFile(join(p.project, 'after the 410.txt'), 'found\n');
    await convergedAfter(t, edit, differences, KUBE_WAIT_MS);
  });

  it('the pod watch ended by the server (its request timeout): the target watches again and still finds a replaced pod', async () => {
    const t = await startSession('kube-watch-end', 100);
    const pod = await p.runningPod();
    await until(() => p.kube.openWatches('pods') === 1, "the target's pod watch");
    expect(p.kube.closeWatches('pods')).toBe(1);
    await until(() => p.kube.openWatches('pods') === 1, 'a pod watch open again');
    const mark = t.events.length;
    await p.deletePod(pod);
    const resumed = await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'reconnect', KUBE_WAIT_MS, mark);
    expect(resumed.data).toMatchObject({ uploaded: 0, inSync: true });
    expect((await sessionStatus(p.project, p.env)).agent).toMatchObject({ state: 'connected', description: expect.stringContaining(`pod ${await p.runningPod(pod)}`) });
  });
});
