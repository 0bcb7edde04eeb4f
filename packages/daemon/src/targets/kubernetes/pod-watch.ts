import type { V1Pod } from '@kubernetes/client-node';
import type { KubeAccess } from './kube-api.ts';
import { apiError } from './kube-api.ts';

/** Pause before listing again after a watch ended or failed (410 Gone, a dropped stream). */
export const RELIST_DELAY_MS = 200;

/**
 * The pods of one instance, kept current by list-then-watch: every change
 * arrives as a watch event; a watch that ends or fails (410 Gone once the
 * server's history moved on, a dropped connection) is replaced by a new list
 * and a watch from its resourceVersion, so no change is lost between them.
 */
export class PodWatch {
  private readonly pods = new Map<string, V1Pod>();
  private readonly listeners = new Set<() => void>();
  private abort: AbortController | null = null;
  private closed = false;
  private relistTimer: NodeJS.Timeout | null = null;
  /** Settles after the first list. */
  readonly ready: Promise<void>;

  constructor(
    private readonly kube: KubeAccess,
    private readonly labelSelector: string,
  ) {
    this.ready = this.relist();
  }

  /** The pods now, newest first. */
  snapshot(): V1Pod[] {
    const time = (p: V1Pod) => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
    return [...this.pods.values()].sort((a, b) => time(b) - time(a));
  }

  get(name: string): V1Pod | undefined {
    return this.pods.get(name);
  }

  /** Calls `fn` after every change; returns the unsubscribe. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolves at the next change, or after `ms`. */
  nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const off = this.onChange(done);
      function done() {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  }

  close(): void {
    this.closed = true;
    if (this.relistTimer) clearTimeout(this.relistTimer);
    this.abort?.abort();
    this.listeners.clear();
  }

  private async relist(): Promise<void> {
    const core = this.kube.kc.makeApiClient(this.kube.lib.CoreV1Api);
    let rv: string | undefined;
    try {
      const list = await core.listNamespacedPod({ namespace: this.kube.namespace, labelSelector: this.labelSelector });
      this.pods.clear();
      for (const pod of list.items) if (pod.metadata?.name) this.pods.set(pod.metadata.name, pod);
      rv = list.metadata?.resourceVersion;
    } catch (err) {
      if (this.closed) return;
      // The first list reports; later ones retry quietly (the session's own reconnect says the agent is away).
      if (!this.listed) throw apiError(this.kube, err, 'list pods');
      this.scheduleRelist();
      return;
    }
    this.listed = true;
    this.notify();
    // Not awaited: an API server may hold a watch's response headers until the first event.
    if (!this.closed) void this.watch(rv);
  }

  private listed = false;

  private async watch(resourceVersion: string | undefined): Promise<void> {
    const watcher = new this.kube.lib.Watch(this.kube.kc);
    try {
      this.abort = await watcher.watch(
        `/api/v1/namespaces/${this.kube.namespace}/pods`,
        { labelSelector: this.labelSelector, resourceVersion, allowWatchBookmarks: true },
        (type: string, obj: V1Pod) => this.event(type, obj),
        () => this.scheduleRelist(),
      );
    } catch {
      this.scheduleRelist();
    }
  }

  private event(type: string, obj: V1Pod): void {
    const name = obj?.metadata?.name;
    if (type === 'ERROR') {
      // 410 Gone (history compacted) or another failure: start over from a fresh list.
      this.abort?.abort();
      this.scheduleRelist();
      return;
    }
    if (type === 'BOOKMARK' || !name) return;
    if (type === 'DELETED') this.pods.delete(name);
    else this.pods.set(name, obj);
    this.notify();
  }

  private scheduleRelist(): void {
    if (this.closed || this.relistTimer) return;
    this.relistTimer = setTimeout(() => {
      this.relistTimer = null;
      this.relist().catch(() => this.scheduleRelist());
    }, RELIST_DELAY_MS);
    // Like the watch, a pending relist does not hold the process (whoever waits for a pod has its own timer).
    this.relistTimer.unref();
  }

  private notify(): void {
    for (const fn of [...this.listeners]) {
      try {
        fn();
      } catch {
        // A listener's failure is its own; the watch goes on.
      }
    }
  }
}
