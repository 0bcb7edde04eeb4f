import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A project tree with what real ones hold: nested and empty directories, an
 * executable, unicode and space names, a symlink inside the tree, and ignored
 * files at several levels. Deterministic for a seed.
 */
export interface GeneratedTree {
  files: number;
  /** POSIX relative paths that the ignore rules must keep out. */
  ignored: string[];
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

export async function generateProject(root: string, fileCount: number, seed = 1): Promise<GeneratedTree> {
  const rand = rng(seed);
  const names = ['src', 'lib', 'assets', 'docs', 'Ünïcödé dir', 'with space', '日本語'];
  let files = 0;
  const ignored: string[] = [];
  await mkdir(root, { recursive: true });
  await writeFile(join(root, '.gitignore'), '*.log\nbuild/\n');
  files++;
  for (let i = 0; files < fileCount; i++) {
    const top = names[i % names.length];
    const sub = `sub${Math.floor(rand() * 12)}`;
    const deep = rand() < 0.3 ? `/deeper${Math.floor(rand() * 3)}` : '';
    const dir = join(root, top, sub + deep);
    await mkdir(dir, { recursive: true });
    const name = rand() < 0.1 ? `file ${i} é.txt` : `f${i}.dat`;
    const size = Math.floor(Math.exp(rand() * 9)); // 1 B .. ~8 KiB, skewed small
    const buf = Buffer.alloc(size);
    for (let b = 0; b < size; b++) buf[b] = Math.floor(rand() * 256);
    await writeFile(join(dir, name), buf);
    files++;
  }
  await mkdir(join(root, 'empty', 'nested-empty'), { recursive: true });
  await writeFile(join(root, 'run.sh'), '#!/bin/sh\necho hello\n');
  await chmod(join(root, 'run.sh'), 0o755);
  await writeFile(join(root, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 7));
  await symlink('src/sub1', join(root, 'link-to-sub'));
  files += 2;
  // Ignored at several levels: by the root .gitignore, by a nested one, by the defaults.
  await mkdir(join(root, 'build'), { recursive: true });
  await writeFile(join(root, 'build', 'out.js'), 'x');
  await writeFile(join(root, 'top.log'), 'x');
  await mkdir(join(root, 'lib', 'gen'), { recursive: true });
  await writeFile(join(root, 'lib', '.gitignore'), 'gen/\n*.tmp\n');
  await writeFile(join(root, 'lib', 'gen', 'g.js'), 'x');
  await writeFile(join(root, 'lib', 'scratch.tmp'), 'x');
  await mkdir(join(root, '.git'), { recursive: true });
  await writeFile(join(root, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(join(root, 'src', '.notes.swp'), 'x');
  ignored.push('build', 'top.log', 'lib/gen', 'lib/scratch.tmp', '.git', 'src/.notes.swp');
  return { files, ignored };
}
