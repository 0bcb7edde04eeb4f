import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * ARCHITECTURE.md names the route of a save as `file:function`: each must
 * exist, declared in that file, so the document cannot drift from the code.
 */
const REPO = fileURLToPath(new URL('..', import.meta.url));
const text = readFileSync(`${REPO}ARCHITECTURE.md`, 'utf8');
const refs = [...text.matchAll(/`(packages\/[\w./-]+\.ts):(\w+)`/g)].map((m) => ({ file: m[1], name: m[2] }));

describe('ARCHITECTURE.md', () => {
  it('names the route through the code', () => {
    expect(refs.length).toBeGreaterThan(30);
  });

  it.each(refs.map((r) => [`${r.file}:${r.name}`, r] as const))('%s exists', (_label, { file, name }) => {
    const source = readFileSync(`${REPO}${file}`, 'utf8');
    const declared = new RegExp(
      `(function\\*?\\s+${name}\\b|class\\s+${name}\\b|interface\\s+${name}\\b|type\\s+${name}\\b|(const|let)\\s+${name}\\b|^\\s*(export\\s+)?(async\\s+)?${name}\\s*[(<]|^\\s*(private|public|protected)\\s+(async\\s+)?${name}\\s*[(<]|^\\s*async\\s+${name}\\s*\\(|^\\s*(private\\s+)?(readonly\\s+)?${name}\\s*=)`,
      'm',
    );
    expect(declared.test(source), `${name} is not declared in ${file}`).toBe(true);
  });
});
