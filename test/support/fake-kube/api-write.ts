import { parse as parseYaml } from 'yaml';
import { dropNulls, recordUpdate, serverSideApply } from './apply.ts';
import { applyDefaults, carryServerFields, prepareCreate } from './defaults.ts';
import { deleteOptionsFrom, type Deleter } from './deletion.ts';
import { selectionFrom } from './api-read.ts';
import { groupVersion, NAMESPACE, type ResourceInfo } from './resources.ts';
import { randomSuffix } from './names.ts';
import { clone, isRecord, jsonEqual, nowIso, type KubeObject } from './shapes.ts';
import { applyConflict, badRequest, failure, invalid, staleConflict, unsupportedMediaType, type StatusBody } from './status.ts';
import type { ObjectStore } from './store.ts';
import { validateObject, validateUpdate } from './validate.ts';
import { StatusReason } from './vocabulary.ts';

/**
 * The writing verbs: create (POST), replace (PUT), patch (server-side apply
 * and JSON merge patch), delete and deletecollection. Each decodes and
 * checks the request the way the real server does (type and identity,
 * namespace, validation, resourceVersion preconditions), keeps
 * managedFields, and writes through the store.
 *
 * An apply or replace that changes nothing is not written: the object keeps
 * its resourceVersion and no watch event is sent, as on the real server.
 */

export const PatchType = {
  Apply: 'application/apply-patch+yaml',
  Merge: 'application/merge-patch+json',
  Strategic: 'application/strategic-merge-patch+json',
  Json: 'application/json-patch+json',
} as const;
const SUPPORTED_PATCHES = [PatchType.Apply, PatchType.Merge] as const;

export interface WriteRequest {
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  query: URLSearchParams;
  /** The raw body. */
  body: string;
  contentType: string;
  userAgent: string;
}

export interface WriteResult {
  code: number;
  body: object;
}

/** The field manager of a write: `fieldManager`, else the program part of the User-Agent, as the real server derives it. */
export function managerOf(req: WriteRequest): string {
  const explicit = req.query.get('fieldManager');
  if (explicit !== null && explicit !== '') return explicit;
  return (req.userAgent.split('/')[0] || 'unknown').slice(0, 128);
}

function rejectDryRun(query: URLSearchParams): void {
  if (query.has('dryRun')) throw badRequest('fake-kube: dryRun is not implemented by this test double');
}

function decodeJson(body: string, r: ResourceInfo): unknown {
  try {
    return JSON.parse(body);
  } catch (err) {
    throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${(err as Error).message}`);
  }
}

function decodeYaml(body: string): unknown {
  try {
    return parseYaml(body);
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
}

/**
 * apiVersion and kind must be the URL's. An apply must state them; other
 * writes may leave them out and get the URL's, as the real decoder defaults
 * them from the endpoint.
 */
function checkTypeMeta(r: ResourceInfo, obj: unknown, required = false): KubeObject {
  if (!isRecord(obj)) throw badRequest('the body of the request must be a JSON or YAML object');
  const expected = groupVersion(r);
  if (!required) {
    if (obj.kind === undefined || obj.kind === '') obj.kind = r.kind;
    if (obj.apiVersion === undefined || obj.apiVersion === '') obj.apiVersion = expected;
  }
  if (obj.kind === undefined || obj.kind === '') throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(obj).slice(0, 200)}'`);
  if (obj.apiVersion === undefined || obj.apiVersion === '') throw badRequest(`Object 'apiVersion' is missing in '${JSON.stringify(obj).slice(0, 200)}'`);
  if (obj.apiVersion !== expected) throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${expected})`);
  if (obj.kind !== r.kind) throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${r.kind})`);
  const out = obj as KubeObject;
  if (!isRecord(out.metadata)) out.metadata = {};
  return out;
}

/** The object's name and namespace must be the URL's (filled in when absent). */
function checkIdentity(req: WriteRequest, obj: KubeObject): void {
  const { resource: r } = req;
  if (req.name !== undefined) {
    if (obj.metadata.name === undefined || obj.metadata.name === '') obj.metadata.name = req.name;
    else if (obj.metadata.name !== req.name) throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${req.name})`);
  }
  if (r.namespaced) {
    if (obj.metadata.namespace === undefined || obj.metadata.namespace === '') obj.metadata.namespace = req.namespace;
    else if (obj.metadata.namespace !== req.namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  } else delete obj.metadata.namespace;
}

function checkNamespace(store: ObjectStore, r: ResourceInfo, namespace: string | undefined): void {
  if (!r.namespaced) return;
  const ns = store.get(NAMESPACE, undefined, namespace ?? '');
  if (ns === undefined) throw failure(404, StatusReason.NotFound, `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
  if (ns.metadata.deletionTimestamp !== undefined) {
    throw failure(403, StatusReason.Forbidden, `${r.plural} is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`);
  }
}

function validated(r: ResourceInfo, obj: KubeObject, live?: KubeObject): KubeObject {
  const causes = validateObject(obj);
  if (live !== undefined) causes.push(...validateUpdate(live, obj));
  if (causes.length > 0) throw invalid(r, obj.metadata.name ?? '', causes);
  return obj;
}

/** Equal apart from resourceVersion and managedFields timestamps: such a write changes nothing. */
function unchanged(live: KubeObject, next: KubeObject): boolean {
  const strip = (o: KubeObject) => ({
    ...o,
    metadata: { ...o.metadata, resourceVersion: undefined, managedFields: (o.metadata.managedFields ?? []).map((m) => ({ ...m, time: undefined })) },
  });
  return jsonEqual(strip(live), strip(next));
}

export class Writer {
  constructor(
    private readonly store: ObjectStore,
    private readonly deleter: Deleter,
  ) {}

  create(req: WriteRequest): WriteResult {
    rejectDryRun(req.query);
    const r = req.resource;
    const obj = checkTypeMeta(r, decodeJson(req.body, r));
    checkIdentity({ ...req, name: undefined }, obj);
    if ((obj.metadata.name ?? '') === '' && typeof obj.metadata.generateName === 'string' && obj.metadata.generateName !== '') {
      obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
    }
    checkNamespace(this.store, r, obj.metadata.namespace);
    const now = nowIso();
    const prepared = prepareCreate(r, applyDefaults(clone(obj)), now);
    validated(r, prepared);
    prepared.metadata.managedFields = recordUpdate(undefined, prepared, managerOf(req), now);
    return { code: 201, body: this.store.create(r, prepared) };
  }

  replace(req: WriteRequest): WriteResult {
    rejectDryRun(req.query);
    const r = req.resource;
    const obj = checkTypeMeta(r, decodeJson(req.body, r));
    checkIdentity(req, obj);
    const live = this.store.mustGet(r, req.namespace, req.name!);
    if (obj.metadata.resourceVersion !== undefined && obj.metadata.resourceVersion !== '' && obj.metadata.resourceVersion !== live.metadata.resourceVersion) {
      throw staleConflict(r, req.name!);
    }
    return this.writeUpdate(req, live, obj);
  }

  patch(req: WriteRequest): WriteResult {
    rejectDryRun(req.query);
    const type = req.contentType.split(';')[0].trim();
    if (type === PatchType.Apply) return this.apply(req);
    if (req.query.has('force')) {
      throw failure(422, StatusReason.Invalid, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch', { kind: 'PatchOptions', group: 'meta.k8s.io' });
    }
    if (type !== PatchType.Merge) throw unsupportedMediaType(type, SUPPORTED_PATCHES);
    const r = req.resource;
    const live = this.store.mustGet(r, req.namespace, req.name!);
    const patch = decodeJson(req.body, r);
    if (!isRecord(patch)) throw badRequest('a merge patch must be a JSON object');
    const next = mergePatch(clone(live), patch) as KubeObject;
    if (isRecord(patch.metadata) && typeof patch.metadata.resourceVersion === 'string' && patch.metadata.resourceVersion !== live.metadata.resourceVersion) {
      throw staleConflict(r, req.name!);
    }
    return this.writeUpdate(req, live, checkTypeMeta(r, next));
  }

  /** Server-side apply: create when absent, merge and track ownership when present. */
  private apply(req: WriteRequest): WriteResult {
    const r = req.resource;
    const manager = req.query.get('fieldManager');
    if (manager === null || manager === '') {
      throw failure(422, StatusReason.Invalid, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
        kind: 'PatchOptions',
        group: 'meta.k8s.io',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
      });
    }
    const force = req.query.get('force') === 'true';
    const config = checkTypeMeta(r, dropNulls(decodeYaml(req.body)), true);
    checkIdentity(req, config);
    const live = this.store.get(r, req.namespace, req.name!);
    const rv = config.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== live?.metadata.resourceVersion) throw staleConflict(r, req.name!);
    // What the server owns is not the applier's to set.
    for (const k of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink'] as const) {
      delete config.metadata[k];
    }
    if (r.subresources.includes('status')) delete config.status;
    if (live === undefined) checkNamespace(this.store, r, req.namespace);

    const now = nowIso();
    const outcome = serverSideApply({ live, config, manager, force, now });
    if (!outcome.ok) throw applyConflict(r, req.name!, outcome.conflicts);
    const merged = applyDefaults(outcome.object);
    if (live === undefined) {
      const prepared = validated(r, prepareCreate(r, merged, now));
      return { code: 201, body: this.store.create(r, prepared) };
    }
    const next = validated(r, carryServerFields(r, live, merged), live);
    if (unchanged(live, next)) return { code: 200, body: live };
    return { code: 200, body: this.store.update(r, next) };
  }

  private writeUpdate(req: WriteRequest, live: KubeObject, obj: KubeObject): WriteResult {
    const r = req.resource;
    const now = nowIso();
    const next = validated(r, carryServerFields(r, live, applyDefaults(clone(obj))), live);
    next.metadata.managedFields = recordUpdate(live, next, managerOf(req), now);
    if (unchanged(live, next)) return { code: 200, body: live };
    return { code: 200, body: this.store.update(r, next) };
  }

  delete(req: WriteRequest): WriteResult {
    rejectDryRun(req.query);
    const body = req.body.trim() === '' ? {} : decodeJson(req.body, req.resource);
    const result: KubeObject | StatusBody = this.deleter.delete(req.resource, req.namespace, req.name!, deleteOptionsFrom(body, req.query));
    return { code: 200, body: result };
  }

  /** Deletes every object the selectors match; answers the list of what was deleted, as the real server does. */
  deleteCollection(req: WriteRequest): WriteResult {
    rejectDryRun(req.query);
    const r = req.resource;
    const body = req.body.trim() === '' ? {} : decodeJson(req.body, r);
    const opts = deleteOptionsFrom(body, req.query);
    const select = selectionFrom(r, req.query);
    const items: object[] = [];
    for (const obj of this.store.list(r, req.namespace).filter(select)) {
      this.deleter.delete(r, obj.metadata.namespace, obj.metadata.name!, opts);
      const { apiVersion: _a, kind: _k, ...rest } = obj;
      items.push(rest);
    }
    return { code: 200, body: { kind: r.listKind, apiVersion: groupVersion(r), metadata: { resourceVersion: String(this.store.currentRevision()) }, items } };
  }
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const out = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
