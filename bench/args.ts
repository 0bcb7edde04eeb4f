import { parseArgs } from 'node:util';
import { FULL, QUICK, type Profile } from './profile.ts';
import { DEFAULT_SEED } from './tree.ts';

/**
 * npm run bench [-- --quick] [--files N] [--seed S] [--only id,id] [--keep]
 */
export interface Options {
  profile: Profile;
  seed: number;
  only: string[] | null;
  /** Leave the run directory (tree and destinations) in place for inspection. */
  keep: boolean;
}

export const USAGE = `usage: npm run bench [-- --quick] [--files N] [--seed S] [--only first-sync,no-change,...] [--keep]`;

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      files: { type: 'string' },
      seed: { type: 'string' },
      only: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const profile = { ...(values.quick ? QUICK : FULL) };
  if (values.files !== undefined) {
    const files = Number(values.files);
    if (!Number.isInteger(files) || files < 1) throw new Error(`--files wants a positive integer, got "${values.files}"`);
    profile.files = files;
  }
  const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed wants an integer, got "${values.seed}"`);
  return { profile, seed, only: values.only ? values.only.split(',').map((s) => s.trim()) : null, keep: values.keep };
}
