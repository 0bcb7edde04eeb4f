import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Walks what a fuzzed agent left on disk without ever following a symlink.
 * The fuzzer makes links such as `a/b -> .`, so a walk that follows them
 * (readdirSync's `recursive` does) loops until ELOOP.
 */
export function walkNoFollow(dir: string, skip: (rel: string) => boolean = () => false, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (skip(rel)) continue;
    out.push(rel);
    // A Dirent of a symlink is never a directory: links are listed, not entered.
    if (entry.isDirectory()) out.push(...walkNoFollow(join(dir, entry.name), skip, rel));
  }
  return out;
}

/** Names, types, modes, contents and link targets under `dir`, for a before/after comparison. */
export function snapshotNoFollow(dir: string, skip?: (rel: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of walkNoFollow(dir, skip)) {
    const abs = join(dir, rel);
    const st = lstatSync(abs);
    out[rel] = st.isSymbolicLink()
      ? `link:${readlinkSync(abs)}`
      : st.isDirectory()
        ? `dir:${(st.mode & 0o777).toString(8)}`
        : `file:${(st.mode & 0o777).toString(8)}:${readFileSync(abs, 'base64')}`;
  }
  return out;
}

/** The agent's temporary files (`.skiff-tmp-*`) under `dir`. */
export function tempFilesUnder(dir: string): string[] {
  return walkNoFollow(dir).filter((rel) => rel.slice(rel.lastIndexOf('/') + 1).startsWith('.skiff-tmp-'));
}
