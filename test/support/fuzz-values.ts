import { MAX_NAME_BYTES, MAX_PATH_BYTES } from '@skiff/protocol';
import type { Rng } from './fuzz-rng.ts';

/**
 * Values for fuzzing the agent: valid paths drawn from a small set of names,
 * and the hostile paths, numbers and strings a broken or hostile peer puts
 * in header fields.
 */

/**
 * Name segments of valid paths. Few on purpose: the root stays small (at most
 * a few hundred entries) however long the run, and paths collide often (a
 * file where a directory was, a write through a link made earlier).
 * `planted` is a symlink to outside the root that the test puts there.
 */
const SEGMENTS = ['a', 'b', 'dir', 'ünï', 'sp ace', 'planted'] as const;
const MAX_DEPTH = 3;
/** Symlink targets that stay inside the root whatever the link's depth (checked again by the agent). */
export const INNER_TARGETS = ['a', 'b', 'dir/a', 'ünï', '.'] as const;

/** Paths no agent may accept: `..` in every position, absolute, drive letters, NUL, too long, not normalised, reserved. */
export function hostilePaths(outside: readonly string[]): string[] {
  const deep = ['x', 'y', 'z'];
  const dotdot = deep.map((_, i) => deep.map((s, j) => (i === j ? '..' : s)).join('/'));
  return [
    '..',
    '../escape',
    '../../escape',
    'a/../../escape',
    'a/..',
    ...dotdot,
    '../'.repeat(40) + 'etc/passwd',
    ...outside,
    '/etc/passwd',
    '/',
    '\\\\server\\share\\x',
    '\\x',
    'C:\\Windows\\x',
    'C:/x',
    'c:x',
    'Z:',
    'a\\..\\..\\escape',
    'a\u0000b',
    '\u0000',
    'a/\u0000/b',
    'n'.repeat(MAX_NAME_BYTES + 1),
    `a/${'n'.repeat(MAX_NAME_BYTES + 1)}`,
    'é'.repeat(Math.ceil((MAX_NAME_BYTES + 1) / 2)),
    `${'d/'.repeat(MAX_PATH_BYTES / 2)}x`,
    '',
    '.',
    './a',
    'a/.',
    'a/',
    '/a',
    'a//b',
    '.skiff-tmp-0-1',
    'a/.skiff-tmp-x',
  ];
}

/** Values a numeric header field must refuse (or, for a few, survive): negative, fractional, unsafe, not numbers. */
export const HOSTILE_NUMBERS: readonly unknown[] = [
  -1,
  -0.5,
  0.5,
  1e308,
  -1e308,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 32,
  2 ** 31,
  0xffffffff,
  Number.MAX_SAFE_INTEGER,
  '1',
  '',
  true,
  null,
  [],
  {},
  [1],
  { valueOf: 1 },
];

/** Values for string fields (hash, software, target, code, message). */
export const HOSTILE_STRINGS: readonly unknown[] = ['', 'G'.repeat(16), 'ABCDEF0123456789', '0'.repeat(15), '0'.repeat(17), 'x'.repeat(4097), 1, null, [], {}];

export function validPath(rng: Rng): string {
  const depth = rng.range(1, MAX_DEPTH);
  const parts: string[] = [];
  for (let i = 0; i < depth; i++) parts.push(rng.pick(SEGMENTS));
  return parts.join('/');
}

export function fuzzHash(rng: Rng): string {
  return rng.next().toString(16).padStart(8, '0') + rng.next().toString(16).padStart(8, '0');
}
