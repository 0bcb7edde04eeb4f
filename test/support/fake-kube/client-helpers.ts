import { request } from 'node:https';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { KubeConfig, PortForward, Watch, type KubernetesObject } from '@kubernetes/client-node';
import type { FakeKube } from './fake-kube.ts';

/**
 * Helpers for tests that drive the double with @kubernetes/client-node, the
 * client skiff's Kubernetes target uses: a KubeConfig loaded from the
 * double's kubeconfig file, a wait on a watch (with a deadline, never a
 * sleep), and `kubectl port-forward` built from client-node's PortForward.
 * Not part of the double itself: the double knows nothing of its clients.
 */

/** How long a test waits for the double to reach a state. */
export const WAIT_MS = 20_000;

export function kubeConfigFor(kube: FakeKube): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  return kc;
}

/**
 * Watches `path` and resolves with the first object for which `match` is
 * true. Without a resourceVersion the watch starts with the current objects
 * (synthetic ADDED), so a state reached before the call is seen too.
 */
export function waitForObject<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  query: Record<string, string>,
  match: (type: string, obj: T) => boolean,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let controller: AbortController | undefined;
    let settled = false;
    const finish = (err: Error | null, obj?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      controller?.abort();
      if (err) reject(err);
      else resolve(obj!);
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    new Watch(kc)
      .watch(
        path,
        query,
        (type, obj: T) => {
          if (match(type, obj)) finish(null, obj);
        },
        (err: unknown) => finish(err instanceof Error ? err : new Error(`the watch for ${what} ended before it was seen${err ? `: ${JSON.stringify(err)}` : ''}`)),
      )
      .then(
        (c) => {
          controller = c;
          if (settled) c.abort();
        },
        (err: unknown) => finish(err as Error),
      );
  });
}

export interface ForwardedPort {
  port: number;
  /** Text written to PortForward's error stream, per accepted connection, in order. */
  errors: string[];
  /** Resolves with the first error text of the `index`-th accepted connection. */
  errorOf(index: number): Promise<string>;
  close(): Promise<void>;
}

/**
 * `kubectl port-forward` with client-node: a local server on 127.0.0.1:0
 * whose every connection gets its own PortForward websocket to `podPort`,
 * the socket being both the input and the output stream. client-node leaves
 * two ends loose, which this ties as kubectl does: when the websocket
 * closes, the local connection is ended (client-node ends no stream on
 * close); when the local connection closes without an 'end' (destroyed,
 * reset), the websocket is closed (client-node only listens for 'end').
 */
export async function forwardPort(kc: KubeConfig, namespace: string, pod: string, podPort: number): Promise<ForwardedPort> {
  const forward = new PortForward(kc);
  const errors: string[] = [];
  const errorWaiters = new Map<number, (text: string) => void>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    // client-node attaches no error handler to the streams it is given.
    socket.on('error', () => undefined);
    const at = errors.length;
    errors.push('');
    const err = new PassThrough();
    err.on('data', (c: Buffer) => {
      errors[at] += c.toString('utf8');
      errorWaiters.get(at)?.(errors[at]);
      errorWaiters.delete(at);
    });
    forward.portForward(namespace, pod, [podPort], socket, err, socket).then(
      (ws) => {
        const w = ws as unknown as { on(event: 'close', f: () => void): void; close(): void };
        w.on('close', () => socket.end());
        socket.on('close', () => {
          sockets.delete(socket);
          w.close();
        });
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    errors,
    errorOf: (index) =>
      errors[index] ? Promise.resolve(errors[index]) : new Promise<string>((resolve) => errorWaiters.set(index, resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One HTTPS request to the double outside client-node (for what client-node cannot send), trusting the double's CA. */
export function rawRequest(
  kube: FakeKube,
  method: string,
  path: string,
  opts: { 'content-type'?: string; body?: string; token?: string } = {},
): Promise<{ code: number; json: unknown }> {
  const url = new URL(path, kube.url);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: kube.caPem,
        headers: {
          authorization: `Bearer ${opts.token ?? kube.token}`,
          ...(opts['content-type'] ? { 'content-type': opts['content-type'] } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = text;
          try {
            json = JSON.parse(text);
          } catch {
            // Not JSON: the text itself.
          }
          resolve({ code: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
