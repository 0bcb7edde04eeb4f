import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { V1Pod } from '@kubernetes/client-node';
import { PlanKind, skiffAgentLauncher, V4_PROTOCOL, type ContainerLauncher } from './support/fake-kube/index.ts';
import { forwardPort, waitForObject, WAIT_MS } from './support/fake-kube/client-helpers.ts';
import type { PortForwardSession } from './support/fake-kube/index.ts';
import { useFakeKube } from './support/kube-clients.ts';

/**
 * The double's port-forward, frame by frame with a raw websocket (the
 * protocol a real API server speaks: v4.channel.k8s.io, a channel byte per
 * message, the port number first on each channel) and as client-node's
 * PortForward uses it (the error stream, a large transfer both ways), plus
 * the refusals and the test hooks (an error written on the error channel, a
 * dropped websocket).
 */

const ECHO_PORT_A = 9000;
const ECHO_PORT_B = 9001;

/** A TCP echo server that prints its port as JSON: the test's stand-in for a container that serves. */
const ECHO_SERVER = `const s=require('net').createServer((c)=>{c.on('error',()=>{});c.pipe(c)});s.listen(0,'127.0.0.1',()=>console.log(JSON.stringify({port:s.address().port})));`;

const echoLauncher: ContainerLauncher = (ctx) => {
  if (ctx.container.command?.[0] !== 'echo-server') return undefined;
  return {
    kind: PlanKind.Process,
    command: process.execPath,
    args: ['-e', ECHO_SERVER],
    env: { PATH: process.env.PATH ?? '' },
    listen: {
      containerPort: ctx.container.ports![0].containerPort,
      hostPortFromStdout(line) {
        try {
          return (JSON.parse(line) as { port?: number }).port;
        } catch {
          return undefined;
        }
      },
    },
  };
};

const fake = useFakeKube({ launchers: [echoLauncher, skiffAgentLauncher()] });
const NS = 'default';
let pod: string;

beforeAll(async () => {
  const created = await fake.core.createNamespacedPod({
    namespace: NS,
    body: {
      metadata: { name: 'echo', labels: { app: 'echo' } },
      spec: {
        containers: [
          { name: 'a', image: 'echo:1', command: ['echo-server'], ports: [{ containerPort: ECHO_PORT_A }] },
          { name: 'b', image: 'echo:1', command: ['echo-server'], ports: [{ containerPort: ECHO_PORT_B }] },
        ],
      },
    },
  });
  pod = created.metadata!.name!;
  await waitForObject<V1Pod>(
    fake.kc,
    `/api/v1/namespaces/${NS}/pods`,
    { fieldSelector: `metadata.name=${pod}` },
    (_t, p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
    'the echo pod Ready',
  );
});

function pfUrl(name: string, ports: number[]): string {
  return `${fake.kube.url.replace('https://', 'wss://')}/api/v1/namespaces/${NS}/pods/${name}/portforward?${ports.map((p) => `ports=${p}`).join('&')}`;
}

/** A raw websocket to the double's port-forward, collecting messages by channel. */
function openRaw(name: string, ports: number[], protocols = ['v5.channel.k8s.io', V4_PROTOCOL, 'channel.k8s.io'], token = fake.kube.token) {
  const ws = new WebSocket(pfUrl(name, ports), protocols, { ca: fake.kube.caPem, headers: { authorization: `Bearer ${token}` } });
  const messages: Buffer[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data: Buffer) => {
    messages.push(data);
    for (const w of waiters.splice(0)) w();
  });
  ws.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  /** Resolves once `test` holds for the messages received, with a deadline. */
  const until = (test: (m: Buffer[]) => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
      const check = () => {
        if (test(messages)) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  const channel = (n: number) => Buffer.concat(messages.filter((m) => m[0] === n).map((m) => m.subarray(1)));
  return { ws, messages, closed, until, channel };
}

function refusal(name: string, ports: string, protocols: string[], token = fake.kube.token): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = `${fake.kube.url.replace('https://', 'wss://')}/api/v1/namespaces/${NS}/pods/${name}/portforward?${ports}`;
    const ws = new WebSocket(url, protocols, { ca: fake.kube.caPem, headers: { authorization: `Bearer ${token}` } });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => undefined);
  });
}

/** The next port-forward session the double opens (subscribe before acting). */
function nextSession(): Promise<PortForwardSession> {
  return new Promise((resolve) => {
    const off = fake.kube.onPortForward((s) => {
      off();
      resolve(s);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('the v4.channel.k8s.io framing', () => {
  it('agrees on v4.channel.k8s.io, sends each port first on its data and error channels, carries both ways', async () => {
    const raw = openRaw(pod, [ECHO_PORT_A]);
    await new Promise<void>((resolve) => raw.ws.once('open', () => resolve()));
    expect(raw.ws.protocol).toBe(V4_PROTOCOL);
    await raw.until((m) => m.length >= 2, 'the two port messages');
    const portLE = Buffer.alloc(2);
    portLE.writeUInt16LE(ECHO_PORT_A);
    expect(raw.messages[0]).toEqual(Buffer.concat([Buffer.from([0]), portLE]));
    expect(raw.messages[1]).toEqual(Buffer.concat([Buffer.from([1]), portLE]));
    raw.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('ping over channel 0')]));
    await raw.until(() => raw.channel(0).length >= 2 + 19, 'the echo');
    expect(raw.channel(0).subarray(2).toString()).toBe('ping over channel 0');
    raw.ws.close();
    await raw.closed;
  });

  it('forwards several ports over one websocket, on channels 2i and 2i+1', async () => {
    const raw = openRaw(pod, [ECHO_PORT_A, ECHO_PORT_B]);
    await raw.until((m) => m.length >= 4, 'the four port messages');
    expect(raw.messages.map((m) => [m[0], m.readUInt16LE(1)])).toEqual([
      [0, ECHO_PORT_A],
      [1, ECHO_PORT_A],
      [2, ECHO_PORT_B],
      [3, ECHO_PORT_B],
    ]);
    raw.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('to a')]));
    raw.ws.send(Buffer.concat([Buffer.from([2]), Buffer.from('to b')]));
    await raw.until(() => raw.channel(0).length >= 6 && raw.channel(2).length >= 6, 'both echoes');
    expect(raw.channel(0).subarray(2).toString()).toBe('to a');
    expect(raw.channel(2).subarray(2).toString()).toBe('to b');
    raw.ws.close();
    await raw.closed;
  });

  it('writes "error forwarding port" on the error channel when nothing listens, then closes normally', async () => {
    const nothing = await freePort();
    const raw = openRaw(pod, [nothing]);
    const code = await raw.closed;
    expect(code).toBe(1000);
    const error = raw.channel(1).subarray(2).toString();
    expect(error).toMatch(new RegExp(`^error forwarding port ${nothing} to pod [0-9a-f]+, uid : `));
    expect(error).toContain('connection refused');
  });
});

describe('refusals before the upgrade', () => {
  it('401 without the token, 404 for an unknown pod, 400 for unsupported protocols or ports', async () => {
    expect((await refusal(pod, `ports=${ECHO_PORT_A}`, [V4_PROTOCOL], 'wrong')).code).toBe(401);
    const missing = await refusal('no-such-pod', `ports=${ECHO_PORT_A}`, [V4_PROTOCOL]);
    expect(missing.code).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'pods "no-such-pod" not found' });
    const spdyOnly = await refusal(pod, `ports=${ECHO_PORT_A}`, ['portforward.k8s.io']);
    expect(spdyOnly.code).toBe(400);
    expect(JSON.parse(spdyOnly.body).message).toContain('supported protocols are [v4.channel.k8s.io]');
    const comma = await refusal(pod, `ports=${ECHO_PORT_A},${ECHO_PORT_B}`, [V4_PROTOCOL]);
    expect(comma.code).toBe(400);
    expect((await refusal(pod, '', [V4_PROTOCOL])).code).toBe(400);
  });

  it('400 for a pod not yet scheduled', async () => {
    fake.kube.setClaimsPending(true, 'held');
    try {
      await fake.core.createNamespacedPersistentVolumeClaim({ namespace: NS, body: { metadata: { name: 'held' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } });
      await fake.core.createNamespacedPod({
        namespace: NS,
        body: {
          metadata: { name: 'unscheduled' },
          spec: { volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'held' } }], containers: [{ name: 'a', image: 'echo:1', command: ['echo-server'], ports: [{ containerPort: ECHO_PORT_A }] }] },
        },
      });
      const refused = await refusal('unscheduled', `ports=${ECHO_PORT_A}`, [V4_PROTOCOL]);
      expect(refused.code).toBe(400);
      expect(JSON.parse(refused.body).message).toBe('pod unscheduled does not have a host assigned');
    } finally {
      fake.kube.setClaimsPending(false, 'held');
    }
  });
});

describe('with client-node PortForward', () => {
  it('carries 8 MiB to a pod and back intact', async () => {
    const forwarded = await forwardPort(fake.kc, NS, pod, ECHO_PORT_A);
    try {
      const payload = randomBytes(8 * 1024 * 1024);
      const opened = nextSession();
      const socket = connect({ host: '127.0.0.1', port: forwarded.port });
      const received: Buffer[] = [];
      let size = 0;
      const echoed = new Promise<Buffer>((resolve, reject) => {
        socket.on('data', (c: Buffer) => {
          received.push(c);
          size += c.length;
          if (size >= payload.length) resolve(Buffer.concat(received));
        });
        socket.on('error', reject);
      });
      socket.write(payload);
      const back = await echoed;
      expect(back.length).toBe(payload.length);
      expect(back.equals(payload)).toBe(true);
      const session = await opened;
      expect([session.bytesToPod, session.bytesFromPod]).toEqual([payload.length, payload.length]);
      socket.destroy();
      await session.closed;
    } finally {
      await forwarded.close();
    }
  });

  it('hands an error written on the error channel to PortForward\'s error stream', async () => {
    const opened = nextSession();
    const forwarded = await forwardPort(fake.kc, NS, pod, ECHO_PORT_A);
    try {
      const socket = connect({ host: '127.0.0.1', port: forwarded.port });
      socket.on('error', () => undefined);
      const session = await opened;
      const ended = new Promise<void>((resolve) => socket.on('end', () => resolve()));
      session.sendError('an error the test wrote', { close: true });
      // The error stream gets the text after the 2-byte port prefix, which PortForward strips.
      expect(await forwarded.errorOf(0)).toBe('an error the test wrote');
      await session.closed;
      await ended;
      socket.destroy();
    } finally {
      await forwarded.close();
    }
  });

  it('drops a websocket without a close frame (the client sees 1006), the pod side closes too', async () => {
    const opened = nextSession();
    const raw = openRaw(pod, [ECHO_PORT_A]);
    await raw.until((m) => m.length >= 2, 'the port messages');
    const session = await opened;
    session.drop();
    expect(await raw.closed).toBe(1006);
    await session.closed;
    expect(fake.kube.portForwards()).not.toContain(session);
  });
});
