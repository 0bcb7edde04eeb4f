import { isRecord, jsonEqual, type JsonObject } from './shapes.ts';

/**
 * Field paths and field sets in the FieldsV1 spelling of server-side apply:
 * `f:spec` (a field), `k:{"name":"app"}` (an item of a list keyed by some of
 * its fields), `v:"x"` (an item of a list used as a set), `.` (the item
 * itself). A field set is the set of its leaf paths. Pure.
 *
 * The schema is the small part of the real OpenAPI schema the served kinds
 * need: which lists are keyed (and by what), which are sets, and which
 * objects are atomic. Everything else is granular for objects and atomic for
 * lists, as the real schema defaults are.
 */

export type PathElement = string;
export type FieldPath = readonly PathElement[];
/** Leaf paths, each encoded with encodePath. */
export type FieldSet = Set<string>;

const SEP = '\u0000';

export function encodePath(path: FieldPath): string {
  return path.join(SEP);
}

export function decodePath(encoded: string): PathElement[] {
  return encoded.split(SEP);
}

export type ListSchema = { type: 'map'; keys: readonly string[] } | { type: 'set' } | { type: 'atomic' };

const KEYED_LISTS: Readonly<Record<string, readonly string[]>> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  imagePullSecrets: ['name'],
  conditions: ['type'],
  ownerReferences: ['uid'],
  hostAliases: ['ip'],
};

/** Key fields whose default the real schema fills in before the key is computed. */
const KEY_DEFAULTS: Readonly<Record<string, unknown>> = { protocol: 'TCP' };

/** `names`: the field names from the object's root to the list, items not counted. */
export function listSchema(names: readonly string[], kind: string): ListSchema {
  const last = names[names.length - 1];
  if (last === 'ports') {
    // A Service's spec.ports are keyed by port; a container's by containerPort.
    const servicePorts = kind === 'Service' && names.length === 2 && names[0] === 'spec';
    return { type: 'map', keys: servicePorts ? ['port', 'protocol'] : ['containerPort', 'protocol'] };
  }
  if (last === 'finalizers') return { type: 'set' };
  const keys = KEYED_LISTS[last];
  return keys === undefined ? { type: 'atomic' } : { type: 'map', keys };
}

/** Objects owned as a whole (a Deployment's label selector is atomic in the real schema). */
export function isAtomicObject(names: readonly string[], kind: string): boolean {
  const path = names.join('.');
  return (kind === 'Deployment' || kind === 'PersistentVolumeClaim') && path === 'spec.selector';
}

/** Top-level and metadata fields the server owns: never part of a field set. */
const SERVER_TOP = new Set(['apiVersion', 'kind', 'status']);
const SERVER_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'generateName',
]);

export function keyOf(item: unknown, keys: readonly string[]): JsonObject | undefined {
  if (!isRecord(item)) return undefined;
  const key: JsonObject = {};
  for (const k of [...keys].sort()) {
    const v = item[k] ?? KEY_DEFAULTS[k];
    if (v === undefined) return undefined;
    key[k] = v;
  }
  return key;
}

function keyElement(key: JsonObject): string {
  return `k:${JSON.stringify(key)}`;
}

/** The field set of an object (an applied configuration, or a whole object for an update). */
export function fieldsOf(obj: JsonObject, kind: string): FieldSet {
  const out: FieldSet = new Set();
  walkObject(obj, [], [], kind, out, true);
  return out;
}

function walkObject(obj: JsonObject, path: PathElement[], names: string[], kind: string, out: FieldSet, top: boolean): void {
  for (const [field, value] of Object.entries(obj)) {
    if (value === undefined || value === null) continue;
    if (top && SERVER_TOP.has(field)) continue;
    if (names.length === 1 && names[0] === 'metadata' && path.length === 1 && SERVER_META.has(field)) continue;
    walkValue(value, [...path, `f:${field}`], [...names, field], kind, out);
  }
}

function walkValue(value: unknown, path: PathElement[], names: string[], kind: string, out: FieldSet): void {
  if (isRecord(value)) {
    if (Object.keys(value).length === 0 || isAtomicObject(names, kind)) out.add(encodePath(path));
    else walkObject(value, path, names, kind, out, false);
    return;
  }
  if (Array.isArray(value)) {
    const schema = listSchema(names, kind);
    if (schema.type === 'map') {
      for (const item of value) {
        const key = keyOf(item, schema.keys);
        if (key === undefined || !isRecord(item)) continue; // the validator reports items without their key
        const itemPath = [...path, keyElement(key)];
        out.add(encodePath([...itemPath, '.']));
        walkObject(item, itemPath, names, kind, out, false);
      }
      return;
    }
    if (schema.type === 'set') {
      for (const item of value) out.add(encodePath([...path, `v:${JSON.stringify(item)}`]));
      return;
    }
  }
  out.add(encodePath(path));
}

/** What a path points at in an object. */
export type Lookup = { found: false } | { found: true; value: unknown };

export function lookup(obj: unknown, path: FieldPath): Lookup {
  let cur: unknown = obj;
  for (const el of path) {
    if (el === '.') continue;
    const next = step(cur, el);
    if (next === undefined) return { found: false };
    cur = next.value;
  }
  return { found: true, value: cur };
}

function step(cur: unknown, el: PathElement): { value: unknown; index?: number } | undefined {
  if (el.startsWith('f:')) {
    if (!isRecord(cur) || cur[el.slice(2)] === undefined || cur[el.slice(2)] === null) return undefined;
    return { value: cur[el.slice(2)] };
  }
  if (!Array.isArray(cur)) return undefined;
  if (el.startsWith('k:')) {
    const key = JSON.parse(el.slice(2)) as JsonObject;
    const index = cur.findIndex((item) => jsonEqual(keyOf(item, Object.keys(key)), key));
    return index < 0 ? undefined : { value: cur[index], index };
  }
  if (el.startsWith('v:')) {
    const wanted: unknown = JSON.parse(el.slice(2));
    const index = cur.findIndex((item) => jsonEqual(item, wanted));
    return index < 0 ? undefined : { value: cur[index], index };
  }
  return undefined;
}

/** Removes what a leaf path points at (a field, or a list item for `.` and `v:` leaves); mutates `obj`. */
export function removeAt(obj: JsonObject, path: FieldPath): void {
  const target = path[path.length - 1] === '.' ? path.slice(0, -1) : path;
  if (target.length === 0) return;
  let cur: unknown = obj;
  for (const el of target.slice(0, -1)) {
    const next = step(cur, el);
    if (next === undefined) return;
    cur = next.value;
  }
  const last = target[target.length - 1];
  if (last.startsWith('f:')) {
    if (isRecord(cur)) delete cur[last.slice(2)];
    return;
  }
  const found = step(cur, last);
  if (found?.index !== undefined && Array.isArray(cur)) cur.splice(found.index, 1);
}

/** A path as the real server prints it in conflicts: `.spec.template.spec.containers[name="app"].image`. */
export function describePath(path: FieldPath): string {
  let out = '';
  for (const el of path) {
    if (el === '.') continue;
    if (el.startsWith('f:')) out += `.${el.slice(2)}`;
    else if (el.startsWith('k:')) {
      const key = JSON.parse(el.slice(2)) as JsonObject;
      out += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    } else if (el.startsWith('v:')) out += `[=${el.slice(2)}]`;
  }
  return out;
}

/** A field set as the FieldsV1 JSON stored in metadata.managedFields. */
export function toFieldsV1(set: FieldSet): JsonObject {
  const root: JsonObject = {};
  for (const encoded of [...set].sort()) {
    let node = root;
    for (const el of decodePath(encoded)) {
      const child = node[el];
      if (isRecord(child)) node = child;
      else {
        const created: JsonObject = {};
        node[el] = created;
        node = created;
      }
    }
  }
  return root;
}

export function fromFieldsV1(fields: unknown): FieldSet {
  const out: FieldSet = new Set();
  const walk = (node: unknown, path: PathElement[]) => {
    if (!isRecord(node)) return;
    const entries = Object.entries(node);
    if (entries.length === 0 && path.length > 0) out.add(encodePath(path));
    for (const [el, child] of entries) walk(child, [...path, el]);
  };
  walk(fields, []);
  return out;
}

/** Whether some path in `set` lies under `prefix` (or is it). */
export function ownsUnder(set: FieldSet, prefix: FieldPath): boolean {
  const p = encodePath(prefix);
  for (const encoded of set) if (encoded === p || encoded.startsWith(p + SEP)) return true;
  return false;
}
