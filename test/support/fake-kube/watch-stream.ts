import type { ServerResponse } from 'node:http';
import { selectionFrom, type Selection } from './api-read.ts';
import type { ResourceInfo } from './resources.ts';
import type { KubeObject } from './shapes.ts';
import { badRequest, tooOldResourceVersion, type StatusBody } from './status.ts';
import type { Change, ObjectStore } from './store.ts';
import { WatchEventType } from './vocabulary.ts';

/**
 * `?watch=true` (or `=1`): a chunked HTTP response of JSON lines
 * `{"type":..., "object":...}`, with the real server's resourceVersion
 * semantics:
 * - no resourceVersion, or "0": synthetic ADDED events for what exists,
 *   then every later change;
 * - resourceVersion N: every change after N, replayed from the store's
 *   history, then live; N older than the history → one ERROR event carrying
 *   a 410 Expired Status, and the stream ends (what informers re-list on);
 * - with a selector, an object that stops matching arrives as DELETED and
 *   one that starts matching as ADDED, as the real watch cache does;
 * - `timeoutSeconds` ends the stream; BOOKMARK events are sent only when the
 *   client allowed them and a test asks for them (WatchHub.bookmark).
 * Tests reach open watches through the WatchHub: expire them (ERROR 410),
 * close them (a server-side end, like the API server's request timeout).
 */

export interface WatchHandle {
  resource: ResourceInfo;
  namespace: string | undefined;
  bookmarks: boolean;
  /** Sends one event line. */
  send(type: string, object: object): void;
  /** Ends the stream. */
  end(): void;
}

/** The open watches, for the test hooks. */
export class WatchHub {
  private readonly open = new Set<WatchHandle>();

  add(w: WatchHandle): () => void {
    this.open.add(w);
    return () => this.open.delete(w);
  }

  count(plural?: string): number {
    return [...this.open].filter((w) => plural === undefined || w.resource.plural === plural).length;
  }

  /** Sends each open watch (of one resource, or all) an ERROR with a 410 Expired Status, then ends it. */
  expire(plural?: string, revision = 0): number {
    let n = 0;
    for (const w of [...this.open]) {
      if (plural !== undefined && w.resource.plural !== plural) continue;
      w.send(WatchEventType.ERROR, tooOldResourceVersion(String(revision), revision + 1));
      w.end();
      n += 1;
    }
    return n;
  }

  /** Ends open watches without an error, as the API server does when a watch's time is up. */
  close(plural?: string): number {
    let n = 0;
    for (const w of [...this.open]) {
      if (plural !== undefined && w.resource.plural !== plural) continue;
      w.end();
      n += 1;
    }
    return n;
  }

  /** Sends a BOOKMARK at `revision` to the watches that allowed bookmarks. */
  bookmark(revision: number): void {
    for (const w of this.open) {
      if (!w.bookmarks) continue;
      w.send(WatchEventType.BOOKMARK, { kind: w.resource.kind, apiVersion: w.resource.group === '' ? w.resource.version : `${w.resource.group}/${w.resource.version}`, metadata: { resourceVersion: String(revision) } });
    }
  }
}

function inScope(r: ResourceInfo, namespace: string | undefined, obj: KubeObject): boolean {
  return !r.namespaced || namespace === undefined || obj.metadata.namespace === namespace;
}

/** The event a change becomes for one watcher, or undefined when the watcher does not see it. */
export function eventFor(change: Change, r: ResourceInfo, namespace: string | undefined, select: Selection): { type: string; object: KubeObject } | undefined {
  if (change.resource !== r || !inScope(r, namespace, change.object)) return undefined;
  const now = select(change.object);
  if (change.type === WatchEventType.MODIFIED && change.previous !== undefined) {
    const before = select(change.previous);
    if (before && !now) return { type: WatchEventType.DELETED, object: change.object };
    if (!before && now) return { type: WatchEventType.ADDED, object: change.object };
  }
  return now ? { type: change.type, object: change.object } : undefined;
}

export function serveWatch(
  res: ServerResponse,
  store: ObjectStore,
  hub: WatchHub,
  r: ResourceInfo,
  namespace: string | undefined,
  query: URLSearchParams,
): void {
  const select = selectionFrom(r, query);
  const rvParam = query.get('resourceVersion');
  let fromRevision: number | undefined;
  if (rvParam !== null && rvParam !== '' && rvParam !== '0') {
    fromRevision = Number(rvParam);
    if (!Number.isInteger(fromRevision) || fromRevision < 0) throw badRequest(`invalid resource version: ${JSON.stringify(rvParam)}`);
  }
  const timeoutSeconds = query.has('timeoutSeconds') ? Number(query.get('timeoutSeconds')) : undefined;

  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  let ended = false;
  const send = (type: string, object: object | StatusBody) => {
    if (!ended) res.write(`${JSON.stringify({ type, object })}\n`);
  };

  // Everything from here to subscribe runs in one tick: no change can slip between replay and live.
  const replay = fromRevision === undefined ? undefined : store.changesSince(fromRevision);
  if (replay === 'expired') {
    send(WatchEventType.ERROR, tooOldResourceVersion(rvParam!, store.oldestWatchable()));
    res.end();
    return;
  }
  if (replay === undefined) {
    for (const obj of store.list(r, namespace)) if (select(obj)) send(WatchEventType.ADDED, obj);
  } else {
    for (const change of replay) {
      const ev = eventFor(change, r, namespace, select);
      if (ev !== undefined) send(ev.type, ev.object);
    }
  }

  let timer: NodeJS.Timeout | undefined;
  const handle: WatchHandle = {
    resource: r,
    namespace,
    bookmarks: query.get('allowWatchBookmarks') === 'true',
    send,
    end() {
      if (ended) return;
      ended = true;
      cleanup();
      res.end();
    },
  };
  const unsubscribe = store.subscribe((change) => {
    const ev = eventFor(change, r, namespace, select);
    if (ev !== undefined) send(ev.type, ev.object);
  });
  const unregister = hub.add(handle);
  const cleanup = () => {
    unsubscribe();
    unregister();
    if (timer !== undefined) clearTimeout(timer);
  };
  if (timeoutSeconds !== undefined && Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) {
    timer = setTimeout(() => handle.end(), timeoutSeconds * 1000);
  }
  res.on('close', () => {
    ended = true;
    cleanup();
  });
}
