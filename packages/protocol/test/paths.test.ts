import { describe, expect, it } from 'vitest';
import { checkLinkTarget, checkRelPath, resolveLinkTarget } from '../src/paths.ts';

describe('checkRelPath', () => {
  it.each(['a', 'a/b/c.txt', 'dir with space/file ü.txt', '日本/語.md', '.hidden', 'a/.b', '...', 'a..b'])('accepts %j', (p) => {
    expect(checkRelPath(p)).toBeNull();
  });
  it.each([
    ['', 'SKIFF_E_PATH_EMPTY'],
    [42, 'SKIFF_E_PATH_EMPTY'],
    ['..', 'SKIFF_E_PATH_TRAVERSAL'],
    ['../x', 'SKIFF_E_PATH_TRAVERSAL'],
    ['a/../../x', 'SKIFF_E_PATH_TRAVERSAL'],
    ['a/..', 'SKIFF_E_PATH_TRAVERSAL'],
    ['/etc/passwd', 'SKIFF_E_PATH_ABSOLUTE'],
    ['\\\\server\\share', 'SKIFF_E_PATH_ABSOLUTE'],
    ['C:/Windows', 'SKIFF_E_PATH_ABSOLUTE'],
    ['c:x', 'SKIFF_E_PATH_ABSOLUTE'],
    ['a\\b', 'SKIFF_E_PATH_NOT_NORMALISED'],
    ['a\0b', 'SKIFF_E_PATH_NUL'],
    ['a//b', 'SKIFF_E_PATH_NOT_NORMALISED'],
    ['./a', 'SKIFF_E_PATH_NOT_NORMALISED'],
    ['a/', 'SKIFF_E_PATH_NOT_NORMALISED'],
    ['a/./b', 'SKIFF_E_PATH_NOT_NORMALISED'],
    ['x'.repeat(256), 'SKIFF_E_PATH_TOO_LONG'],
    ['é'.repeat(128), 'SKIFF_E_PATH_TOO_LONG'],
    [Array(1000).fill('abcd').join('/'), 'SKIFF_E_PATH_TOO_LONG'],
  ])('refuses %j with %s', (p, code) => {
    expect(checkRelPath(p)?.code).toBe(code);
  });
});

describe('resolveLinkTarget', () => {
  it.each([
    ['link', 'target', 'target'],
    ['a/link', '../b', 'b'],
    ['a/b/link', '../../c/d', 'c/d'],
    ['a/link', '.', 'a'],
    ['a/link', '..', ''],
    ['link', '../x', null],
    ['a/link', '../../x', null],
    ['link', '/etc/passwd', null],
    ['link', 'C:/x', null],
    ['link', '', null],
    ['a/link', 'b/../../..', null],
  ])('%s -> %s resolves to %j', (link, target, expected) => {
    expect(resolveLinkTarget(link, target)).toBe(expected);
    expect(checkLinkTarget(link, target)?.code ?? null).toBe(expected === null ? 'SKIFF_E_SYMLINK_ESCAPE' : null);
  });
});
