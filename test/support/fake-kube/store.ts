import { alreadyExists, notFound } from './status.ts';
import { objectKey, type ResourceInfo } from './resources.ts';
import { clone, type KubeObject } from './shapes.ts';
import { WatchEventType } from './vocabulary.ts';

/**
 * The double's etcd: every object of every resource, one resourceVersion
 * counter for all of them (as etcd's revision is), and the history of changes
 * that watches replay from a given resourceVersion.
 *
 * Invariants: an object's metadata.resourceVersion is the revision of its
 * last write; revisions only grow; `history` holds every change after
 * `compactedAt`, in order, so a watch from any version >= compactedAt misses
 * nothing, and a watch from an older one is told it expired (410), exactly
 * the contract real clients rely on when they re-list. Objects go in and out
 * as copies: nothing outside can change what is stored.
 */

/** Changes kept for watches; older ones are compacted away as etcd compacts its history. */
export const HISTORY_LIMIT = 10_000;

export type ChangeType = typeof WatchEventType.ADDED | typeof WatchEventType.MODIFIED | typeof WatchEventType.DELETED;

export interface Change {
  revision: number;
  type: ChangeType;
  resource: ResourceInfo;
  object: KubeObject;
  /** The object before this change (MODIFIED and DELETED). */
  previous?: KubeObject;
}

export type ChangeListener = (change: Change) => void;

export class ObjectStore {
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: Change[] = [];
  private readonly listeners = new Set<ChangeListener>();
  private revision = 1;
  private compactedAt = 1;
  /** Changes not yet handed to every listener; see record(). */
  private readonly pending: Change[] = [];
  private dispatching = false;

  currentRevision(): number {
    return this.revision;
  }

  /** The oldest resourceVersion a watch may start from. */
  oldestWatchable(): number {
    return this.compactedAt;
  }

  get(r: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.objects.get(objectKey(r, namespace, name));
    return obj === undefined ? undefined : clone(obj);
  }

  mustGet(r: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    const obj = this.get(r, namespace, name);
    if (obj === undefined) throw notFound(r, name);
    return obj;
  }

  /** Objects of a resource, in one namespace or (undefined) in all, sorted by namespace and name as the real server lists them. */
  list(r: ResourceInfo, namespace?: string): KubeObject[] {
    const prefix = r.namespaced && namespace !== undefined ? objectKey(r, namespace, '') : `${r.group}/${r.plural}/`;
    const out: KubeObject[] = [];
    for (const [key, obj] of this.objects) if (key.startsWith(prefix)) out.push(clone(obj));
    return out.sort((a, b) => objectKey(r, a.metadata.namespace, a.metadata.name!).localeCompare(objectKey(r, b.metadata.namespace, b.metadata.name!)));
  }

  create(r: ResourceInfo, obj: KubeObject): KubeObject {
    const key = objectKey(r, obj.metadata.namespace, obj.metadata.name!);
    if (this.objects.has(key)) throw alreadyExists(r, obj.metadata.name!);
    return this.write(r, key, obj, WatchEventType.ADDED, undefined);
  }

  /** Replaces a stored object; the caller decided the change (and checked resourceVersion when it had to). */
  update(r: ResourceInfo, obj: KubeObject): KubeObject {
    const key = objectKey(r, obj.metadata.namespace, obj.metadata.name!);
    const previous = this.objects.get(key);
    if (previous === undefined) throw notFound(r, obj.metadata.name!);
    return this.write(r, key, obj, WatchEventType.MODIFIED, previous);
  }

  /** Removes an object; the DELETED change carries it with the deletion's revision, as the real server sends it. */
  remove(r: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    const key = objectKey(r, namespace, name);
    const previous = this.objects.get(key);
    if (previous === undefined) throw notFound(r, name);
    this.objects.delete(key);
    const last = clone(previous);
    this.revision += 1;
    last.metadata.resourceVersion = String(this.revision);
    this.record({ revision: this.revision, type: WatchEventType.DELETED, resource: r, object: last, previous });
    return clone(last);
  }

  /** Changes after `revision`, or 'expired' when some were compacted away. */
  changesSince(revision: number): Change[] | 'expired' {
    if (revision < this.compactedAt) return 'expired';
    const first = this.history.findIndex((c) => c.revision > revision);
    return first < 0 ? [] : this.history.slice(first);
  }

  /** Forgets the history: any watch from a resourceVersion before now will be told it expired (410). */
  compact(): void {
    this.history.length = 0;
    this.compactedAt = this.revision;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private write(r: ResourceInfo, key: string, obj: KubeObject, type: ChangeType, previous: KubeObject | undefined): KubeObject {
    const stored = clone(obj);
    this.revision += 1;
    stored.metadata.resourceVersion = String(this.revision);
    this.objects.set(key, stored);
    this.record({ revision: this.revision, type, resource: r, object: clone(stored), ...(previous ? { previous: clone(previous) } : {}) });
    return clone(stored);
  }

  private record(change: Change): void {
    this.history.push(change);
    if (this.history.length > HISTORY_LIMIT) {
      const dropped = this.history.splice(0, this.history.length - HISTORY_LIMIT);
      this.compactedAt = dropped[dropped.length - 1].revision;
    }
    // A listener may write (the controllers do): its change is queued, not
    // delivered from inside this loop, so every listener sees every change
    // in revision order.
    this.pending.push(change);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.pending.shift(); next !== undefined; next = this.pending.shift()) {
        for (const listener of [...this.listeners]) {
          try {
            listener(next);
          } catch (err) {
            // A listener's failure is a bug of the double; it must not stop the others.
            console.error('fake-kube: a store listener failed:', err);
          }
        }
      }
    } finally {
      this.dispatching = false;
    }
  }
}
