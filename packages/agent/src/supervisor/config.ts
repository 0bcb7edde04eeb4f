import { APP_CONFIG_ENV, ErrorCode, SkiffError, type AppSpec } from '@skiff/protocol';

/**
 * What the supervisor runs: the AppSpec the daemon passes in SKIFF_APP, plus
 * the directory it runs in (the sync root). `run` and `assemble` are shell
 * command lines, run with `/bin/sh -c` in `workdir`.
 */
export interface AppConfig extends AppSpec {
  workdir: string;
}

/** The variable that carries the app config (JSON of AppConfig without workdir). */
export const APP_CONFIG_VAR = APP_CONFIG_ENV;

const FIELDS = ['run', 'assemble', 'assembleOn', 'hotReload', 'env'] as const;
type Field = (typeof FIELDS)[number];
const KNOWN: ReadonlySet<string> = new Set(FIELDS);

function configError(field: string, expected: string, got: unknown): SkiffError {
  return new SkiffError(ErrorCode.CONFIG, `${APP_CONFIG_VAR}: "${field}" must be ${expected}, got ${show(got)}`);
}

function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return JSON.stringify(value) ?? String(value);
}

/**
 * The app config from the environment. `root` (the directory the agent syncs
 * into) is the working directory: SKIFF_APP does not carry one, because only
 * the agent knows where its root is (a private directory for the local target,
 * the source volume in a container). An unset or empty SKIFF_APP is an empty
 * config: the supervisor then looks for `.s2i/bin/run` after the first sync.
 */
export function appConfigFromEnv(env: Record<string, string | undefined>, root: string): AppConfig {
  const text = env[APP_CONFIG_VAR];
  if (text === undefined || text.trim() === '') return { workdir: root };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SkiffError(ErrorCode.CONFIG, `${APP_CONFIG_VAR} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseAppConfig(raw, root);
}

/** Validates a decoded SKIFF_APP value. Pure. */
export function parseAppConfig(raw: unknown, root: string): AppConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SkiffError(ErrorCode.CONFIG, `${APP_CONFIG_VAR} must be a JSON object, got ${show(raw)}`);
  }
  const record = raw as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!KNOWN.has(key)) {
      throw new SkiffError(ErrorCode.CONFIG, `${APP_CONFIG_VAR}: unknown field "${key}"; known fields: ${FIELDS.join(', ')}`);
    }
  }
  const config: AppConfig = { workdir: root };
  const run = optionalCommand(record, 'run');
  if (run !== undefined) config.run = run;
  const assemble = optionalCommand(record, 'assemble');
  if (assemble !== undefined) config.assemble = assemble;
  const assembleOn = optionalPatterns(record, 'assembleOn');
  if (assembleOn !== undefined) config.assembleOn = assembleOn;
  const hotReload = optionalPatterns(record, 'hotReload');
  if (hotReload !== undefined) config.hotReload = hotReload;
  const envMap = record.env;
  if (envMap !== undefined) {
    if (envMap === null || typeof envMap !== 'object' || Array.isArray(envMap)) throw configError('env', 'an object of strings', envMap);
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(envMap as Record<string, unknown>)) {
      if (name === '' || name.includes('=') || name.includes('\0')) throw configError('env', 'variable names without "=" or NUL', name);
      if (typeof value !== 'string') throw configError(`env.${name}`, 'a string', value);
      out[name] = value;
    }
    config.env = out;
  }
  return config;
}

function optionalCommand(record: Record<string, unknown>, field: Field): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw configError(field, 'a non-empty shell command line', value);
  return value;
}

function optionalPatterns(record: Record<string, unknown>, field: Field): string[] | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw configError(field, 'an array of gitignore-style patterns', value);
  value.forEach((item, i) => {
    if (typeof item !== 'string' || item.trim() === '') throw configError(`${field}[${i}]`, 'a non-empty pattern string', item);
  });
  return value as string[];
}
