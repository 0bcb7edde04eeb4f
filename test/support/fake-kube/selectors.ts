import { badRequest } from './status.ts';
import { isRecord, type KubeObject } from './shapes.ts';

/**
 * Label and field selectors: the query-string syntax (`app=web,tier!=db`,
 * `env in (a,b)`, `!legacy`, `involvedObject.name=web-1`) parsed into
 * predicates, and the LabelSelector object of a Deployment's `spec.selector`.
 * Pure: strings in, predicates out. A malformed selector is a 400, as on the
 * real server.
 */

export type LabelPredicate = (labels: Readonly<Record<string, string>> | undefined) => boolean;
export type ObjectPredicate = (obj: KubeObject) => boolean;

const Op = {
  Exists: 'exists',
  NotExists: '!',
  Equals: '=',
  NotEquals: '!=',
  In: 'in',
  NotIn: 'notin',
  Gt: 'gt',
  Lt: 'lt',
} as const;
type Op = (typeof Op)[keyof typeof Op];

interface Requirement {
  key: string;
  op: Op;
  values: string[];
}

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth += 1;
    else if (c === ')') depth -= 1;
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function parseRequirement(text: string, selector: string): Requirement {
  const fail = () => badRequest(`unable to parse requirement: ${JSON.stringify(text)} in label selector ${JSON.stringify(selector)}`);
  const setMatch = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text);
  let req: Requirement;
  if (setMatch) {
    const values = setMatch[3].split(',').map((v) => v.trim());
    req = { key: setMatch[1], op: setMatch[2] === 'in' ? Op.In : Op.NotIn, values };
  } else if (text.startsWith('!')) {
    req = { key: text.slice(1).trim(), op: Op.NotExists, values: [] };
  } else {
    const m = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/.exec(text);
    if (m) {
      const op = m[2] === '!=' ? Op.NotEquals : m[2] === '>' ? Op.Gt : m[2] === '<' ? Op.Lt : Op.Equals;
      req = { key: m[1], op, values: [m[3].trim()] };
    } else {
      req = { key: text, op: Op.Exists, values: [] };
    }
  }
  if (!KEY.test(req.key) || !req.values.every((v) => VALUE.test(v))) throw fail();
  if ((req.op === Op.Gt || req.op === Op.Lt) && !/^-?\d+$/.test(req.values[0])) throw fail();
  return req;
}

function requirementMatches(req: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case Op.Exists:
      return has;
    case Op.NotExists:
      return !has;
    case Op.Equals:
      return has && value === req.values[0];
    case Op.NotEquals:
      return !has || value !== req.values[0];
    case Op.In:
      return has && req.values.includes(value);
    case Op.NotIn:
      return !has || !req.values.includes(value);
    case Op.Gt:
      return has && /^-?\d+$/.test(value) && Number(value) > Number(req.values[0]);
    case Op.Lt:
      return has && /^-?\d+$/.test(value) && Number(value) < Number(req.values[0]);
  }
}

/** The predicate of a `labelSelector` query parameter; an empty or absent selector matches everything. */
export function parseLabelSelector(selector: string | null | undefined): LabelPredicate {
  if (selector === null || selector === undefined || selector.trim() === '') return () => true;
  const reqs = splitTopLevel(selector).map((t) => parseRequirement(t, selector));
  return (labels) => reqs.every((r) => requirementMatches(r, labels ?? {}));
}

/** The predicate of a LabelSelector object (`matchLabels` and `matchExpressions`). */
export function labelSelectorObjectPredicate(selector: unknown): LabelPredicate {
  if (!isRecord(selector)) return () => false;
  const reqs: Requirement[] = [];
  if (isRecord(selector.matchLabels)) {
    for (const [key, value] of Object.entries(selector.matchLabels)) reqs.push({ key, op: Op.Equals, values: [String(value)] });
  }
  if (Array.isArray(selector.matchExpressions)) {
    for (const e of selector.matchExpressions) {
      if (!isRecord(e)) continue;
      const values = Array.isArray(e.values) ? e.values.map(String) : [];
      const op = ({ In: Op.In, NotIn: Op.NotIn, Exists: Op.Exists, DoesNotExist: Op.NotExists } as const)[String(e.operator) as 'In'];
      if (op === undefined) return () => false;
      reqs.push({ key: String(e.key), op, values });
    }
  }
  // An empty LabelSelector object matches everything; a Deployment's is validated to be non-empty.
  return (labels) => reqs.every((r) => requirementMatches(r, labels ?? {}));
}

/** A field's value for field selectors: the dotted path into the object, '' when absent. */
function fieldValue(obj: KubeObject, path: string): string {
  // `source` on events is the reporting component, as the real server maps it.
  const effective = path === 'source' ? 'source.component' : path;
  let cur: unknown = obj;
  for (const part of effective.split('.')) {
    if (!isRecord(cur)) return '';
    cur = cur[part];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

function unescapeField(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

/** Splits on a separator not preceded by a backslash. */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) {
      cur += s[i] + s[i + 1];
      i += 1;
    } else if (s[i] === sep) {
      out.push(cur);
      cur = '';
    } else cur += s[i];
  }
  out.push(cur);
  return out;
}

/**
 * The predicate of a `fieldSelector` query parameter. Only the labels the
 * resource supports are accepted (plus metadata.name and metadata.namespace);
 * any other is the real server's 400 "field label not supported".
 */
export function parseFieldSelector(selector: string | null | undefined, allowed: readonly string[], resource: string): ObjectPredicate {
  if (selector === null || selector === undefined || selector.trim() === '') return () => true;
  const reqs: { field: string; negate: boolean; value: string }[] = [];
  for (const term of splitUnescaped(selector, ',')) {
    if (term.trim() === '') continue;
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/s.exec(term.trim());
    if (!m) throw badRequest(`invalid field selector: ${JSON.stringify(term)}`);
    const field = m[1];
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && !allowed.includes(field)) {
      throw badRequest(`field label not supported: ${field} (resource ${resource})`);
    }
    reqs.push({ field, negate: m[2] === '!=', value: unescapeField(m[3]) });
  }
  return (obj) => reqs.every((r) => (fieldValue(obj, r.field) === r.value) !== r.negate);
}
