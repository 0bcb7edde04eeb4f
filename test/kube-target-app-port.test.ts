import { writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initialSync, sessionStatus } from './support/fault-daemon.ts';
import type { DevTerminal } from './support/dev-session.ts';
import { KUBE_WAIT_MS, KubeProject, until } from './support/kube-project.ts';

/**
 * The app's port, forwarded to 127.0.0.1 by the Kubernetes target, follows
 * the pod: a request after the pod was replaced reaches the new pod's app
 * through the same local URL (each connection is forwarded to the pod that
 * is ready at that moment). The double's pod network is this machine's
 * loopback, so the app listens here, on its container port; the local end
 * of the forward is another port, as skiff.yaml's "HOST:CONTAINER" asks.
 */

/** The app: answers with the message file and its pid, says on stdout when it listens. */
const SERVER_JS = `const http = require('http');
const fs = require('fs');
const port = Number(process.env.PORT);
http.createServer((req, res) => res.end(fs.readFileSync('message.txt', 'utf8').trim() + ' from pid ' + process.pid + '\\n'))
  .listen(port, process.env.HOST, () => console.log('listening on ' + port));
`;

/** A port nobody listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One GET on its own connection (no keep-alive: each request is a new forwarded connection). */
function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('the app port forward on the kubernetes target', () => {
  let p: KubeProject;
  afterEach(async () => {
    await p?.cleanup();
  });

  const listening = (t: DevTerminal, from: number) => t.waitFor((e) => e.event === 'app.log' && /^listening on \d+/.test(e.data.text), KUBE_WAIT_MS, from);

  it('answers through the forwarded URL before and after the pod is replaced, and after an edit', async () => {
    const containerPort = await freePort();
    let localPort = await freePort();
    while (localPort === containerPort) localPort = await freePort();
    p = await KubeProject.start({
      name: 'kube-app-port',
      yaml: `run: node server.js\nports: ["${localPort}:${containerPort}"]\nenv:\n  PORT: "${containerPort}"\n`,
    });
    await writeFile(join(p.project, 'server.js'), SERVER_JS);
    await writeFile(join(p.project, 'message.txt'), 'hello\n');

    const t = p.dev();
    await initialSync(t);
    await listening(t, 0);
    const url = `http://127.0.0.1:${localPort}`;
    expect(((await sessionStatus(p.project, p.env)) as unknown as { urls: string[] }).urls).toEqual([url]);
    const first = await p.runningPod();
    const forwardsTo = () => p.kube.portForwards().filter((s) => s.ports.length === 1 && s.ports[0] === containerPort);

    const before = await fetchText(url);
    expect(before.status).toBe(200);
    expect(before.body).toMatch(/^hello from pid \d+\n$/);
    const seen = new Set<string>();
    const off = p.kube.onPortForward((s) => {
      if (s.ports[0] === containerPort) seen.add(s.pod);
    });
    expect((await fetchText(url)).body).toBe(before.body);
    expect([...seen]).toEqual([first]);

    // The pod replaced: same local URL, the new pod's app (a new process) answers.
    let mark = t.events.length;
    await p.deletePod(first);
    await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'reconnect', KUBE_WAIT_MS, mark);
    await listening(t, mark);
    const second = await p.runningPod(first);
    seen.clear();
    const after = await fetchText(url);
    expect(after.status).toBe(200);
    expect(after.body).toMatch(/^hello from pid \d+\n$/);
    expect(after.body).not.toBe(before.body);
    expect([...seen]).toEqual([second]);

    // An edit reaches the app behind the same URL.
    mark = t.events.length;
    await writeFile(join(p.project, 'message.txt'), 'edited\n');
    await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'watch', KUBE_WAIT_MS, mark);
    await listening(t, mark);
    expect((await fetchText(url)).body).toMatch(/^edited from pid \d+\n$/);
    off();
    // Every forwarded request's connection ended with it: no forward is left open to the app.
    await until(() => forwardsTo().length === 0, 'every forward to the app closed');
  });
});
