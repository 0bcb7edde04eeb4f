/**
 * The app part of skiff.yaml, as the agent's supervisor receives it: first
 * from SKIFF_APP (agent-env.ts) when the agent starts, then in APP_SPEC frames
 * whenever the daemon sends one (a container's environment is fixed at
 * creation; a developer's skiff.yaml is not). `run` and `assemble` are shell
 * command lines; S2I scripts (.s2i/bin/run, .s2i/bin/assemble) stand in for
 * an absent one, resolved by the agent.
 */
export interface AppSpec {
  run?: string;
  assemble?: string;
  /** Gitignore-style patterns: assemble runs only when a batch touches one (absent: on every restart). */
  assembleOn?: string[];
  /** Gitignore-style patterns the app reloads by itself: a batch touching only these restarts nothing. */
  hotReload?: string[];
  /** Added to the agent's own environment for run and assemble. */
  env?: Record<string, string>;
}

export const APP_SPEC_FIELDS = ['run', 'assemble', 'assembleOn', 'hotReload', 'env'] as const;
const KNOWN: ReadonlySet<string> = new Set(APP_SPEC_FIELDS);

/** What is wrong with a would-be AppSpec: the field (dotted for env and list items), what it must be, what it was. */
export interface AppSpecProblem {
  field: string;
  expected: string;
  value: unknown;
}

/**
 * The first problem of a decoded AppSpec, or null when it is one. Pure. The
 * one check of the spec's shape: the agent applies it to SKIFF_APP and the
 * codec to every APP_SPEC frame. An unknown field is a problem, not ignored:
 * a spec the agent half understood would run something other than what
 * skiff.yaml says. `null` stands for an absent optional field (JSON of a
 * cleared value).
 */
export function appSpecProblem(raw: unknown): AppSpecProblem | null {
  if (!isRecord(raw)) return { field: '', expected: 'a JSON object', value: raw };
  for (const key of Object.keys(raw)) {
    if (!KNOWN.has(key)) return { field: key, expected: `absent (not a known field; known fields: ${APP_SPEC_FIELDS.join(', ')})`, value: raw[key] };
  }
  for (const field of ['run', 'assemble'] as const) {
    const value = raw[field];
    if (value !== undefined && value !== null && (typeof value !== 'string' || value.trim() === '')) {
      return { field, expected: 'a non-empty shell command line', value };
    }
  }
  for (const field of ['assembleOn', 'hotReload'] as const) {
    const value = raw[field];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value)) return { field, expected: 'an array of gitignore-style patterns', value };
    const bad = value.findIndex((item) => typeof item !== 'string' || item.trim() === '');
    if (bad >= 0) return { field: `${field}[${bad}]`, expected: 'a non-empty pattern string', value: value[bad] };
  }
  const env = raw.env;
  if (env !== undefined && env !== null) {
    if (!isRecord(env)) return { field: 'env', expected: 'an object of strings', value: env };
    for (const [name, value] of Object.entries(env)) {
      if (name === '' || name.includes('=') || name.includes('\0')) return { field: 'env', expected: 'variable names without "=" or NUL', value: name };
      if (typeof value !== 'string') return { field: `env.${name}`, expected: 'a string', value };
      if (value.includes('\0')) return { field: `env.${name}`, expected: 'a string without NUL', value };
    }
  }
  return null;
}

/**
 * The spec a valid raw value stands for, without null fields and without
 * empty lists or maps (an empty `hotReload` or `env` means the same as none).
 * Call only after appSpecProblem returned null.
 */
export function normaliseAppSpec(raw: AppSpec | Record<string, unknown>): AppSpec {
  const r = raw as Record<string, unknown>;
  const spec: AppSpec = {};
  if (typeof r.run === 'string') spec.run = r.run;
  if (typeof r.assemble === 'string') spec.assemble = r.assemble;
  if (Array.isArray(r.assembleOn) && r.assembleOn.length > 0) spec.assembleOn = [...(r.assembleOn as string[])];
  if (Array.isArray(r.hotReload) && r.hotReload.length > 0) spec.hotReload = [...(r.hotReload as string[])];
  if (isRecord(r.env) && Object.keys(r.env).length > 0) spec.env = { ...(r.env as Record<string, string>) };
  return spec;
}

/** True when two specs make the agent do the same thing (pattern order counts; env order does not). Pure. */
export function appSpecEquals(a: AppSpec, b: AppSpec): boolean {
  const x = normaliseAppSpec(a);
  const y = normaliseAppSpec(b);
  return (
    x.run === y.run &&
    x.assemble === y.assemble &&
    sameList(x.assembleOn, y.assembleOn) &&
    sameList(x.hotReload, y.hotReload) &&
    sameList(sortedEntries(x.env), sortedEntries(y.env))
  );
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((item, i) => item === y[i]);
}

function sortedEntries(env: Record<string, string> | undefined): string[] {
  // NUL cannot occur in a name or a value (appSpecProblem), so it separates them unambiguously.
  return Object.entries(env ?? {})
    .map(([name, value]) => `${name}\0${value}`)
    .sort();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
