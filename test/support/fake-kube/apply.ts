import {
  decodePath,
  describePath,
  encodePath,
  fieldsOf,
  fromFieldsV1,
  isAtomicObject,
  keyOf,
  listSchema,
  lookup,
  ownsUnder,
  removeAt,
  toFieldsV1,
  type FieldSet,
} from './field-paths.ts';
import { clone, isRecord, jsonEqual, type JsonObject, type KubeObject, type ManagedFieldsEntry } from './shapes.ts';

/**
 * Server-side apply and field ownership, pure: the live object, the applied
 * configuration and the manager in; the merged object with its
 * metadata.managedFields, or the conflicts, out.
 *
 * What it follows of the real algorithm (structured-merge-diff):
 * - a manager's Apply entry holds exactly the fields of its last applied
 *   configuration; fields it applied before and omits now are removed from
 *   the object unless another manager also owns them;
 * - applying a field another manager owns with a different value is a
 *   conflict (409) unless `force`, which moves ownership to the applier;
 *   the same value means shared ownership, no conflict;
 * - objects merge field by field, keyed lists item by item (containers by
 *   name, ports by port and protocol...), sets by value, anything else is
 *   replaced whole;
 * - writes that are not applies (create, update, merge patch) record an
 *   Update entry for the fields they changed, taking them from others.
 * What it does not: per-version conversion of field sets, `null` in an
 * applied configuration (treated as absent), ownership of status
 * (subresource entries are not recorded).
 */

export interface Conflict {
  manager: string;
  apiVersion: string;
  field: string;
}

export type ApplyOutcome = { ok: true; object: KubeObject } | { ok: false; conflicts: Conflict[] };

export interface ApplyRequest {
  /** The stored object, or undefined when the apply creates it. */
  live: KubeObject | undefined;
  /** The applied configuration, already stripped of what the server owns (status). */
  config: KubeObject;
  manager: string;
  force: boolean;
  now: string;
}

interface Owner {
  entry: ManagedFieldsEntry;
  set: FieldSet;
}

function ownersOf(obj: KubeObject | undefined): Owner[] {
  return (obj?.metadata.managedFields ?? []).map((entry) => ({ entry: clone(entry), set: fromFieldsV1(entry.fieldsV1) }));
}

function isSameOwner(o: Owner, manager: string, operation: 'Apply' | 'Update'): boolean {
  return o.entry.manager === manager && o.entry.operation === operation && o.entry.subresource === undefined;
}

/** Drops nulls (the double treats them as absent) so that they neither merge nor own anything. */
export function dropNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.filter((v) => v !== null).map(dropNulls) as T;
  if (isRecord(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = dropNulls(v);
    return out as T;
  }
  return value;
}

export function serverSideApply(req: ApplyRequest): ApplyOutcome {
  const kind = req.config.kind;
  const config = dropNulls(req.config);
  const applied = fieldsOf(config, kind);
  const owners = ownersOf(req.live);
  const live: KubeObject = req.live === undefined ? { apiVersion: config.apiVersion, kind, metadata: {} } : clone(req.live);

  // Conflicts: a field another manager owns, applied with a different value.
  const conflicts: Conflict[] = [];
  for (const owner of owners) {
    if (isSameOwner(owner, req.manager, 'Apply')) continue;
    for (const encoded of applied) {
      if (!owner.set.has(encoded)) continue;
      const path = decodePath(encoded);
      if (path[path.length - 1] === '.') continue; // owning an item's existence never conflicts
      const have = lookup(live, path);
      const want = lookup(config, path);
      // Nothing stored to differ from (a write-only field such as a Secret's stringData): shared, not a conflict.
      if (!have.found || (want.found && jsonEqual(have.value, want.value))) continue;
      if (req.force) owner.set.delete(encoded);
      else conflicts.push({ manager: owner.entry.manager, apiVersion: owner.entry.apiVersion, field: describePath(path) });
    }
  }
  if (conflicts.length > 0) return { ok: false, conflicts };

  // Fields this manager applied before and omits now leave the object, unless someone else holds them.
  const previous = owners.find((o) => isSameOwner(o, req.manager, 'Apply'));
  const others = owners.filter((o) => o !== previous);
  if (previous !== undefined) {
    const dropped = [...previous.set].filter((p) => !applied.has(p)).map(decodePath);
    dropped.sort((a, b) => b.length - a.length);
    for (const path of dropped) {
      const heldElsewhere = others.some((o) => (path[path.length - 1] === '.' ? ownsUnder(o.set, path.slice(0, -1)) : o.set.has(encodePath(path))));
      if (!heldElsewhere) removeAt(live, path);
    }
  }

  const merged = mergeValue(live, config, [], kind) as KubeObject;
  merged.metadata = { ...merged.metadata, managedFields: undefined };
  const entries = others.filter((o) => o.set.size > 0).map((o) => ({ ...o.entry, fieldsV1: toFieldsV1(o.set) }));
  const appliedEntry: ManagedFieldsEntry = {
    manager: req.manager,
    operation: 'Apply',
    apiVersion: config.apiVersion,
    time: previous !== undefined && setsEqual(previous.set, applied) ? previous.entry.time : req.now,
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(applied),
  };
  const at = previous === undefined ? entries.length : owners.filter((o) => o.set.size > 0).indexOf(previous);
  entries.splice(at < 0 ? entries.length : at, 0, appliedEntry);
  merged.metadata.managedFields = entries;
  return { ok: true, object: merged };
}

/**
 * Ownership after a write that is not an apply: the fields whose value the
 * write set or changed go to `manager` (operation Update), taken from the
 * others; fields it removed leave every set.
 */
export function recordUpdate(before: KubeObject | undefined, after: KubeObject, manager: string, now: string): ManagedFieldsEntry[] {
  const kind = after.kind;
  const beforeSet = before === undefined ? new Set<string>() : fieldsOf(before, kind);
  const afterSet = fieldsOf(after, kind);
  const owners = ownersOf(before);
  const changed = new Set<string>();
  for (const encoded of afterSet) {
    const path = decodePath(encoded);
    const was = before === undefined ? { found: false as const } : lookup(before, path);
    const is = lookup(after, path);
    if (!was.found || !is.found || !jsonEqual(was.value, is.value)) changed.add(encoded);
  }
  const removed = [...beforeSet].filter((p) => !afterSet.has(p));
  let mine = owners.find((o) => isSameOwner(o, manager, 'Update'));
  for (const o of owners) {
    for (const p of removed) o.set.delete(p);
    if (o !== mine) for (const p of changed) o.set.delete(p);
  }
  if (changed.size > 0) {
    if (mine === undefined) {
      mine = { entry: { manager, operation: 'Update', apiVersion: after.apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: {} }, set: new Set() };
      owners.push(mine);
    }
    for (const p of changed) mine.set.add(p);
    mine.entry.time = now;
  }
  return owners.filter((o) => o.set.size > 0).map((o) => ({ ...o.entry, fieldsV1: toFieldsV1(o.set) }));
}

function setsEqual(a: FieldSet, b: FieldSet): boolean {
  return a.size === b.size && [...a].every((p) => b.has(p));
}

/** Merges an applied value into a live one: objects field by field, keyed lists by key, sets by value, the rest replaced. */
function mergeValue(live: unknown, applied: unknown, names: string[], kind: string): unknown {
  if (isRecord(applied) && !isAtomicObject(names, kind)) {
    const out: JsonObject = isRecord(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(applied)) out[k] = mergeValue(out[k], v, [...names, k], kind);
    return out;
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const schema = listSchema(names, kind);
    if (schema.type === 'map') {
      const out = [...live];
      for (const item of applied) {
        const key = keyOf(item, schema.keys);
        const at = key === undefined ? -1 : out.findIndex((o) => jsonEqual(keyOf(o, schema.keys), key));
        if (at >= 0) out[at] = mergeValue(out[at], item, names, kind);
        else out.push(clone(item));
      }
      return out;
    }
    if (schema.type === 'set') {
      const out = [...live];
      for (const item of applied) if (!out.some((o) => jsonEqual(o, item))) out.push(clone(item));
      return out;
    }
  }
  return clone(applied);
}
