import { describe, expect, it } from 'vitest';
import { checkChildPath, checkLinkTarget, checkRelPath, resolveLinkTarget } from '../src/paths.ts';

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

describe('checkRelPath on random paths', () => {
  /** The rules, spelled out the slow way: what the one-pass fast path must agree with. */
  function valid(p: string): boolean {
    const bytes = (s: string) => new TextEncoder().encode(s).length;
    if (p.length === 0 || p.includes('\0') || p.includes('\\') || bytes(p) > 4096) return false;
    if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return false;
    return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..' && bytes(s) <= 255);
  }
  it('accepts exactly the paths the rules accept (20,000 seeded paths)', () => {
    const alphabet = ['a', 'b', '.', '/', '\\', '\0', ':', 'C', 'é', ' ', '..', 'x'.repeat(120)];
    let seed = 20_251_201;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (let i = 0; i < 20_000; i++) {
      let p = '';
      const n = rand(12);
      for (let k = 0; k < n; k++) p += alphabet[rand(alphabet.length)];
      expect(checkRelPath(p) === null, JSON.stringify(p)).toBe(valid(p));
    }
  });
});

describe('checkChildPath', () => {
  it('says of a name in a valid directory what checkRelPath says of the whole path (seeded names, short and long directories)', () => {
    const alphabet = ['a', 'b', '.', '\\', '\0', ':', 'C', 'é', ' ', '..', 'x'.repeat(120), '€'.repeat(40)];
    const dirs = ['src', 'a/b/c', 'a/c:x', `${'d'.repeat(250)}/${'e'.repeat(250)}`, Array.from({ length: 15 }, () => 'é'.repeat(120)).join('/')];
    let seed = 20_261_202;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (const dir of dirs) {
      expect(checkRelPath(dir), dir).toBeNull();
      for (let i = 0; i < 3_000; i++) {
        let name = '';
        const n = 1 + rand(8);
        for (let k = 0; k < n; k++) name += alphabet[rand(alphabet.length)];
        const rel = `${dir}/${name}`;
        expect(checkChildPath(rel, name) === null, JSON.stringify(rel)).toBe(checkRelPath(rel) === null);
      }
    }
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
