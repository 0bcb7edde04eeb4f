import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAddonOrReason } from '@skiff/agent/load-addon';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { LogLevel, type ControlLog } from './log.ts';

/**
 * Who is at the other end of a control connection. The socket is 0600 in a
 * 0700 directory, which keeps other users out, but not root: file
 * permissions do not stop uid 0. So each accepted connection is also checked
 * against the credentials the kernel recorded when the peer called connect()
 * (SO_PEERCRED; the peer cannot forge them), and one from another uid is
 * refused with SKIFF_E_AUTH.
 *
 * The call lives in the agent's native addon (packages/agent/native/reaper.c,
 * `peerCred`). Without it (no C toolchain at install, an addon built before
 * peerCred existed, not Linux) the daemon relies on the file permissions
 * alone and says so once.
 */

/** Explicit location of reaper.node; the agent reads the same variable. */
export const PEER_CRED_ADDON_VAR = 'SKIFF_AGENT_REAPER_ADDON';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** The part of reaper.node the daemon uses. */
interface PeerCredAddon {
  peerCred(fd: number): PeerCredentials;
}

/** Reads the credentials of a connected Unix socket's peer; throws when the kernel will not say. */
export type PeerCredReader = (socket: Socket) => PeerCredentials;

export type PeerCredLoad = { ok: true; read: PeerCredReader; path: string } | { ok: false; reason: string };

/**
 * Where reaper.node may be, first match wins: the explicit variable; next to
 * the running file (a bundle copied with the addon beside it); the agent
 * package's build output, found through the workspace's node_modules.
 */
export function peerCredAddonCandidates(env: NodeJS.ProcessEnv = process.env, base: string = import.meta.url): string[] {
  const candidates: string[] = [];
  const explicit = env[PEER_CRED_ADDON_VAR];
  if (explicit) candidates.push(explicit);
  candidates.push(fileURLToPath(new URL('./reaper.node', base)));
  try {
    const agentPkg = dirname(createRequire(base).resolve('@skiff/agent/package.json'));
    candidates.push(join(agentPkg, 'native', 'build', 'Release', 'reaper.node'));
  } catch {
    // The agent package is not installed beside the daemon: only the places above count.
  }
  return candidates;
}

let loaded: PeerCredLoad | undefined;

/** Loads the addon once per process; later calls return the first outcome. */
export function loadPeerCredReader(env: NodeJS.ProcessEnv = process.env): PeerCredLoad {
  loaded ??= loadFrom(peerCredAddonCandidates(env));
  return loaded;
}

function loadFrom(candidates: string[]): PeerCredLoad {
  if (process.platform !== 'linux') return { ok: false, reason: `SO_PEERCRED is read on Linux only (this is ${process.platform})` };
  const loaded = loadAddonOrReason<PeerCredAddon>(candidates, (a) => (typeof a.peerCred === 'function' ? null : 'peerCred'));
  if (!loaded.ok) return loaded;
  const peerCred = loaded.addon.peerCred.bind(loaded.addon);
  return { ok: true, path: loaded.path, read: (socket) => peerCred(socketFd(socket)) };
}

/**
 * The descriptor of an accepted socket. Node keeps it on the libuv handle
 * (`_handle.fd`), an internal that has been stable for every Node with
 * Unix sockets; anything else is reported rather than guessed.
 */
function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new SkiffError(ErrorCode.INTERNAL, 'the connection has no file descriptor to ask the kernel about');
  return fd;
}

/** Decides on each accepted connection: undefined lets it in, an error (SKIFF_E_AUTH) is what it is refused with. */
export type PeerGate = (socket: Socket, clientId: number) => SkiffError | undefined;

export interface PeerGateOptions {
  /** The one uid let in; default this process's. */
  ownerUid?: number;
  log: ControlLog;
  /** Default: the addon of this installation (loadPeerCredReader). */
  credentials?: PeerCredLoad;
}

/**
 * Lets in only connections from `ownerUid`. Without a way to ask the kernel,
 * every connection is let in (the socket's permissions are then the only
 * guard) and one warning says so. A connection whose credentials cannot be
 * read although the addon is there is refused: that is not supposed to
 * happen, and letting it in would make the check worthless.
 */
export function ownerOnlyGate(opts: PeerGateOptions): PeerGate {
  const ownerUid = opts.ownerUid ?? process.getuid?.();
  const credentials: PeerCredLoad =
    ownerUid === undefined ? { ok: false, reason: 'this platform has no user ids' } : (opts.credentials ?? loadPeerCredReader());
  if (!credentials.ok || ownerUid === undefined) {
    opts.log(
      LogLevel.WARN,
      `cannot check which user connects to the control socket (${credentials.ok ? 'no uid' : credentials.reason}); ` +
        'only its file permissions (0600 in a 0700 directory) keep other users out, and those do not stop root',
    );
    return () => undefined;
  }
  const { read } = credentials;
  return (socket, clientId) => {
    let peer: PeerCredentials;
    try {
      peer = read(socket);
    } catch (err) {
      opts.log(LogLevel.WARN, `client ${clientId}: cannot read its credentials (${(err as Error).message}); refused`);
      return new SkiffError(ErrorCode.AUTH, `skiffd could not verify which user connected (${(err as Error).message}); connection refused`);
    }
    const refusal = peerRefusal(peer, ownerUid);
    if (refusal !== undefined) opts.log(LogLevel.WARN, `client ${clientId}: pid ${peer.pid} of uid ${peer.uid} refused; this daemon serves uid ${ownerUid} only`);
    return refusal;
  };
}

/** Why a peer is refused, or undefined when it is the daemon's own user. Pure. */
export function peerRefusal(peer: PeerCredentials, ownerUid: number, daemonPid: number = process.pid): SkiffError | undefined {
  if (peer.uid === ownerUid) return undefined;
  return new SkiffError(ErrorCode.AUTH, `this skiffd (pid ${daemonPid}) belongs to uid ${ownerUid}; connections from uid ${peer.uid} are refused`);
}
