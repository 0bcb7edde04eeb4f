import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pack, extract } from 'tar-stream';

/**
 * Tar streams for the Engine API, which takes and gives files only as tar:
 * the build context of the agent image, the token file put into a created
 * container, and the same file read back from it.
 */
export interface TarFile {
  name: string;
  mode: number;
  content: Buffer;
  /** Owner as the engine sets it when it extracts the tar into a container (root when absent). */
  uid?: number;
  gid?: number;
}

export interface TarDir {
  name: string;
  mode: number;
  uid?: number;
  gid?: number;
}

/** A tar of `files`, with their directories (mode 0o700 unless listed). */
export async function tarOf(files: TarFile[], dirs: TarDir[] = []): Promise<Buffer> {
  const p = pack();
  for (const d of dirs) p.entry({ name: d.name, type: 'directory', mode: d.mode, uid: d.uid ?? 0, gid: d.gid ?? 0 });
  for (const f of files) p.entry({ name: f.name, mode: f.mode, size: f.content.length, uid: f.uid ?? 0, gid: f.gid ?? 0 }, f.content);
  p.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of p) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

/** Every regular file under `dir`, as tar entries under `prefix`, modes kept. */
export function filesUnder(dir: string, prefix: string): TarFile[] {
  const out: TarFile[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const st = statSync(join(dir, childRel));
      if (st.isDirectory()) walk(childRel);
      else if (st.isFile()) out.push({ name: `${prefix}/${childRel}`, mode: st.mode & 0o777, content: readFileSync(join(dir, childRel)) });
    }
  };
  walk('');
  return out;
}

/** The content of the first file in a tar stream (GET /containers/{id}/archive gives one). */
export async function firstFileOf(stream: NodeJS.ReadableStream): Promise<Buffer | null> {
  const ex = extract();
  let found: Buffer | null = null;
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, body, next) => {
      const parts: Buffer[] = [];
      body.on('data', (d: unknown) => parts.push(Buffer.from(d as Uint8Array)));
      body.on('end', () => {
        if (found === null && header.type === 'file') found = Buffer.concat(parts);
        next();
      });
      body.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  stream.pipe(ex);
  await done;
  return found;
}
