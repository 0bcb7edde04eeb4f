import { labelSelectorObjectPredicate } from './selectors.ts';
import { isRecord, jsonEqual, type KubeObject } from './shapes.ts';
import { Cause, type StatusCause } from './status.ts';

/**
 * Validation of the served kinds: the obviously invalid objects the real
 * server refuses with 422 Invalid (missing required fields, bad names, a
 * Deployment whose selector does not match its template, a volume mount
 * without a volume) and the immutable fields it guards on update. Not the
 * whole of the real validation: what a client is likely to get wrong. Pure:
 * returns the causes, empty when valid.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_PORT = 65_535;

function validName(kind: string, name: string): string | undefined {
  if (kind === 'Service' || kind === 'Namespace') {
    const re = kind === 'Service' ? DNS1035_LABEL : DNS1123_LABEL;
    if (name.length > 63 || !re.test(name)) {
      return kind === 'Service'
        ? "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"
        : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
    }
    return undefined;
  }
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

function validateLabels(labels: unknown, field: string, causes: StatusCause[]): void {
  if (labels === undefined) return;
  if (!isRecord(labels)) {
    causes.push(Cause.invalid(field, labels, 'must be a map of strings'));
    return;
  }
  for (const [k, v] of Object.entries(labels)) {
    const slash = k.lastIndexOf('/');
    const name = slash < 0 ? k : k.slice(slash + 1);
    const prefix = slash < 0 ? '' : k.slice(0, slash);
    if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name) || (prefix !== '' && !DNS1123_SUBDOMAIN.test(prefix))) {
      causes.push(Cause.invalid(field, k, 'name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character'));
    }
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
      causes.push(Cause.invalid(`${field}`, v, 'a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character'));
    }
  }
}

function validatePort(value: unknown, field: string, causes: StatusCause[]): void {
  if (value === undefined) causes.push(Cause.required(field));
  else if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PORT) {
    causes.push(Cause.invalid(field, value, `must be between 1 and ${MAX_PORT}, inclusive`));
  }
}

function validatePodSpec(spec: unknown, field: string, causes: StatusCause[]): void {
  if (!isRecord(spec)) {
    causes.push(Cause.required(field));
    return;
  }
  const volumes = new Set<string>();
  if (spec.volumes !== undefined) {
    if (!Array.isArray(spec.volumes)) causes.push(Cause.invalid(`${field}.volumes`, spec.volumes, 'must be a list'));
    else
      spec.volumes.forEach((v, i) => {
        const f = `${field}.volumes[${i}]`;
        if (!isRecord(v) || typeof v.name !== 'string' || v.name === '') return causes.push(Cause.required(`${f}.name`));
        if (!DNS1123_LABEL.test(v.name)) causes.push(Cause.invalid(`${f}.name`, v.name, 'must be a DNS-1123 label'));
        if (volumes.has(v.name)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: "${v.name}"`, field: `${f}.name` });
        volumes.add(v.name);
        const sources = Object.keys(v).filter((k) => k !== 'name');
        if (sources.length === 0) causes.push(Cause.required(`${f}`));
        if (sources.length > 1) causes.push(Cause.forbidden(`${f}`, 'may not specify more than 1 volume type'));
        if (isRecord(v.persistentVolumeClaim) && !v.persistentVolumeClaim.claimName) causes.push(Cause.required(`${f}.persistentVolumeClaim.claimName`));
        if (isRecord(v.secret) && !v.secret.secretName) causes.push(Cause.required(`${f}.secret.secretName`));
      });
  }
  const names = new Set<string>();
  const checkContainers = (list: unknown, listField: string, required: boolean) => {
    if (list === undefined || (Array.isArray(list) && list.length === 0)) {
      if (required) causes.push(Cause.required(listField));
      return;
    }
    if (!Array.isArray(list)) return causes.push(Cause.invalid(listField, list, 'must be a list'));
    list.forEach((c, i) => {
      const f = `${listField}[${i}]`;
      if (!isRecord(c)) return causes.push(Cause.invalid(f, c, 'must be an object'));
      if (typeof c.name !== 'string' || c.name === '') causes.push(Cause.required(`${f}.name`));
      else {
        if (!DNS1123_LABEL.test(c.name) || c.name.length > 63) causes.push(Cause.invalid(`${f}.name`, c.name, 'must be a DNS-1123 label'));
        if (names.has(c.name)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: "${c.name}"`, field: `${f}.name` });
        names.add(c.name);
      }
      if (typeof c.image !== 'string' || c.image.trim() === '') causes.push(Cause.required(`${f}.image`));
      for (const k of ['command', 'args'] as const) {
        if (c[k] !== undefined && (!Array.isArray(c[k]) || !(c[k] as unknown[]).every((s) => typeof s === 'string'))) {
          causes.push(Cause.invalid(`${f}.${k}`, c[k], 'must be a list of strings'));
        }
      }
      if (Array.isArray(c.ports)) c.ports.forEach((p, j) => validatePort(isRecord(p) ? p.containerPort : undefined, `${f}.ports[${j}].containerPort`, causes));
      if (Array.isArray(c.env)) {
        c.env.forEach((e, j) => {
          if (!isRecord(e) || typeof e.name !== 'string' || e.name === '') causes.push(Cause.required(`${f}.env[${j}].name`));
        });
      }
      if (Array.isArray(c.volumeMounts)) {
        c.volumeMounts.forEach((m, j) => {
          const mf = `${f}.volumeMounts[${j}]`;
          if (!isRecord(m)) return;
          if (typeof m.name !== 'string' || !volumes.has(m.name)) causes.push({ reason: 'FieldValueNotFound', message: `Not found: ${JSON.stringify(m.name)}`, field: `${mf}.name` });
          if (typeof m.mountPath !== 'string' || m.mountPath === '') causes.push(Cause.required(`${mf}.mountPath`));
        });
      }
    });
  };
  checkContainers(spec.initContainers, `${field}.initContainers`, false);
  checkContainers(spec.containers, `${field}.containers`, true);
  if (spec.restartPolicy !== undefined && !['Always', 'OnFailure', 'Never'].includes(String(spec.restartPolicy))) {
    causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(spec.restartPolicy)}`, field: `${field}.restartPolicy` });
  }
}

function validateSpecific(obj: KubeObject, causes: StatusCause[]): void {
  const spec = obj.spec;
  switch (obj.kind) {
    case 'Pod':
      validatePodSpec(spec, 'spec', causes);
      break;
    case 'Deployment': {
      if (!isRecord(spec)) return void causes.push(Cause.required('spec'));
      const selector = spec.selector;
      const empty = !isRecord(selector) || (Object.keys(selector.matchLabels ?? {}).length === 0 && !(Array.isArray(selector.matchExpressions) && selector.matchExpressions.length > 0));
      if (empty) causes.push(Cause.required('spec.selector'));
      if (typeof spec.replicas === 'number' && spec.replicas < 0) causes.push(Cause.invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
      const template = isRecord(spec.template) ? spec.template : undefined;
      if (template === undefined) return void causes.push(Cause.required('spec.template'));
      const labels = isRecord(template.metadata) ? template.metadata.labels : undefined;
      validateLabels(labels, 'spec.template.metadata.labels', causes);
      if (!empty && !labelSelectorObjectPredicate(selector)(isRecord(labels) ? (labels as Record<string, string>) : {})) {
        causes.push(Cause.invalid('spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`'));
      }
      validatePodSpec(template.spec, 'spec.template.spec', causes);
      if (isRecord(template.spec) && template.spec.restartPolicy !== undefined && template.spec.restartPolicy !== 'Always') {
        causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(template.spec.restartPolicy)}: supported values: "Always"`, field: 'spec.template.spec.restartPolicy' });
      }
      break;
    }
    case 'Service': {
      if (!isRecord(spec)) return void causes.push(Cause.required('spec'));
      const headless = spec.clusterIP === 'None';
      if (!Array.isArray(spec.ports) || spec.ports.length === 0) {
        if (!headless) causes.push(Cause.required('spec.ports'));
        break;
      }
      const names = new Set<string>();
      spec.ports.forEach((p, i) => {
        if (!isRecord(p)) return;
        validatePort(p.port, `spec.ports[${i}].port`, causes);
        if (spec.ports instanceof Array && spec.ports.length > 1 && (typeof p.name !== 'string' || p.name === '')) causes.push(Cause.required(`spec.ports[${i}].name`));
        if (typeof p.name === 'string') {
          if (names.has(p.name)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: "${p.name}"`, field: `spec.ports[${i}].name` });
          names.add(p.name);
        }
      });
      break;
    }
    case 'Secret':
      for (const field of ['data', 'stringData'] as const) {
        const data = obj[field];
        if (data === undefined) continue;
        if (!isRecord(data)) causes.push(Cause.invalid(field, data, 'must be a map'));
        else for (const k of Object.keys(data)) if (!SECRET_KEY.test(k)) causes.push(Cause.invalid(`${field}[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
      }
      break;
    case 'PersistentVolumeClaim': {
      if (!isRecord(spec)) return void causes.push(Cause.required('spec'));
      if (!Array.isArray(spec.accessModes) || spec.accessModes.length === 0) causes.push({ reason: 'FieldValueRequired', message: 'Required value: at least 1 access mode is required', field: 'spec.accessModes' });
      const storage = isRecord(spec.resources) && isRecord(spec.resources.requests) ? spec.resources.requests.storage : undefined;
      if (storage === undefined) causes.push(Cause.required('spec.resources[storage]'));
      break;
    }
    case 'Event':
      if (!isRecord(obj.involvedObject)) causes.push(Cause.required('involvedObject'));
      break;
  }
}

/** Causes of a 422 for a new or updated object; empty when the object is acceptable. */
export function validateObject(obj: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = obj.metadata?.name;
  if (typeof name !== 'string' || name === '') causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
  else {
    const problem = validName(obj.kind, name);
    if (problem !== undefined) causes.push(Cause.invalid('metadata.name', name, problem));
  }
  validateLabels(obj.metadata?.labels, 'metadata.labels', causes);
  validateSpecific(obj, causes);
  return causes;
}

/** Causes of a 422 for changing what may not change once created. */
export function validateUpdate(live: KubeObject, next: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const a = isRecord(live.spec) ? live.spec : {};
  const b = isRecord(next.spec) ? next.spec : {};
  switch (live.kind) {
    case 'Deployment':
      if (!jsonEqual(a.selector, b.selector)) causes.push(Cause.immutable('spec.selector'));
      break;
    case 'Service':
      if (a.clusterIP !== undefined && b.clusterIP !== undefined && a.clusterIP !== b.clusterIP) {
        causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(b.clusterIP)}: field is immutable`, field: 'spec.clusterIPs[0]' });
      }
      break;
    case 'PersistentVolumeClaim': {
      const strip = (s: Record<string, unknown>) => ({ ...s, resources: undefined, volumeName: undefined });
      if (!jsonEqual(strip(a), strip(b)) || (a.volumeName !== undefined && a.volumeName !== b.volumeName)) {
        causes.push(Cause.forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
      }
      break;
    }
    case 'Pod': {
      const withoutImages = (s: Record<string, unknown>) => {
        const copy = structuredClone(s);
        for (const list of [copy.containers, copy.initContainers]) if (Array.isArray(list)) for (const c of list) if (isRecord(c)) delete c.image;
        delete copy.activeDeadlineSeconds;
        delete copy.tolerations;
        delete copy.terminationGracePeriodSeconds;
        return copy;
      };
      if (!jsonEqual(withoutImages(a), withoutImages(b))) {
        causes.push(Cause.forbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)'));
      }
      break;
    }
  }
  return causes;
}
