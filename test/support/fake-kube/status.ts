import { StatusReason } from './vocabulary.ts';

/**
 * Failure `Status` bodies shaped like the real API server's (metav1.Status):
 * clients read `code`, `reason` and `details`, people read `message`. Each
 * builder copies the real server's wording, so that code written against the
 * double matches messages the same way against a cluster.
 */

export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** Thrown by the handlers; the HTTP layer answers with `status.code` and the body. */
export class KubeStatusError extends Error {
  readonly status: StatusBody;
  constructor(status: StatusBody) {
    super(status.message);
    this.name = 'KubeStatusError';
    this.status = status;
  }
}

export function failure(code: number, reason: StatusReason, message: string, details?: StatusDetails): KubeStatusError {
  const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details !== undefined) body.details = details;
  return new KubeStatusError(body);
}

export function successStatus(details: StatusDetails): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 };
}

/** What a resource is called in messages: `pods`, `deployments.apps`. */
export interface ResourceName {
  group: string;
  plural: string;
  kind: string;
}

function qualified(r: ResourceName): string {
  return r.group === '' ? r.plural : `${r.plural}.${r.group}`;
}

function detailsOf(r: ResourceName, name: string): StatusDetails {
  return r.group === '' ? { name, kind: r.plural } : { name, group: r.group, kind: r.plural };
}

export function notFound(r: ResourceName, name: string): KubeStatusError {
  return failure(404, StatusReason.NotFound, `${qualified(r)} "${name}" not found`, detailsOf(r, name));
}

export function namespaceNotFound(namespace: string): KubeStatusError {
  return failure(404, StatusReason.NotFound, `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
}

export function alreadyExists(r: ResourceName, name: string): KubeStatusError {
  return failure(409, StatusReason.AlreadyExists, `${qualified(r)} "${name}" already exists`, detailsOf(r, name));
}

/** An update carrying a stale metadata.resourceVersion. */
export function staleConflict(r: ResourceName, name: string): KubeStatusError {
  return failure(
    409,
    StatusReason.Conflict,
    `Operation cannot be fulfilled on ${qualified(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    detailsOf(r, name),
  );
}

/** A server-side apply that would take fields another manager owns, without force. */
export function applyConflict(r: ResourceName, name: string, conflicts: { manager: string; apiVersion: string; field: string }[]): KubeStatusError {
  const lines = conflicts.map((c) => `conflict with "${c.manager}" using ${c.apiVersion}: ${c.field}`);
  const message =
    conflicts.length === 1
      ? `Apply failed with 1 conflict: ${lines[0]}`
      : `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  return failure(409, StatusReason.Conflict, message, {
    ...detailsOf(r, name),
    causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: c.field })),
  });
}

export function invalid(r: ResourceName, name: string, causes: StatusCause[]): KubeStatusError {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const list = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const kindName = r.group === '' ? r.kind : `${r.kind}.${r.group}`;
  return failure(422, StatusReason.Invalid, `${kindName} "${name}" is invalid: ${list}`, {
    name,
    ...(r.group === '' ? {} : { group: r.group }),
    kind: r.kind,
    causes,
  });
}

export function badRequest(message: string): KubeStatusError {
  return failure(400, StatusReason.BadRequest, message);
}

export function unauthorized(): KubeStatusError {
  return failure(401, StatusReason.Unauthorized, 'Unauthorized');
}

export function methodNotAllowed(): KubeStatusError {
  return failure(405, StatusReason.MethodNotAllowed, 'the server does not allow this method on the requested resource');
}

export function unsupportedMediaType(contentType: string, accepted: readonly string[]): KubeStatusError {
  return failure(
    415,
    StatusReason.UnsupportedMediaType,
    `the body of the request was in an unknown format (${contentType || 'no content type'}) - accepted media types include: ${accepted.join(', ')}`,
  );
}

/** The watch ERROR object for a resourceVersion older than the retained history. */
export function tooOldResourceVersion(requested: string, oldest: number): StatusBody {
  return failure(410, StatusReason.Expired, `too old resource version: ${requested} (${oldest})`).status;
}

/** A 410 Gone answer to a watch or list request (the double's forced re-list). */
export function gone(message: string): KubeStatusError {
  return failure(410, StatusReason.Gone, message);
}

/** A Status for an injected fault: the test picks code and reason. */
export function injected(code: number, reason: StatusReason, message: string): KubeStatusError {
  return failure(code, reason, message);
}

/** A cause in the spelling of field.ErrorList. */
export const Cause = {
  required(field: string): StatusCause {
    return { reason: 'FieldValueRequired', message: 'Required value', field };
  },
  invalid(field: string, value: unknown, detail: string): StatusCause {
    return { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field };
  },
  immutable(field: string): StatusCause {
    return { reason: 'FieldValueInvalid', message: 'field is immutable', field };
  },
  forbidden(field: string, detail: string): StatusCause {
    return { reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field };
  },
} as const;
