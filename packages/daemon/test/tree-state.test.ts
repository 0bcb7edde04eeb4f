import { describe, expect, it } from 'vitest';
import { loadHasher, manifestDigest, type Entry } from '@skiff/protocol';
import { carryDigest, LineHashesAhead, TreeState } from '../src/core/tree-state.ts';

const hasher = await loadHasher();
const file = (path: string, hash = '0123456789abcdef'): Entry => ({ path, type: 'file', size: 1, mtime: 0, mode: 0o644, hash });
const dir = (path: string): Entry => ({ path, type: 'dir', size: 0, mtime: 0, mode: 0o755, hash: '' });

describe('TreeState', () => {
  it('keeps digest and file count equal to a recomputation after random changes', () => {
    const t = new TreeState(hasher.h64);
    const ref = new Map<string, Entry>();
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    for (let i = 0; i < 3000; i++) {
      const path = `d${rand(5)}/f${rand(40)}`;
      const op = rand(4);
      if (op === 0) {
        t.delete(path);
        ref.delete(path);
      } else if (op === 1) {
        const d = dir(`d${rand(5)}`);
        for (const e of t.deleteTree(d.path)) ref.delete(e.path);
        t.set(d);
        ref.set(d.path, d);
      } else {
        const e = file(path, rand(2) ? '0123456789abcdef' : 'fedcba9876543210');
        t.set(e);
        ref.set(path, e);
      }
      if (i % 500 === 0) expect(t.digest).toBe(manifestDigest(ref.values(), hasher.h64));
    }
    expect(t.digest).toBe(manifestDigest(ref.values(), hasher.h64));
    expect(t.files).toBe([...ref.values()].filter((e) => e.type === 'file').length);
    expect(t.clone().digest).toBe(t.digest);
  });

  it('a clone and its tree change apart: neither ever sees the other\'s changes (they share the map until one changes)', () => {
    let seed = 11;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const base = new TreeState(hasher.h64);
    for (let i = 0; i < 200; i++) base.set(file(`d${i % 7}/f${i}`));
    const trees = [base, base.clone(), base.clone()];
    trees.push(trees[1].clone());
    const refs = trees.map((t) => new Map([...t.entries]));
    for (let i = 0; i < 2000; i++) {
      const k = rand(trees.length);
      const path = `d${rand(7)}/f${rand(260)}`;
      if (rand(3) === 0) {
        trees[k].delete(path);
        refs[k].delete(path);
      } else {
        const e = file(path, rand(2) ? '0123456789abcdef' : 'fedcba9876543210');
        trees[k].set(e);
        refs[k].set(path, e);
      }
      if (i % 250 === 0) {
        // A new clone now and then, of a tree that may share its map already.
        const from = rand(trees.length);
        trees.push(trees[from].clone());
        refs.push(new Map(refs[from]));
      }
    }
    for (const [k, t] of trees.entries()) {
      expect(new Map(t.entries), `tree ${k}`).toEqual(refs[k]);
      expect(t.digest, `tree ${k}`).toBe(manifestDigest(refs[k].values(), hasher.h64));
      expect(t.files).toBe(refs[k].size);
    }
  });

  it('a tree seeded with a Map after its clone was taken leaves the clone as it was', () => {
    const empty = new TreeState(hasher.h64);
    const clone = empty.clone();
    const entries = new Map([['a', file('a')]]);
    empty.seed(entries, manifestDigest(entries.values(), hasher.h64));
    expect(clone.size).toBe(0);
    clone.set(file('b'));
    expect([...empty.entries.keys()]).toEqual(['a']);
  });

  it('deleteTree removes a directory with everything under it, and only that', () => {
    const t = new TreeState(hasher.h64, [dir('a'), file('a/x'), dir('a/b'), file('a/b/y'), file('ab')]);
    expect(t.deleteTree('a').map((e) => e.path).sort()).toEqual(['a', 'a/b', 'a/b/y', 'a/x']);
    expect([...t.entries.keys()]).toEqual(['ab']);
    expect(t.files).toBe(1);
  });

  it('carryDigest: the digest of a changed tree from the old one and its digest, for seeded random changes', () => {
    let seed = 11;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    for (let round = 0; round < 50; round++) {
      const previous = new Map<string, Entry>();
      for (let i = 0; i < 200; i++) previous.set(`p${i}`, file(`p${i}`, rand(2) ? '0123456789abcdef' : 'fedcba9876543210'));
      const digest = manifestDigest(previous.values(), hasher.h64);
      // Kept as the very object, replaced by an equal or a different one, gone; and new paths.
      const current = new Map<string, Entry>();
      for (const [path, e] of previous) {
        const r = rand(10);
        if (r < 6) current.set(path, e);
        else if (r === 6) current.set(path, { ...e });
        else if (r === 7) current.set(path, { ...e, hash: 'aaaaaaaaaaaaaaaa' });
        else if (r === 8) current.set(path, dir(path));
      }
      for (let i = 0; i < rand(20); i++) current.set(`n${i}`, file(`n${i}`));
      const carried = carryDigest(hasher.h64, previous, digest, current);
      expect(carried).toBe(manifestDigest(current.values(), hasher.h64));
      // A count of kept objects short of the whole tree changes nothing.
      const kept = [...current].filter(([p, e]) => previous.get(p) === e).length;
      expect(carryDigest(hasher.h64, previous, digest, current, kept)).toBe(carried);
      // A tree seeded with it keeps its digest right through later changes.
      const t = new TreeState(hasher.h64);
      t.seed(current.values(), carried);
      expect(t.files).toBe([...current.values()].filter((e) => e.type === 'file').length);
      t.delete('p0');
      current.delete('p0');
      t.set(file('p1', 'bbbbbbbbbbbbbbbb'));
      current.set('p1', file('p1', 'bbbbbbbbbbbbbbbb'));
      expect(t.digest).toBe(manifestDigest(current.values(), hasher.h64));
    }
    // All kept: the digest as it was, nothing looked at.
    const tree = new Map([['a', file('a')]]);
    expect(carryDigest(hasher.h64, tree, 'aaaaaaaaaaaaaaaa', tree, 1)).toBe('aaaaaaaaaaaaaaaa');
  });
});

describe('LineHashesAhead', () => {
  it('gives the digest of what was sent, hashed in steps or at the end, and how many', () => {
    const entries = [dir('a'), ...Array.from({ length: 700 }, (_, i) => file(`a/f${i}`, i % 2 ? '0123456789abcdef' : 'fedcba9876543210'))];
    const stepped = new LineHashesAhead(hasher.h64);
    for (const e of entries) stepped.sent(e);
    expect(stepped.step()).toBe(true); // 701 lines: more than one step
    expect(stepped.digestOfSent()).toEqual({ digest: manifestDigest(entries, hasher.h64), count: entries.length });
    const atOnce = new LineHashesAhead(hasher.h64);
    for (const e of entries) atOnce.sent(e);
    atOnce.sent(entries[1]); // sent twice: it counts twice and its line cancels out
    expect(atOnce.digestOfSent()).toEqual({ digest: manifestDigest(entries.slice(2).concat(entries[0]), hasher.h64), count: entries.length + 1 });
  });
});
