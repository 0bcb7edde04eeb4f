import { chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { BUNDLE_MANIFEST, BUNDLE_VERSION_FILE, readBundleManifest, type BundleManifest } from './manifest.ts';

/**
 * `skiff-agent copy-to DIR`: the agent image's `copy-agent` step. The image is
 * FROM scratch (no `cp`), so the bundle copies itself into the volume that
 * the app container then mounts and starts the agent from.
 *
 * Invariant: DIR/manifest.json names a version only once every file of that
 * version is in place. It is removed first and written last; each file goes
 * to a temporary name and is renamed in, so a copy cut short (a killed init
 * container) is redone by the next run instead of being taken as whole.
 */
export interface CopyResult {
  version: string;
  dir: string;
  files: number;
  bytes: number;
  /** The same version was already there, complete: nothing was written. */
  alreadyThere: boolean;
}

const PARTIAL_SUFFIX = '.skiff-partial';

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

async function completeCopy(to: string, manifest: BundleManifest): Promise<boolean> {
  let there: unknown;
  try {
    there = JSON.parse(await readFile(join(to, BUNDLE_MANIFEST), 'utf8'));
  } catch {
    return false;
  }
  if ((there as { version?: unknown }).version !== manifest.version) return false;
  for (const file of manifest.files) {
    if ((await sizeOf(join(to, file.path))) !== file.size) return false;
  }
  return true;
}

function ioError(what: string, cause: unknown): SkiffError {
  return new SkiffError(ErrorCode.IO, `copy-to: ${what}: ${(cause as Error).message}`, { cause });
}

export async function copyBundle(from: string, to: string): Promise<CopyResult> {
  const manifest = await readBundleManifest(from);
  const bytes = manifest.files.reduce((n, f) => n + f.size, 0);
  const result = { version: manifest.version, dir: to, files: manifest.files.length, bytes };
  if (await completeCopy(to, manifest)) return { ...result, alreadyThere: true };
  try {
    await mkdir(to, { recursive: true });
    await rm(join(to, BUNDLE_MANIFEST), { force: true });
  } catch (cause) {
    throw ioError(`cannot prepare ${to}`, cause);
  }
  for (const file of manifest.files) {
    const dest = join(to, file.path);
    const partial = `${dest}${PARTIAL_SUFFIX}`;
    try {
      await mkdir(dirname(dest), { recursive: true });
      await copyFile(join(from, file.path), partial);
      await chmod(partial, file.mode);
      await rename(partial, dest);
    } catch (cause) {
      await rm(partial, { force: true }).catch(() => undefined);
      throw ioError(`cannot copy ${file.path} into ${to}`, cause);
    }
  }
  try {
    await writeFile(join(to, BUNDLE_VERSION_FILE), `${manifest.version}\n`);
    await copyFile(join(from, BUNDLE_MANIFEST), join(to, `${BUNDLE_MANIFEST}${PARTIAL_SUFFIX}`));
    await rename(join(to, `${BUNDLE_MANIFEST}${PARTIAL_SUFFIX}`), join(to, BUNDLE_MANIFEST));
  } catch (cause) {
    throw ioError(`cannot write ${BUNDLE_MANIFEST} into ${to}`, cause);
  }
  return { ...result, alreadyThere: false };
}
