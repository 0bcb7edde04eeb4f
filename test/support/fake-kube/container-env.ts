import { isRecord, type Container, type KubeObject } from './shapes.ts';

/**
 * A container's environment as the kubelet builds it, and `$(VAR)`
 * expansion in env values, command and args. Pure: secrets come through a
 * lookup. A missing secret or key (not optional) is the kubelet's
 * CreateContainerConfigError, with its message.
 */

export type SecretLookup = (namespace: string, name: string) => KubeObject | undefined;

export class ContainerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

/** `$(NAME)` becomes the variable's value when defined, `$$(NAME)` stays `$(NAME)`, anything else is kept. */
export function expandVars(s: string, vars: Readonly<Record<string, string>>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && Object.hasOwn(vars, name) ? vars[name] : m;
  });
}

function secretData(secret: KubeObject | undefined, key: string): string | undefined {
  const data = secret !== undefined && isRecord(secret.data) ? secret.data : undefined;
  const v = data?.[key];
  return typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : undefined;
}

function fieldRefValue(pod: KubeObject, path: string): string {
  const labels = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (labels) return pod.metadata.labels?.[labels[1]] ?? '';
  const annotations = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (annotations) return pod.metadata.annotations?.[annotations[1]] ?? '';
  let cur: unknown = pod;
  for (const part of path.split('.')) cur = isRecord(cur) ? cur[part] : undefined;
  return cur === undefined || cur === null ? '' : String(cur);
}

export function resolveEnv(pod: KubeObject, container: Container, secrets: SecretLookup): Record<string, string> {
  const namespace = pod.metadata.namespace ?? 'default';
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.secretRef === undefined) continue;
    const secret = secrets(namespace, from.secretRef.name);
    if (secret === undefined) {
      if (from.secretRef.optional === true) continue;
      throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
    }
    const data = isRecord(secret.data) ? secret.data : {};
    for (const key of Object.keys(data)) env[`${from.prefix ?? ''}${key}`] = secretData(secret, key) ?? '';
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = expandVars(e.value, env);
    else if (e.valueFrom?.secretKeyRef !== undefined) {
      const ref = e.valueFrom.secretKeyRef;
      const secret = secrets(namespace, ref.name);
      if (secret === undefined) {
        if (ref.optional === true) continue;
        throw new ContainerConfigError(`secret "${ref.name}" not found`);
      }
      const value = secretData(secret, ref.key);
      if (value === undefined) {
        if (ref.optional === true) continue;
        throw new ContainerConfigError(`couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}`);
      }
      env[e.name] = value;
    } else if (e.valueFrom?.fieldRef !== undefined) env[e.name] = fieldRefValue(pod, e.valueFrom.fieldRef.fieldPath);
    else env[e.name] = '';
  }
  return env;
}

/** The container with `$(VAR)` expanded in command and args. */
export function expandContainer(container: Container, env: Readonly<Record<string, string>>): Container {
  return {
    ...container,
    ...(container.command ? { command: container.command.map((s) => expandVars(s, env)) } : {}),
    ...(container.args ? { args: container.args.map((s) => expandVars(s, env)) } : {}),
  };
}
