import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, SkiffError, checkRelPath } from '@skiff/protocol';

/**
 * The self-contained agent bundle (built by scripts/agent-bundle.mjs into
 * packages/agent/dist/bundle) describes itself in manifest.json: how to launch
 * it and which files it is made of. Whoever starts or copies the bundle reads
 * that file instead of repeating its layout (the loader's name depends on the
 * machine that built it).
 */
export const BUNDLE_MANIFEST = 'manifest.json';
/** One line: the manifest's `version`, for a shell or a Dockerfile that only needs the name. */
export const BUNDLE_VERSION_FILE = 'VERSION';
export const BUNDLE_FORMAT = 1;

export interface BundleFile {
  /** Relative to the bundle directory, '/'-separated. */
  path: string;
  mode: number;
  size: number;
  sha256: string;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  /** Digest of the file list (paths, modes, contents): images and volumes are named after it. */
  version: string;
  /** `${process.platform}-${process.arch}` of the machine that built it. */
  platform: string;
  nodeVersion: string;
  /** The dynamic loader that runs node, or null for a statically linked node. */
  loader: string | null;
  libDir: string;
  node: string;
  entry: string;
  files: BundleFile[];
}

function invalid(detail: string): SkiffError {
  return new SkiffError(ErrorCode.AGENT_START, `the agent bundle's ${BUNDLE_MANIFEST} is not valid: ${detail}; rebuild it with: npm run build`);
}

function relPath(value: unknown, field: string): string {
  const problem = checkRelPath(value);
  if (problem) throw invalid(`${field}: ${problem.message}`);
  return value as string;
}

/** Validates a decoded manifest.json. Pure. */
export function parseBundleManifest(raw: unknown): BundleManifest {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('not a JSON object');
  const m = raw as Record<string, unknown>;
  if (m.format !== BUNDLE_FORMAT) throw invalid(`format ${JSON.stringify(m.format)}, this agent reads format ${BUNDLE_FORMAT}`);
  if (typeof m.version !== 'string' || !/^[0-9a-f]{8,64}$/.test(m.version)) throw invalid('version must be hex digits');
  if (!Array.isArray(m.files)) throw invalid('files must be an array');
  const files = m.files.map((f: unknown, i: number): BundleFile => {
    const file = (f ?? {}) as Record<string, unknown>;
    const path = relPath(file.path, `files[${i}].path`);
    const { mode, size, sha256 } = file;
    if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777) throw invalid(`files[${i}].mode must be permission bits`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`files[${i}].size must be a byte count`);
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) throw invalid(`files[${i}].sha256 must be 64 hex digits`);
    return { path, mode, size, sha256 };
  });
  const listed = new Set(files.map((f) => f.path));
  for (const own of [BUNDLE_MANIFEST, BUNDLE_VERSION_FILE]) {
    if (listed.has(own)) throw invalid(`files lists ${own}, which the manifest itself stands for`);
  }
  const member = (value: unknown, field: string): string => {
    const path = relPath(value, field);
    if (!listed.has(path)) throw invalid(`${field} ${JSON.stringify(path)} is not among its files`);
    return path;
  };
  return {
    format: BUNDLE_FORMAT,
    version: m.version,
    platform: typeof m.platform === 'string' ? m.platform : 'unknown',
    nodeVersion: typeof m.nodeVersion === 'string' ? m.nodeVersion : 'unknown',
    loader: m.loader === null ? null : member(m.loader, 'loader'),
    libDir: relPath(m.libDir, 'libDir'),
    node: member(m.node, 'node'),
    entry: member(m.entry, 'entry'),
    files,
  };
}

export async function readBundleManifest(dir: string): Promise<BundleManifest> {
  const path = join(dir, BUNDLE_MANIFEST);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new SkiffError(
      ErrorCode.AGENT_START,
      missing
        ? `${dir} is not a self-contained agent bundle (no ${BUNDLE_MANIFEST}); build one with: npm run build (it lands in packages/agent/dist/bundle)`
        : `cannot read ${path}: ${(cause as Error).message}`,
      { cause },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw invalid(`not JSON (${(cause as Error).message})`);
  }
  return parseBundleManifest(raw);
}

/**
 * The node options the agent runs with wherever it runs (the local target's
 * child, the container's PID 1). Its old generation starts at 128 MiB: a
 * fresh agent's heap grows from a few MiB to hold a first sync's manifest,
 * and with V8's small initial limit it ran six full collections on the way
 * (~50 ms in all, measured with --trace-gc over a first sync of 50,000
 * files, which took ~60 ms less without them). A limit, not an allocation:
 * the agent's resident size after that sync is the same either way
 * (~135 MiB). Given on the command line: set from inside the process it
 * comes too late, the heap is configured when node starts.
 */
export const AGENT_NODE_OPTIONS: readonly string[] = ['--initial-old-space-size=128'];

/**
 * The exec-form command that starts the bundle found at `dir` (as the target
 * container sees it) with the agent's `args` and `nodeOptions`: the bundle's
 * own loader runs its own node, so no shell, libc or node of the image is used.
 * `--library-path` applies to that one process and replaces LD_LIBRARY_PATH
 * for it; nothing is put in the environment, which the app inherits. Pure.
 */
export function bundleCommand(manifest: BundleManifest, dir: string, args: readonly string[], nodeOptions: readonly string[] = []): string[] {
  const at = (path: string): string => `${dir.replace(/\/+$/, '')}/${path}`;
  const node = [at(manifest.node), ...nodeOptions, at(manifest.entry), ...args];
  return manifest.loader === null ? node : [at(manifest.loader), '--library-path', at(manifest.libDir), ...node];
}
