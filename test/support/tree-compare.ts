import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Walks two directories and lists every difference: a missing or extra path,
 * a different type, mode, content or link target. `skip` names top-level or
 * nested paths (POSIX relative) left out of the comparison, e.g. ignored ones.
 */
export async function compareTrees(a: string, b: string, skip: (rel: string) => boolean = () => false): Promise<string[]> {
  const diffs: string[] = [];
  const [left, right] = await Promise.all([listTree(a, skip), listTree(b, skip)]);
  for (const rel of new Set([...left.keys(), ...right.keys()])) {
    const x = left.get(rel);
    const y = right.get(rel);
    if (!x) diffs.push(`extra in ${b}: ${rel}`);
    else if (!y) diffs.push(`missing in ${b}: ${rel}`);
    else if (x !== y) diffs.push(`differs: ${rel}: ${x} vs ${y}`);
  }
  if (diffs.length > 0) return diffs;
  for (const [rel, desc] of left) {
    if (!desc.startsWith('file')) continue;
    const [ca, cb] = await Promise.all([readFile(join(a, rel)), readFile(join(b, rel))]);
    if (!ca.equals(cb)) diffs.push(`content differs: ${rel}`);
  }
  return diffs;
}

/** rel path → "type mode [size|target]" for every entry under `root`. */
export async function listTree(root: string, skip: (rel: string) => boolean = () => false): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${d.name}` : d.name;
      if (skip(rel)) continue;
      const abs = join(dir, d.name);
      const st = await lstat(abs);
      const mode = (st.mode & 0o777).toString(8);
      if (st.isSymbolicLink()) out.set(rel, `symlink -> ${await readlink(abs)}`);
      else if (st.isDirectory()) {
        out.set(rel, `dir ${mode}`);
        await walk(abs, rel);
      } else out.set(rel, `file ${mode} ${st.size}`);
    }
  };
  await walk(root, '');
  return out;
}
