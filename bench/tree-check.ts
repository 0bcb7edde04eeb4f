import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { GeneratedTree } from './tree.ts';

/**
 * A sync tool must never touch its source. After every scenario the run
 * checks that each planned file is still there with its planned size (edits
 * keep sizes), so a scenario that damaged the source is named in the report
 * instead of silently skewing the scenarios after it.
 */

const EXAMPLES = 3;

export interface TreeDamage {
  count: number;
  examples: string[];
}

export function checkTree(tree: GeneratedTree): TreeDamage | null {
  const examples: string[] = [];
  let count = 0;
  for (const file of tree.files) {
    const st = lstatSync(join(tree.root, file.path), { throwIfNoEntry: false });
    const problem = !st ? 'missing' : !st.isFile() ? 'not a file' : st.size !== file.size ? `size ${st.size}, planned ${file.size}` : null;
    if (problem === null) continue;
    count++;
    if (examples.length < EXAMPLES) examples.push(`${file.path}: ${problem}`);
  }
  return count ? { count, examples } : null;
}
