import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ErrorCode, SkiffError, type AppSpec } from '@skiff/protocol';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { isTarget, Target, targetChoices } from './target.ts';
import { workdirProblem } from '../targets/pod-shape.ts';

/**
 * `skiff.yaml` at the project root: what the project is called, where it runs
 * and how the agent runs it. Every field is optional; a missing file means
 * all defaults. Any mistake is a SkiffError SKIFF_E_CONFIG whose message names
 * the field, says what is expected and what was found, and the line.
 */
export const PROJECT_FILE = 'skiff.yaml';

export { Target } from './target.ts';

/** Where the source lands in a container unless `workdir` says otherwise (odo's convention). */
export const DEFAULT_WORKDIR = '/tmp/src';

export interface PortMapping {
  container: number;
  /** Absent: the target picks (the same number where it can). */
  host?: number;
}

export interface ProjectConfig {
  name: string;
  target: Target;
  /** The app's image, for the container targets. */
  image?: string;
  /** Absolute path of the source tree inside a container. */
  workdir: string;
  run?: string;
  assemble?: string;
  assembleOn?: string[];
  hotReload?: string[];
  ports: PortMapping[];
  env: Record<string, string>;
  /** The agent image built from Dockerfile.agent (and published), for the Kubernetes target; the Docker target builds its own when absent. */
  agentImage?: string;
  kubernetes: KubernetesConfig;
}

/** The `kubernetes:` mapping of skiff.yaml; every field optional. */
export interface KubernetesConfig {
  /** kubeconfig context (default: the current one). */
  context?: string;
  /** Namespace (default: the context's, else "default"). */
  namespace?: string;
  /** StorageClass of the source volume's claim (default: the cluster's default class). */
  storageClass?: string;
  /** Size of the source volume's claim, a Kubernetes quantity (default DEFAULT_VOLUME_SIZE). */
  volumeSize: string;
  /** The source in an emptyDir instead of a claim: lost with the pod, re-sent in full. */
  ephemeral: boolean;
}

/** Size of the source volume's claim unless skiff.yaml says otherwise. */
export const DEFAULT_VOLUME_SIZE = '1Gi';
const KUBERNETES_FIELDS = ['context', 'namespace', 'storageClass', 'volumeSize', 'ephemeral'] as const;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The app part, as the agent's supervisor reads it from SKIFF_APP: the protocol's AppSpec. */
export type AppConfigJson = AppSpec;

const FIELDS = ['name', 'target', 'image', 'workdir', 'run', 'assemble', 'assembleOn', 'hotReload', 'ports', 'env', 'agentImage', 'kubernetes'] as const;
type Field = (typeof FIELDS)[number];
const KNOWN: ReadonlySet<string> = new Set(FIELDS);

const MAX_PORT = 65_535;
const HOST_CONTAINER = /^(\d+):(\d+)$/;
const DIGITS = /^\d+$/;
const ENV_NAME = /^[^=\0]+$/;

/** Reads `<root>/skiff.yaml`; defaults when there is none. */
export async function loadProjectConfig(root: string): Promise<ProjectConfig> {
  const dirName = basename(resolve(root));
  const path = join(root, PROJECT_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return parseProjectConfig('', dirName);
    throw new SkiffError(ErrorCode.CONFIG, `${PROJECT_FILE}: cannot read ${path}: ${(err as Error).message}`, { cause: err, path });
  }
  return parseProjectConfig(text, dirName);
}

/** Parses and validates the text of a skiff.yaml. Pure. `dirName` is the default name. */
export function parseProjectConfig(text: string, dirName: string): ProjectConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    throw new SkiffError(ErrorCode.CONFIG, `${PROJECT_FILE}: not valid YAML: ${first.message.trim()}`, { cause: first });
  }
  const config: ProjectConfig = { name: dirName, target: Target.LOCAL, workdir: DEFAULT_WORKDIR, ports: [], env: {}, kubernetes: { volumeSize: DEFAULT_VOLUME_SIZE, ephemeral: false } };
  // Empty, comments only, or a lone `~`: all defaults.
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return config;
  const fail: Fail = failer(doc, lines);
  if (!isMap(doc.contents)) {
    throw new SkiffError(ErrorCode.CONFIG, `${PROJECT_FILE}: must be a mapping of fields (${FIELDS.join(', ')}), got ${describe(doc.toJS())}`);
  }
  const raw = doc.toJS() as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KNOWN.has(key)) {
      const near = closest(key, FIELDS);
      fail([key], `unknown field "${key}"${near === null ? '' : ` (did you mean "${near}"?)`}; known fields: ${FIELDS.join(', ')}`);
    }
  }

  const name = raw.name;
  if (name !== undefined && name !== null) {
    if (typeof name !== 'string' || name.trim() === '' || /[/\0\n]/.test(name)) {
      fail(['name'], `"name" must be a non-empty string without "/" or line breaks, got ${describe(name)}`);
    }
    config.name = name;
  }
  const target = raw.target;
  if (target !== undefined && target !== null) {
    if (!isTarget(target)) fail(['target'], `"target" must be one of ${targetChoices()}, got ${describe(target)}`);
    config.target = target;
  }
  const image = optionalString(raw, 'image', 'an image reference such as "node:20"', fail);
  if (image !== undefined) config.image = image;
  const workdir = raw.workdir;
  if (workdir !== undefined && workdir !== null) {
    if (typeof workdir !== 'string' || !workdir.startsWith('/')) {
      fail(['workdir'], `"workdir" must be an absolute path in the container such as "${DEFAULT_WORKDIR}", got ${describe(workdir)}`);
    }
    const clash = workdirProblem(workdir);
    if (clash !== null) fail(['workdir'], `"workdir" cannot be ${JSON.stringify(workdir)}: ${clash}; use a directory of its own such as "${DEFAULT_WORKDIR}"`);
    config.workdir = workdir;
  }
  const run = optionalString(raw, 'run', 'a shell command line', fail);
  if (run !== undefined) config.run = run;
  const assemble = optionalString(raw, 'assemble', 'a shell command line', fail);
  if (assemble !== undefined) config.assemble = assemble;
  const assembleOn = optionalPatterns(raw, 'assembleOn', fail);
  if (assembleOn !== undefined) config.assembleOn = assembleOn;
  const hotReload = optionalPatterns(raw, 'hotReload', fail);
  if (hotReload !== undefined) config.hotReload = hotReload;
  config.ports = parsePorts(raw.ports, fail);
  config.env = parseEnv(doc, raw.env, fail);
  const agentImage = optionalString(raw, 'agentImage', 'an image reference such as "registry.example.com/skiff-agent:1a2b3c4d5e6f7a8b"', fail);
  if (agentImage !== undefined) config.agentImage = agentImage;
  config.kubernetes = parseKubernetes(raw.kubernetes, fail);
  return config;
}

/** The SKIFF_APP value for the agent: the app fields that are set. Pure. */
export function toAppConfig(project: ProjectConfig): AppConfigJson {
  const app: AppConfigJson = {};
  if (project.run !== undefined) app.run = project.run;
  if (project.assemble !== undefined) app.assemble = project.assemble;
  if (project.assembleOn !== undefined) app.assembleOn = [...project.assembleOn];
  if (project.hotReload !== undefined) app.hotReload = [...project.hotReload];
  if (Object.keys(project.env).length > 0) app.env = { ...project.env };
  return app;
}

// ---- fields ------------------------------------------------------------------

type Fail = (path: Array<string | number>, message: string) => never;

/** Throws SKIFF_E_CONFIG for the node at `path`, quoting its line when the document has it. */
function failer(doc: Document, lines: LineCounter): Fail {
  return (path, message) => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const fallback = path.length > 1 ? (doc.getIn(path.slice(0, 1), true) as { range?: [number, number, number] } | undefined) : undefined;
    const offset = node?.range?.[0] ?? fallback?.range?.[0];
    const where = offset === undefined ? '' : ` (line ${lines.linePos(offset).line})`;
    throw new SkiffError(ErrorCode.CONFIG, `${PROJECT_FILE}: ${message}${where}`);
  };
}

function optionalString(raw: Record<string, unknown>, field: Field, expected: string, fail: Fail): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') fail([field], `"${field}" must be ${expected}, got ${describe(value)}`);
  return value;
}

function optionalPatterns(raw: Record<string, unknown>, field: Field, fail: Fail): string[] | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    fail([field], `"${field}" must be a list of gitignore-style patterns (e.g. ["package.json", "src/**/*.css"]), got ${describe(value)}`);
  }
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string' || item.trim() === '') fail([field, i], `"${field}[${i}]" must be a non-empty pattern string, got ${describe(item)}`);
  });
  return value as string[];
}

function parseKubernetes(value: unknown, fail: Fail): KubernetesConfig {
  const out: KubernetesConfig = { volumeSize: DEFAULT_VOLUME_SIZE, ephemeral: false };
  if (value === undefined || value === null) return out;
  if (typeof value !== 'object' || Array.isArray(value)) {
    fail(['kubernetes'], `"kubernetes" must be a mapping of ${KUBERNETES_FIELDS.join(', ')}, got ${describe(value)}`);
  }
  const k = value as Record<string, unknown>;
  for (const key of Object.keys(k)) {
    if (!(KUBERNETES_FIELDS as readonly string[]).includes(key)) {
      fail(['kubernetes', key], `unknown field "kubernetes.${key}"; known fields: ${KUBERNETES_FIELDS.join(', ')}`);
    }
  }
  const str = (key: (typeof KUBERNETES_FIELDS)[number], check: RegExp | null, expected: string): string | undefined => {
    const v = k[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v.trim() === '' || (check !== null && !check.test(v))) fail(['kubernetes', key], `"kubernetes.${key}" must be ${expected}, got ${describe(v)}`);
    return v;
  };
  const context = str('context', null, 'a kubeconfig context name');
  if (context !== undefined) out.context = context;
  const namespace = str('namespace', DNS_LABEL, 'a namespace name (lowercase letters, digits and "-")');
  if (namespace !== undefined) out.namespace = namespace;
  const storageClass = str('storageClass', null, 'a StorageClass name');
  if (storageClass !== undefined) out.storageClass = storageClass;
  out.volumeSize = str('volumeSize', QUANTITY, 'a quantity such as "1Gi" or "500Mi"') ?? DEFAULT_VOLUME_SIZE;
  if (k.ephemeral !== undefined && k.ephemeral !== null) {
    if (typeof k.ephemeral !== 'boolean') fail(['kubernetes', 'ephemeral'], `"kubernetes.ephemeral" must be true or false, got ${describe(k.ephemeral)}`);
    out.ephemeral = k.ephemeral;
  }
  return out;
}

function parsePorts(value: unknown, fail: Fail): PortMapping[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(['ports'], `"ports" must be a list of port numbers or "HOST:CONTAINER" strings, got ${describe(value)}`);
  const ports: PortMapping[] = [];
  const seen = new Map<number, number>();
  value.forEach((item: unknown, i) => {
    const mapping = parsePort(item);
    if (mapping === null) {
      fail(['ports', i], `"ports[${i}]" must be a port number 1-${MAX_PORT} or "HOST:CONTAINER", got ${describe(item)}`);
    }
    const earlier = seen.get(mapping.container);
    if (earlier !== undefined) fail(['ports', i], `"ports[${i}]" repeats container port ${mapping.container} of "ports[${earlier}]"`);
    seen.set(mapping.container, i);
    ports.push(mapping);
  });
  return ports;
}

/** A port entry: 8080, "8080" or "18080:8080". Pure. */
export function parsePort(item: unknown): PortMapping | null {
  if (typeof item === 'number') return isPort(item) ? { container: item } : null;
  if (typeof item !== 'string') return null;
  const text = item.trim();
  if (DIGITS.test(text)) {
    const container = Number(text);
    return isPort(container) ? { container } : null;
  }
  const m = HOST_CONTAINER.exec(text);
  if (m === null) return null;
  const host = Number(m[1]);
  const container = Number(m[2]);
  return isPort(host) && isPort(container) ? { container, host } : null;
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_PORT;
}

/**
 * env: a mapping of names to strings. Numbers and booleans become strings as
 * they were written (`VERSION: 1.10` is "1.10", not "1.1"), from the YAML
 * source text rather than the parsed number.
 */
function parseEnv(doc: Document, value: unknown, fail: Fail): Record<string, string> {
  if (value === undefined || value === null) return {};
  const node = doc.get('env', true);
  if (!isMap(node) || typeof value !== 'object' || Array.isArray(value)) {
    fail(['env'], `"env" must be a mapping of variable names to values (e.g. PORT: "8080"), got ${describe(value)}`);
  }
  const env: Record<string, string> = {};
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? pair.key.value : pair.key;
    if (typeof key !== 'string' || !ENV_NAME.test(key)) {
      fail(['env', String(key)], `"env" keys must be variable names without "=", got ${describe(isScalar(pair.key) ? pair.key.value : key)}`);
    }
    const item = pair.value;
    const scalar = isScalar(item) ? item.value : undefined;
    if (!isScalar(item) || scalar === null || !(typeof scalar === 'string' || typeof scalar === 'number' || typeof scalar === 'boolean' || typeof scalar === 'bigint')) {
      fail(['env', key], `"env.${key}" must be a string, number or boolean, got ${describe(isScalar(item) ? scalar : (item as { toJSON?: () => unknown } | null)?.toJSON?.() ?? item)}`);
    }
    env[key] = typeof scalar === 'string' ? scalar : (item.source ?? String(scalar));
  }
  return env;
}

// ---- wording -----------------------------------------------------------------

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/** The known name within edit distance 2 of `word`, for a "did you mean". */
function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
