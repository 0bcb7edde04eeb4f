import { describe, expect, it } from 'vitest';
import { backoffDelay, nextFailures } from '../src/supervisor/backoff.ts';
import { BatchAction, decideBatch, type BatchFacts } from '../src/supervisor/decide.ts';
import { allMatch, compilePatterns, someMatch } from '../src/supervisor/patterns.ts';
import { LogBacklog } from '../src/supervisor/backlog.ts';
import { OutputTail } from '../src/supervisor/tail.ts';

describe('backoffDelay', () => {
  it.each([
    [1, 500],
    [2, 1_000],
    [3, 2_000],
    [4, 4_000],
    [6, 16_000],
    [7, 30_000],
    [8, 30_000],
    [1_000, 30_000],
    [0, 500],
  ])('after %d failures waits %d ms (base 500, cap 30 s)', (failures, ms) => {
    expect(backoffDelay(failures, 500, 30_000)).toBe(ms);
  });
  it('never exceeds a cap below the base', () => {
    expect(backoffDelay(1, 500, 100)).toBe(100);
  });
});

describe('nextFailures', () => {
  it.each([
    [0, 100, 10_000, 1],
    [1, 100, 10_000, 2],
    [5, 9_999, 10_000, 6],
    [5, 10_000, 10_000, 1],
    [9, 60_000, 10_000, 1],
  ])('previous %d, ran %d ms, stable %d → %d', (previous, ranFor, stable, next) => {
    expect(nextFailures(previous, ranFor, stable)).toBe(next);
  });
});

describe('pattern matching', () => {
  const table: Array<[string[], string, boolean]> = [
    [['src/'], 'src/a.js', true],
    [['src/'], 'lib/src/a.js', true],
    [['/src/'], 'lib/src/a.js', false],
    [['src/'], 'srcs/a.js', false],
    [['*.css'], 'a.css', true],
    [['*.css'], 'deep/down/a.css', true],
    [['*.css', '!keep.css'], 'x/keep.css', false],
    [['public/**'], 'public/img/a.png', true],
    [['package.json'], 'package.json', true],
    [['package.json'], 'sub/package.json', true],
    [['/package.json'], 'sub/package.json', false],
    [['package*.json'], 'package-lock.json', true],
    [['requirements.txt'], 'requirements-dev.txt', false],
    [['*.py'], './a.py', false],
    [['*'], '', false],
  ];
  it.each(table)('%j matches %j: %s', (patterns, path, expected) => {
    expect(compilePatterns(patterns)!(path)).toBe(expected);
  });
  it('no patterns is no matcher', () => {
    expect(compilePatterns(undefined)).toBeNull();
    expect(compilePatterns([])).toBeNull();
  });
  it.each([
    [['*.css'], ['a.css', 'b/c.css'], true, true],
    [['*.css'], ['a.css', 'b.js'], false, true],
    [['*.css'], ['b.js'], false, false],
    [['*.css'], [], false, false],
  ])('%j over %j: all %s, some %s', (patterns, paths, all, some) => {
    const m = compilePatterns(patterns);
    expect(allMatch(m, paths)).toBe(all);
    expect(someMatch(m, paths)).toBe(some);
  });
  it('a null matcher matches nothing', () => {
    expect(allMatch(null, ['a'])).toBe(false);
    expect(someMatch(null, ['a'])).toBe(false);
  });
});

describe('decideBatch', () => {
  const base: BatchFacts = {
    paths: ['src/a.js'],
    batches: 1,
    specChanged: false,
    assembleChanged: false,
    hasRun: true,
    hasAssemble: false,
    appActive: true,
    assembleDirty: false,
    assembleOn: null,
    hotReload: null,
  };
  const css = compilePatterns(['*.css', 'public/']);
  const deps = compilePatterns(['package.json', 'package-lock.json']);
  const { NONE, RESTART, ASSEMBLE_AND_RESTART, NO_COMMAND } = BatchAction;
  const table: Array<[string, Partial<BatchFacts>, BatchAction]> = [
    ['no run command', { hasRun: false }, NO_COMMAND],
    ['no run command wins over everything', { hasRun: false, hasAssemble: true, assembleDirty: true }, NO_COMMAND],
    ['first start, no assemble', { appActive: false, paths: [] }, RESTART],
    ['first start with assemble: assemble even if assembleOn does not match', { appActive: false, paths: [], hasAssemble: true, assembleDirty: true, assembleOn: deps }, ASSEMBLE_AND_RESTART],
    ['verify-only commit while up', { paths: [] }, NONE],
    ['verify-only commit while down', { paths: [], appActive: false }, RESTART],
    ['a change restarts', {}, RESTART],
    ['all paths hot-reload', { paths: ['a.css', 'public/x.png'], hotReload: css }, NONE],
    ['some paths are not hot-reload', { paths: ['a.css', 'src/a.js'], hotReload: css }, RESTART],
    ['hot-reload paths start a down app', { paths: ['a.css'], hotReload: css, appActive: false }, RESTART],
    ['assemble without assembleOn runs on every change', { hasAssemble: true }, ASSEMBLE_AND_RESTART],
    ['assembleOn not touched: restart only', { hasAssemble: true, assembleOn: deps }, RESTART],
    ['assembleOn touched', { hasAssemble: true, assembleOn: deps, paths: ['src/a.js', 'package.json'] }, ASSEMBLE_AND_RESTART],
    ['last assemble failed: assemble again whatever changed', { hasAssemble: true, assembleOn: deps, assembleDirty: true }, ASSEMBLE_AND_RESTART],
    ['hot reload wins over a dirty assemble while up', { hasAssemble: true, assembleDirty: true, hotReload: css, paths: ['a.css'] }, NONE],
    ['assembleOn without an assemble command does nothing', { assembleOn: deps, paths: ['package.json'] }, RESTART],
    ['a spec change alone restarts an app that is up', { specChanged: true, batches: 0, paths: [] }, RESTART],
    ['a spec change restarts even when every path hot-reloads', { specChanged: true, paths: ['a.css'], hotReload: css }, RESTART],
    ['a spec change alone does not assemble just because assembleOn is absent', { specChanged: true, batches: 0, paths: [], hasAssemble: true }, RESTART],
    ['a changed assemble command assembles', { specChanged: true, assembleChanged: true, batches: 0, paths: [], hasAssemble: true, assembleOn: deps }, ASSEMBLE_AND_RESTART],
    ['a spec change folded with a batch that needs assemble assembles', { specChanged: true, paths: ['package.json'], hasAssemble: true, assembleOn: deps }, ASSEMBLE_AND_RESTART],
    ['a spec change folded with a batch, no assembleOn: assemble as for any batch', { specChanged: true, hasAssemble: true }, ASSEMBLE_AND_RESTART],
    ['a spec change after a failed assemble assembles', { specChanged: true, batches: 0, paths: [], hasAssemble: true, assembleDirty: true }, ASSEMBLE_AND_RESTART],
    ['a spec without run: no command', { specChanged: true, batches: 0, paths: [], hasRun: false }, NO_COMMAND],
  ];
  it.each(table)('%s', (_name, facts, action) => {
    expect(decideBatch({ ...base, ...facts }).action).toBe(action);
  });
  it('explains itself', () => {
    expect(decideBatch({ ...base, hasAssemble: true, assembleOn: deps, paths: ['package.json'] }).reason).toBe('package.json matches assembleOn');
    expect(decideBatch({ ...base, specChanged: true, batches: 0, paths: [] }).reason).toBe('the app spec changed');
    expect(decideBatch({ ...base, specChanged: true, assembleChanged: true, hasAssemble: true }).reason).toBe('the assemble command changed');
  });
});

describe('LogBacklog', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const text = (b: LogBacklog) => b.entries().map((e) => new TextDecoder().decode(e.data)).join('');

  it('keeps everything under the bounds, in order', () => {
    const b = new LogBacklog(10, 1_000);
    b.push({ stream: 'stdout', data: enc('a\n'), ts: 1 });
    b.push({ stream: 'stderr', data: enc('b\n'), ts: 2 });
    expect(b.entries().map((e) => [e.stream, e.ts])).toEqual([['stdout', 1], ['stderr', 2]]);
    expect(text(b)).toBe('a\nb\n');
  });
  it('drops the oldest chunks past the line bound', () => {
    const b = new LogBacklog(3, 1_000);
    for (let i = 0; i < 10; i++) b.push({ stream: 'stdout', data: enc(`${i}\n`), ts: i });
    expect(text(b)).toBe('7\n8\n9\n');
    expect(b.size.lines).toBe(3);
  });
  it('drops the oldest chunks past the byte bound', () => {
    const b = new LogBacklog(1_000, 10);
    for (let i = 0; i < 10; i++) b.push({ stream: 'stdout', data: enc(`line${i}\n`), ts: i });
    expect(text(b)).toBe('line9\n');
  });
  it('keeps the tail of one chunk larger than the byte bound', () => {
    const b = new LogBacklog(1_000, 4);
    b.push({ stream: 'stdout', data: enc('abcdefgh'), ts: 0 });
    expect(text(b)).toBe('efgh');
    expect(b.size.bytes).toBe(4);
  });
  it('stays bounded over many pushes', () => {
    const b = new LogBacklog(100, 1_000_000);
    for (let i = 0; i < 50_000; i++) b.push({ stream: 'stdout', data: enc(`${i}\n`), ts: i });
    expect(b.size.chunks).toBe(100);
    expect(text(b).split('\n')[0]).toBe('49900');
  });
});

describe('OutputTail', () => {
  it.each([
    [['a\nb\nc\n'], 2, 'b\nc'],
    [['a\nb', '\nc'], 2, 'b\nc'],
    [['one line'], 5, 'one line'],
    [['x\r\ny\r\n'], 5, 'x\ny'],
    [[], 5, ''],
  ])('%j, last %d lines', (chunks, lines, expected) => {
    const t = new OutputTail(lines, 1_000);
    for (const c of chunks) t.push(new TextEncoder().encode(c));
    expect(t.lines()).toBe(expected);
  });
  it('is bounded in characters', () => {
    const t = new OutputTail(20, 10);
    t.push('x'.repeat(1_000));
    expect(t.lines()).toBe('x'.repeat(10));
  });
});
