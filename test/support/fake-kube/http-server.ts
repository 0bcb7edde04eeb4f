import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { getObject, listObjects } from './api-read.ts';
import type { Writer, WriteRequest } from './api-write.ts';
import { coreVersions, groupList, resourceList, versionDocument } from './discovery.ts';
import type { Faults } from './faults.ts';
import { parseRoute, type Route } from './routes.ts';
import { KubeStatusError, badRequest, failure, methodNotAllowed, notFound, unauthorized } from './status.ts';
import type { ObjectStore } from './store.ts';
import type { ServerTls } from './tls.ts';
import { serveWatch, type WatchHub } from './watch-stream.ts';
import { StatusReason } from './vocabulary.ts';

/**
 * The HTTPS front of the double: bearer-token check, request log and
 * injected faults, the routing of paths and verbs to discovery, reads,
 * watches and writes, and the hand-off of port-forward upgrades. Every
 * failure leaves as a Status body with the matching HTTP code.
 */

/** The real server's limit on a request body (3 MiB); larger is a 413. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface UpgradeHandler {
  (req: IncomingMessage, socket: Duplex, head: Buffer, target: { namespace: string; name: string }): void;
}

export interface ApiServerDeps {
  tls: ServerTls;
  token: string;
  store: ObjectStore;
  writer: Writer;
  hub: WatchHub;
  faults: Faults;
  onPortForward: UpgradeHandler;
  /** host:port, for discovery's serverAddressByClientCIDRs. */
  address(): string;
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function asStatusError(err: unknown): KubeStatusError {
  if (err instanceof KubeStatusError) return err;
  console.error('fake-kube: internal error:', err);
  return failure(500, StatusReason.InternalError, `fake-kube internal error: ${(err as Error)?.message ?? String(err)}`);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(failure(413, StatusReason.BadRequest, 'Request entity too large: limit is 3145728'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  return header === `Bearer ${token}`;
}

export function isWatchQuery(query: URLSearchParams): boolean {
  const w = query.get('watch');
  return w === 'true' || w === '1';
}

export function createApiServer(deps: ApiServerDeps): Server {
  const { store, writer, hub, faults } = deps;

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<number> {
    const method = (req.method ?? 'GET').toUpperCase();
    const route = parseRoute(url.pathname);
    const query = url.searchParams;
    if (!authorized(req, deps.token)) throw unauthorized();
    const fault = faults.take(method, url.pathname, isWatchQuery(query));
    if (fault !== undefined) throw fault;

    if (route.kind !== 'object') {
      if (method !== 'GET') throw methodNotAllowed();
      const doc = discovery(route, deps.address());
      if (doc === undefined) throw failure(404, StatusReason.NotFound, 'the server could not find the requested resource');
      if (route.kind === 'health') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok');
        return 200;
      }
      sendJson(res, 200, doc);
      return 200;
    }

    const { resource: r, namespace, name, subresource } = route;
    if (subresource !== undefined && subresource !== 'status' && subresource !== 'portforward') throw failure(404, StatusReason.NotFound, 'the server could not find the requested resource');
    if (subresource === 'portforward') throw badRequest('Upgrade request required');
    if (subresource === 'status' && method !== 'GET') {
      throw failure(405, StatusReason.MethodNotAllowed, 'fake-kube: writes to the status subresource are not implemented by this test double');
    }
    const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) ? await readBody(req) : '';
    const write: WriteRequest = {
      resource: r,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(name !== undefined ? { name } : {}),
      query,
      body,
      contentType: String(req.headers['content-type'] ?? ''),
      userAgent: String(req.headers['user-agent'] ?? ''),
    };
    // A namespaced resource without a namespace in the path is the all-namespaces collection: read-only.
    const allNamespaces = r.namespaced && namespace === undefined;

    if (method === 'GET') {
      if (name !== undefined) {
        sendJson(res, 200, getObject(store, r, namespace, name));
        return 200;
      }
      if (isWatchQuery(query)) {
        serveWatch(res, store, hub, r, namespace, query);
        return 200;
      }
      sendJson(res, 200, listObjects(store, r, namespace, query));
      return 200;
    }
    let result: { code: number; body: object };
    if (method === 'POST' && name === undefined && !allNamespaces) result = writer.create(write);
    else if (method === 'PUT' && name !== undefined) result = writer.replace(write);
    else if (method === 'PATCH' && name !== undefined) result = writer.patch(write);
    else if (method === 'DELETE' && name !== undefined) result = writer.delete(write);
    else if (method === 'DELETE' && name === undefined && !allNamespaces && r.verbs.includes('deletecollection')) result = writer.deleteCollection(write);
    else throw methodNotAllowed();
    sendJson(res, result.code, result.body);
    return result.code;
  }

  const server = createServer({ cert: deps.tls.certPem, key: deps.tls.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://fake-kube');
    const entry = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: String(req.headers['content-type'] ?? ''),
      code: 0,
    };
    faults.log.push(entry);
    handle(req, res, url).then(
      (code) => {
        entry.code = code;
      },
      (err: unknown) => {
        const e = asStatusError(err);
        entry.code = e.status.code;
        if (!res.headersSent) sendJson(res, e.status.code, e.status);
        else res.destroy();
      },
    );
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'https://fake-kube');
    const entry = { method: 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), contentType: '', code: 101 };
    faults.log.push(entry);
    const refuse = (e: KubeStatusError) => {
      entry.code = e.status.code;
      const text = JSON.stringify(e.status);
      socket.end(
        `HTTP/1.1 ${e.status.code} ${e.status.reason ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
      );
    };
    try {
      const route = parseRoute(url.pathname);
      if (!authorized(req, deps.token)) throw unauthorized();
      const fault = faults.take('GET', url.pathname, false);
      if (fault !== undefined) throw fault;
      if (route.kind !== 'object' || route.subresource !== 'portforward' || route.namespace === undefined || route.name === undefined) {
        throw failure(404, StatusReason.NotFound, 'the server could not find the requested resource');
      }
      if (store.get(route.resource, route.namespace, route.name) === undefined) throw notFound(route.resource, route.name);
      deps.onPortForward(req, socket, head, { namespace: route.namespace, name: route.name });
    } catch (err) {
      refuse(asStatusError(err));
    }
  });
  return server;
}

function discovery(route: Route, address: string): object | undefined {
  switch (route.kind) {
    case 'version':
      return versionDocument();
    case 'health':
      return {};
    case 'core-versions':
      return coreVersions(address);
    case 'groups':
      return groupList();
    case 'resource-list':
      return resourceList(route.group, route.version);
    default:
      return undefined;
  }
}
