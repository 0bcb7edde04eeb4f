import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ignore from 'ignore';
import type { SkiffError } from '@skiff/protocol';
import type { IsIgnored, WatchEvent } from '../src/watch/types.ts';

/** Rules like the daemon's defaults, plus `extra` gitignore lines. */
export function rules(extra: string[] = []): IsIgnored {
  const ig = ignore().add(['.git', '.skiff/', '.odo/', '*.swp', '*.swo', '*~', '4913', ...extra]);
  return (rel, isDir) => ig.ignores(isDir ? `${rel}/` : rel);
}

export async function tempTree(prefix: string): Promise<{ root: string; dispose(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), `skiff-${prefix}-`));
  return { root, dispose: () => rm(root, { recursive: true, force: true }) };
}

/**
 * Collects what a watcher reports and lets a test wait, with a deadline, for
 * a condition on everything seen so far: re-checked on every report, never
 * by sleeping.
 */
export class Recorder<T> {
  readonly items: T[] = [];
  readonly errors: SkiffError[] = [];
  private waiters: Array<() => void> = [];

  push = (batch: readonly T[]): void => {
    this.items.push(...batch);
    this.wake();
  };

  error = (err: SkiffError): void => {
    this.errors.push(err);
    this.wake();
  };

  until(condition: (items: readonly T[]) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (condition(this.items)) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        const seen = JSON.stringify(this.items.slice(-20));
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}; errors: ${this.errors.map((e) => e.message).join('; ')}`));
      }, timeoutMs);
      this.waiters.push(check);
      check();
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

export const has =
  (kind: WatchEvent['kind'] | 'any', path: string) =>
  (events: readonly WatchEvent[]): boolean =>
    events.some((e) => e.path === path && (kind === 'any' || e.kind === kind));

/** inotify watches held by this process, summed over its inotify descriptors. */
export async function inotifyWatches(): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fdinfo')) {
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
    count += info.split('\n').filter((line) => line.startsWith('inotify ')).length;
  }
  return count;
}

/**
 * 20 directories under src/, 10 under .git/objects/ and 10 under
 * node_modules/: watched with rules(['node_modules/']), a watcher holds 22
 * (the root, src and src/d0..d19).
 */
export async function makeWatchCostTree(root: string): Promise<void> {
  for (let i = 0; i < 20; i++) await mkdir(join(root, `src/d${i}`), { recursive: true });
  for (let i = 0; i < 10; i++) await mkdir(join(root, `.git/objects/${i}`), { recursive: true });
  for (let i = 0; i < 10; i++) await mkdir(join(root, `node_modules/p${i}`), { recursive: true });
}
