import { readFileSync } from 'node:fs';
import { ErrorCode, SkiffError } from '@skiff/protocol';

/** Watch count suggested when the kernel's limit is too low (what VS Code and JetBrains suggest). */
export const SUGGESTED_MAX_USER_WATCHES = 524_288;
/** inotify instance count suggested when the kernel's limit is too low. */
export const SUGGESTED_MAX_USER_INSTANCES = 512;

const WATCH_LIMIT = /ENOSPC|no space left on device|watch limit|max_user_watches/i;
const INSTANCE_LIMIT = /max_user_instances|(inotify.*(EMFILE|too many open files))/i;

function readSysctl(name: string): string {
  try {
    return readFileSync(`/proc/sys/fs/inotify/${name}`, 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/**
 * Turns a watcher failure into a SkiffError a person can act on. The kernel
 * says "No space left on device" when the inotify watch limit is reached,
 * which nobody reads as "raise fs.inotify.max_user_watches": the message
 * names the setting, the command, and how to keep it across reboots.
 */
export function toWatchError(err: unknown, root: string): SkiffError {
  if (err instanceof SkiffError) return err;
  const msg = messageOf(err);
  if (WATCH_LIMIT.test(msg)) {
    const n = SUGGESTED_MAX_USER_WATCHES;
    return new SkiffError(
      ErrorCode.WATCH_LIMIT,
      `cannot watch ${root}: the inotify watch limit is reached ` +
        `(fs.inotify.max_user_watches = ${readSysctl('max_user_watches')}; skiff needs one watch per directory, ` +
        `and editors and other tools share the same limit). Raise it with ` +
        `\`sudo sysctl fs.inotify.max_user_watches=${n}\` and keep it across reboots with ` +
        `\`echo fs.inotify.max_user_watches=${n} | sudo tee /etc/sysctl.d/60-skiff-inotify.conf\` ` +
        `(in a container or WSL, on the host); or ignore large directories, or watch by polling (\`skiff dev --poll\`)`,
      { cause: err },
    );
  }
  if (INSTANCE_LIMIT.test(msg)) {
    const n = SUGGESTED_MAX_USER_INSTANCES;
    return new SkiffError(
      ErrorCode.WATCH_LIMIT,
      `cannot watch ${root}: the inotify instance limit is reached ` +
        `(fs.inotify.max_user_instances = ${readSysctl('max_user_instances')}). Raise it with ` +
        `\`sudo sysctl fs.inotify.max_user_instances=${n}\` and keep it across reboots with ` +
        `\`echo fs.inotify.max_user_instances=${n} | sudo tee /etc/sysctl.d/60-skiff-inotify.conf\``,
      { cause: err },
    );
  }
  return new SkiffError(ErrorCode.IO, `watching ${root} failed: ${msg}`, { cause: err });
}

/**
 * Calls a consumer's callback so that nothing it throws escapes into a
 * native or timer callback (@parcel/watcher turns a throw in its callback
 * into a fatal exception): a throw is reported through `onError`, and a
 * throwing `onError` is dropped.
 */
export function callSafely(fn: () => void, onError: (err: SkiffError) => void, root: string): void {
  try {
    fn();
  } catch (err) {
    try {
      onError(err instanceof SkiffError ? err : new SkiffError(ErrorCode.INTERNAL, `watch consumer for ${root} threw: ${messageOf(err)}`, { cause: err }));
    } catch {
      // The consumer's error handler failed too; there is nobody left to tell.
    }
  }
}
