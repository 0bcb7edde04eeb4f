import type { KubeConfig, KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { FIELD_MANAGER } from './objects.ts';

/**
 * The part of the Kubernetes API the target uses, through
 * @kubernetes/client-node (loaded when the target starts: it stays outside
 * the bundled programs, see scripts/build.mjs). Errors become SkiffErrors:
 * an unreachable or refusing API server is SKIFF_E_TARGET_UNAVAILABLE with
 * what the server said.
 */
export type ClientNode = typeof import('@kubernetes/client-node');

export async function loadClientNode(): Promise<ClientNode> {
  return import('@kubernetes/client-node');
}

export interface KubeAccess {
  lib: ClientNode;
  kc: KubeConfig;
  namespace: string;
  objects: KubernetesObjectApi;
  /** Where the API server is, for messages. */
  server: string;
}

/**
 * Standard kubeconfig loading (KUBECONFIG, ~/.kube/config, or in-cluster),
 * then the context and namespace asked for: the command line's, else
 * skiff.yaml's, else the kubeconfig's current context and its namespace,
 * else "default".
 */
export async function openKube(opts: { context?: string; namespace?: string }): Promise<KubeAccess> {
  const lib = await loadClientNode();
  const kc = new lib.KubeConfig();
  try {
    kc.loadFromDefault();
  } catch (err) {
    throw new SkiffError(ErrorCode.TARGET_UNAVAILABLE, `cannot load a kubeconfig (KUBECONFIG, ~/.kube/config or in-cluster): ${(err as Error).message}`, { cause: err });
  }
  if (opts.context !== undefined) {
    if (!kc.getContextObject(opts.context)) {
      throw new SkiffError(ErrorCode.CONFIG, `the kubeconfig has no context "${opts.context}"; its contexts: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}`);
    }
    kc.setCurrentContext(opts.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new SkiffError(ErrorCode.TARGET_UNAVAILABLE, 'the kubeconfig names no cluster: set KUBECONFIG, or pass --context');
  const namespace = opts.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return { lib, kc, namespace, objects: lib.KubernetesObjectApi.makeApiClient(kc), server: cluster.server };
}

/** Server-side apply with skiff's field manager, taking over fields skiff set before (force). */
export async function apply(kube: KubeAccess, object: KubernetesObject): Promise<KubernetesObject> {
  try {
    return await kube.objects.patch(object, undefined, undefined, FIELD_MANAGER, true, kube.lib.PatchStrategy.ServerSideApply);
  } catch (err) {
    throw apiError(kube, err, `apply ${object.kind} ${object.metadata?.name}`);
  }
}

/** Reads an object; null when it does not exist. */
export async function readObject(kube: KubeAccess, apiVersion: string, kind: string, name: string): Promise<KubernetesObject | null> {
  try {
    return await kube.objects.read({ apiVersion, kind, metadata: { name, namespace: kube.namespace } });
  } catch (err) {
    if (statusCode(err) === 404) return null;
    throw apiError(kube, err, `read ${kind} ${name}`);
  }
}

/** Every object of `kind` carrying `labelSelector`, in the namespace. */
export async function listObjects(kube: KubeAccess, apiVersion: string, kind: string, labelSelector: string): Promise<KubernetesObject[]> {
  try {
    const list = await kube.objects.list(apiVersion, kind, kube.namespace, undefined, undefined, undefined, undefined, labelSelector);
    return list.items;
  } catch (err) {
    throw apiError(kube, err, `list ${kind}`);
  }
}

export async function deleteObject(kube: KubeAccess, object: KubernetesObject): Promise<boolean> {
  try {
    await kube.objects.delete(object, undefined, undefined, undefined, undefined, 'Background');
    return true;
  } catch (err) {
    if (statusCode(err) === 404) return false;
    throw apiError(kube, err, `delete ${object.kind} ${object.metadata?.name}`);
  }
}

export function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** What the API server said, from client-node's ApiException (its body is the Status as JSON text). */
export function serverMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: string };
      if (status.message) return status.message;
    } catch {
      return body.slice(0, 500);
    }
  }
  if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  return (err as Error).message ?? String(err);
}

/** The `details` of the Status the API server answered with, when there is one. */
function statusDetails(err: unknown): { kind?: string; name?: string } | undefined {
  const body = (err as { body?: unknown }).body;
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { details?: { kind?: string; name?: string } } | undefined;
    return status?.details;
  } catch {
    return undefined;
  }
}

export function apiError(kube: KubeAccess, err: unknown, what: string): SkiffError {
  const code = statusCode(err);
  if (code === 401 || code === 403) {
    return new SkiffError(ErrorCode.TARGET_UNAVAILABLE, `the API server at ${kube.server} refused to ${what} (HTTP ${code}): ${serverMessage(err)}; check the kubeconfig's credentials and the RBAC rules in the README`, { cause: err });
  }
  if (code === undefined) {
    return new SkiffError(ErrorCode.TARGET_UNAVAILABLE, `cannot reach the API server at ${kube.server} to ${what}: ${serverMessage(err)}`, { cause: err });
  }
  if (code === 404 && statusDetails(err)?.kind === 'namespaces') {
    // Not the agent's failure: the namespace chosen (flag, skiff.yaml or context) is not there.
    return new SkiffError(
      ErrorCode.CONFIG,
      `the namespace "${kube.namespace}" does not exist on the cluster at ${kube.server}: create it (kubectl create namespace ${kube.namespace}), or choose another with --namespace or skiff.yaml's kubernetes.namespace`,
      { cause: err },
    );
  }
  return new SkiffError(ErrorCode.AGENT_START, `the API server could not ${what} (HTTP ${code}): ${serverMessage(err)}`, { cause: err });
}
