import * as clientNode from '@kubernetes/client-node';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';

/**
 * Offline checks of a manifest against the Kubernetes API's schemas, as an
 * API server would make them on a server-side apply, without a cluster:
 *
 *  - types, required fields and formats: kubernetes-models' validators,
 *    compiled from the OpenAPI schemas (they accept unknown fields);
 *  - unknown fields: walked against @kubernetes/client-node's model
 *    metadata (the OpenAPI spec of the same Kubernetes minor the target
 *    speaks to), because server-side apply refuses a field the schema does
 *    not declare (".spec.foo: field not declared in schema").
 *
 * Each check returns one line per problem; empty when the manifest passes.
 */

type Validatable = { validate(): void };
const MODELS: Record<string, { model: new (data: never) => Validatable; type: string }> = {
  'apps/v1/Deployment': { model: Deployment as never, type: 'V1Deployment' },
  'v1/Service': { model: Service as never, type: 'V1Service' },
  'v1/Secret': { model: Secret as never, type: 'V1Secret' },
  'v1/PersistentVolumeClaim': { model: PersistentVolumeClaim as never, type: 'V1PersistentVolumeClaim' },
};

/** The kinds this helper knows, as `apiVersion/kind`. */
export const CHECKED_KINDS = Object.keys(MODELS);

export function schemaProblems(manifest: object): string[] {
  const object = manifest as { apiVersion?: string; kind?: string };
  const entry = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!entry) return [`no schema for ${object.apiVersion} ${object.kind}`];
  const problems: string[] = [];
  try {
    new entry.model(object as never).validate();
  } catch (err) {
    problems.push(`${object.kind}: ${(err as Error).message}`);
  }
  problems.push(...unknownFields(object, entry.type, object.kind!));
  return problems;
}

interface Attribute {
  baseName: string;
  type: string;
}

function attributesOf(type: string): Attribute[] | undefined {
  const model = (clientNode as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] }>)[type];
  return model?.getAttributeTypeMap?.();
}

const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

/** Paths (`.spec.template.spec.containers[0].foo`) of fields the schema of `type` does not declare. */
export function unknownFields(value: unknown, type: string, path = ''): string[] {
  if (value === null || value === undefined) return [];
  const array = ARRAY.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, array[1], `${path}[${i}]`)) : [`${path}: expected a list`];
  const map = MAP.exec(type);
  if (map) return typeof value === 'object' ? Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1], `${path}[${JSON.stringify(k)}]`)) : [`${path}: expected a map`];
  const attributes = attributesOf(type);
  // Scalars, IntOrString, Date, any: nothing below them to declare.
  if (!attributes) return [];
  if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected an object (${type})`];
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const attribute = attributes.find((a) => a.baseName === key);
    if (!attribute) problems.push(`${path}.${key}: field not declared in schema (${type})`);
    else problems.push(...unknownFields(v, attribute.type, `${path}.${key}`));
  }
  return problems;
}
