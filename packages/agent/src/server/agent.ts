import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  Capability,
  ErrorCode,
  MAX_WS_PAYLOAD_BYTES,
  SkiffError,
  loadHasher,
} from '@skiff/protocol';
import { WebSocketServer, type WebSocket } from 'ws';
import { realFs, type FsOps } from '../apply/fs-ops.ts';
import type { AppHooks } from '../hooks.ts';
import { loadSavedManifest, ManifestPersistence, manifestFileFor, rootIdOf, savedOutOfDate } from '../manifest/persist.ts';
import { scanRoot } from '../manifest/scan.ts';
import { SavedManifest } from '../manifest/stat-cache.ts';
import type { BatchOutcome } from '../apply/batch.ts';
import { rejectUpgrade, tokenCheck } from './auth.ts';
import { CloseCode } from './close-codes.ts';
import { DEFAULT_HOST } from './defaults.ts';
import { noopHooks } from './noop-hooks.ts';
import { prepareRoot } from './root.ts';
import { AGENT_CAPABILITIES, DaemonConnection, HEARTBEAT_MS } from './daemon-connection.ts';

export interface AgentOptions {
  root: string;
  host?: string;
  port?: number;
  token: string;
  hooks?: AppHooks;
  log?: (line: string) => void;
  /** Filesystem calls of the apply step; tests inject faults here. */
  fs?: FsOps;
  /** Liveness check interval of a connection; default HEARTBEAT_MS. */
  heartbeatMs?: number;
  /**
   * Where the manifest is saved between runs (manifest/persist.ts): default
   * beside the root (manifestFileFor); null never saves nor reads one.
   */
  manifestFile?: string | null;
}

export interface AgentHandle {
  host: string;
  port: number;
  root: string;
  close(): Promise<void>;
}

/** Largest websocket message accepted: the protocol's bound, shared with the daemon. */
export const MAX_PAYLOAD_BYTES = MAX_WS_PAYLOAD_BYTES;

/**
 * The agent's receiving end: an HTTP server whose websocket upgrade is the
 * only way in, and only with the right bearer token.
 *
 * One daemon at a time: a new authenticated connection replaces the current
 * one, which is closed with CloseCode.REPLACED (its open batch aborted, its
 * temporary files removed). The newest daemon wins because the usual reason
 * for a second connection is the same daemon reconnecting over a link the
 * agent has not yet noticed is dead.
 */
export async function startAgent(opts: AgentOptions): Promise<AgentHandle> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const checkToken = tokenCheck(opts.token);
  const hooks = opts.hooks ?? noopHooks;
  const root = prepareRoot(opts.root);
  const hasher = await loadHasher();
  const manifestFile = opts.manifestFile === undefined ? manifestFileFor(root) : opts.manifestFile;
  const rootId = rootIdOf(root);
  const saved = manifestFile === null ? SavedManifest.EMPTY : loadSavedManifest(manifestFile, rootId, hasher.h64Bytes, (line) => log(`skiff-agent: ${line}`));
  const scan = scanRoot(root, hasher, saved);
  const persistence = manifestFile === null ? null : new ManifestPersistence(manifestFile, rootId, scan.manifest, hasher, (line) => log(`skiff-agent: ${line}`));
  persistence?.seed(scan.known, saved, savedOutOfDate(scan, saved));
  log(
    `skiff-agent: root ${root}: ${scan.manifest.size} entries, ${scan.hashed} files hashed${saved.rows > 0 ? `, ${scan.matched} vouched for by the saved manifest` : ''}` +
      `${scan.swept > 0 ? `, swept ${scan.swept} leftover temporary files` : ''}`,
  );
  if (scan.skipped.length > 0) log(`skiff-agent: ${scan.skipped.length} paths under the root cannot be synced and are left out`);

  const capabilities = [...AGENT_CAPABILITIES];
  if (hooks !== noopHooks) capabilities.push(Capability.SUPERVISOR);
  if (hooks.applySpec !== undefined) capabilities.push(Capability.APP_SPEC);
  const connections = new Set<DaemonConnection>();
  let current: DaemonConnection | null = null;
  let accepted = 0;

  const connectionDeps = {
    root,
    manifest: scan.manifest,
    fs: opts.fs ?? realFs,
    hasher,
    hooks,
    capabilities,
    heartbeatMs: opts.heartbeatMs ?? HEARTBEAT_MS,
    log,
    onCommitted: (outcome: BatchOutcome) => persistence?.committed(outcome.paths, outcome.stagedAt ?? null),
  };
  const connectionOnEnd = (c: DaemonConnection) => {
    connections.delete(c);
    if (current === c) current = null;
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD_BYTES, perMessageDeflate: false });
  const server = createServer(httpOnRequest);

  function httpOnRequest(req: IncomingMessage, res: ServerResponse): void {
    const upgradeOnly = req.url === '/';
    res.writeHead(upgradeOnly ? 426 : 404, {
      'content-type': 'text/plain; charset=utf-8',
      ...(upgradeOnly ? { upgrade: 'websocket', connection: 'Upgrade' } : {}),
    });
    res.end(upgradeOnly ? 'skiff-agent speaks websocket only\n' : 'not found\n');
  }

  function httpOnUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => log(`skiff-agent: upgrade socket: ${err.message}`));
    const peer = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    if (!checkToken(req.headers.authorization)) {
      log(`skiff-agent: refused a connection from ${peer}: missing or wrong token`);
      rejectUpgrade(socket, 401, 'Unauthorized', 'skiff-agent: missing or wrong token');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wsOnConnection(ws, peer));
  }

  function wsOnConnection(ws: WebSocket, peer: string): void {
    accepted += 1;
    const label = `skiff-agent: connection ${accepted} from ${peer}`;
    if (current !== null) {
      log(`${current.label}: replaced by connection ${accepted}`);
      current.close(CloseCode.REPLACED, 'replaced by a newer daemon connection');
    }
    const connection = new DaemonConnection(ws, { ...connectionDeps, onEnd: connectionOnEnd }, label);
    connections.add(connection);
    current = connection;
    log(`${label}: accepted`);
    connection.start();
  }

  server.on('upgrade', httpOnUpgrade);
  await listen(server, opts.port ?? 0, opts.host ?? DEFAULT_HOST);
  const address = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    host: address.address,
    port: address.port,
    root,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const c of connections) c.close(CloseCode.GOING_AWAY, 'the agent is shutting down');
        // After the connections: their open batches are aborted first, and what is saved is what is on disk.
        persistence?.flush();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (cause: Error) =>
      reject(new SkiffError(ErrorCode.AGENT_START, `cannot listen on ${host}:${port}: ${cause.message}`, { cause }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
