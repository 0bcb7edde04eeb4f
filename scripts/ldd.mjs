// What a dynamically linked ELF file needs to run elsewhere: the shared
// libraries `ldd` lists and the dynamic loader. Used by the agent bundle
// (scripts/agent-bundle.mjs) and by the Docker tests' node image.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * Parses `ldd` output: `name => /path (0x..)` lines are libraries, a lone
 * `/path (0x..)` is the dynamic loader, the vDSO has no file. Pure.
 */
export function parseLdd(text) {
  const libs = [];
  let loader = null;
  const missing = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const arrow = /^(\S+) => (.*?)(?: \(0x[0-9a-f]+\))?$/.exec(line);
    if (arrow) {
      if (arrow[2] === 'not found') missing.push(arrow[1]);
      else if (arrow[2].startsWith('/')) libs.push({ name: arrow[1], path: arrow[2] });
      continue;
    }
    const alone = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (alone) loader = alone[1];
  }
  return { libs, loader, missing };
}

export function isElf(path) {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs ldd on `file`. `libs` keeps each library's name (what the loader looks
 * for), the path ldd found and that path's real file; `loader` the same for
 * the dynamic loader (its path is the one compiled into the file). A static
 * file, or one that is not ELF, needs nothing. Throws when ldd cannot run or
 * a library is missing.
 */
export function dynamicDeps(file) {
  if (!isElf(file)) return { static: true, libs: [], loader: null };
  const run = spawnSync('ldd', [file], { encoding: 'utf8' });
  if (run.error) throw new Error(`cannot run ldd to list the libraries of ${file}: ${run.error.message}`);
  // A static executable: ldd says so and exits 1.
  if (run.status !== 0 && /not a dynamic executable|statically linked/.test(`${run.stdout}${run.stderr}`)) return { static: true, libs: [], loader: null };
  if (run.status !== 0) throw new Error(`ldd ${file} failed: ${run.stderr.trim() || `exit ${run.status}`}`);
  const parsed = parseLdd(run.stdout);
  if (parsed.missing.length > 0) throw new Error(`${file} needs libraries this machine lacks: ${parsed.missing.join(', ')}`);
  const withReal = (name, path) => ({ name, path, real: realpathSync(path) });
  return {
    static: false,
    libs: parsed.libs.map((lib) => withReal(lib.name, lib.path)),
    loader: parsed.loader ? withReal(basename(parsed.loader), parsed.loader) : null,
  };
}
