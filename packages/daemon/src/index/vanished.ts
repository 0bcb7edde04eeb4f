/**
 * The errno codes that mean a path changed under us between two calls (it
 * was removed, or a directory on its way became a file or the reverse): the
 * path is left out quietly, and its own watcher event or the next scan tells
 * the rest. Any other errno is a problem worth reporting.
 */
export const VANISHED_ERRNOS: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR', 'EINVAL', 'EISDIR']);

export function isVanished(err: unknown): boolean {
  return VANISHED_ERRNOS.has((err as NodeJS.ErrnoException | null)?.code ?? '');
}
