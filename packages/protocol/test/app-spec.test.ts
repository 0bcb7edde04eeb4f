import { describe, expect, it } from 'vitest';
import {
  AGENT_SHUTDOWN_DEADLINE_MS,
  AGENT_STOP_GRACE_MS,
  APP_KILL_WAIT_MS,
  APP_STOP_GRACE_MS,
} from '../src/agent-stop.ts';
import { appSpecEquals, appSpecProblem, normaliseAppSpec, type AppSpec } from '../src/app-spec.ts';
import { decodeFrames, encodeFrame } from '../src/codec.ts';
import { FRAME_PREFIX_BYTES } from '../src/limits.ts';
import { KIND_NAMES, Kind } from '../src/messages.ts';

const enc = new TextEncoder();

/** An APP_SPEC frame built by hand, header unchecked, as a hostile or buggy peer would send it. */
function rawSpecFrame(header: unknown): Uint8Array {
  const head = enc.encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(FRAME_PREFIX_BYTES + head.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, Kind.APP_SPEC);
  view.setUint32(1, head.length);
  view.setUint32(5, 0);
  out.set(head, FRAME_PREFIX_BYTES);
  return out;
}

const FULL: AppSpec = {
  run: 'node server.js',
  assemble: 'npm ci',
  assembleOn: ['package.json', 'package-lock.json'],
  hotReload: ['public/', '*.css'],
  env: { PORT: '8080', NODE_ENV: 'development' },
};

describe('APP_SPEC frames', () => {
  it('is kind 14, named APP_SPEC', () => {
    expect(Kind.APP_SPEC).toBe(14);
    expect(KIND_NAMES[14]).toBe('APP_SPEC');
  });

  it.each([
    ['every field', FULL],
    ['nothing: no spec at all (S2I scripts or nothing)', {}],
    ['run alone', { run: 'exec ./serve' }],
    ['null for a cleared field', { run: 'node a.js', assemble: null }],
    ['empty lists and maps', { run: 'x', assembleOn: [], hotReload: [], env: {} }],
  ])('decodes %s', (_name, header) => {
    const [frame] = decodeFrames(rawSpecFrame(header));
    expect(frame.kind).toBe(Kind.APP_SPEC);
    expect(frame.header).toEqual(header);
  });

  it('round-trips through encodeFrame', () => {
    const [frame] = decodeFrames(encodeFrame(Kind.APP_SPEC, FULL));
    expect(frame).toMatchObject({ kind: Kind.APP_SPEC, header: FULL });
  });

  it.each([
    ['not an object', '[]', 'header is not a JSON object'],
    ['an unknown field', { run: 'x', workdir: '/etc' }, '"workdir": it must be absent (not a known field'],
    ['a run that is not a string', { run: 42 }, '"run": it must be a non-empty shell command line'],
    ['an empty run', { run: '  ' }, '"run": it must be a non-empty shell command line'],
    ['an assemble list', { assemble: ['npm', 'ci'] }, '"assemble": it must be a non-empty shell command line'],
    ['patterns that are not a list', { hotReload: 'public/' }, '"hotReload": it must be an array of gitignore-style patterns'],
    ['an empty pattern', { assembleOn: ['package.json', ''] }, '"assembleOn[1]": it must be a non-empty pattern string'],
    ['env as a list', { env: ['A=1'] }, '"env": it must be an object of strings'],
    ['an env value that is not a string', { env: { PORT: 8080 } }, '"env.PORT": it must be a string'],
    ['an env name with "="', { env: { 'A=B': 'x' } }, '"env": it must be variable names without "=" or NUL'],
    ['an env value with NUL', { env: { A: 'x\u0000y' } }, '"env.A": it must be a string without NUL'],
  ])('refuses %s with SKIFF_E_FRAME_MALFORMED', (_name, header, message) => {
    expect(() => decodeFrames(rawSpecFrame(header))).toThrowError(
      expect.objectContaining({ code: 'SKIFF_E_FRAME_MALFORMED', message: expect.stringContaining(message) }),
    );
  });
});

describe('appSpecProblem', () => {
  it('names the field, what it must be and what it was', () => {
    expect(appSpecProblem({ env: { PORT: 8080 } })).toEqual({ field: 'env.PORT', expected: 'a string', value: 8080 });
    expect(appSpecProblem('run')).toEqual({ field: '', expected: 'a JSON object', value: 'run' });
    expect(appSpecProblem(FULL)).toBeNull();
  });
});

describe('appSpecEquals', () => {
  it.each([
    ['the same spec', FULL, { ...FULL }, true],
    ['env in another order', { env: { A: '1', B: '2' } }, { env: { B: '2', A: '1' } }, true],
    ['an empty list and none', { run: 'x', hotReload: [] }, { run: 'x' }, true],
    ['an empty env and none', { run: 'x', env: {} }, { run: 'x' }, true],
    ['nothing and nothing', {}, {}, true],
    ['another run', { run: 'node a.js' }, { run: 'node b.js' }, false],
    ['run added', {}, { run: 'node a.js' }, false],
    ['assemble removed', { run: 'x', assemble: 'make' }, { run: 'x' }, false],
    ['patterns in another order', { hotReload: ['a', 'b'] }, { hotReload: ['b', 'a'] }, false],
    ['an env value changed', { env: { A: '1' } }, { env: { A: '2' } }, false],
    ['an env variable added', { env: { A: '1' } }, { env: { A: '1', B: '' } }, false],
  ] as Array<[string, AppSpec, AppSpec, boolean]>)('%s', (_name, a, b, equal) => {
    expect(appSpecEquals(a, b)).toBe(equal);
    expect(appSpecEquals(b, a)).toBe(equal);
  });

  it('normalises away nulls and empty collections, keeping the rest', () => {
    expect(normaliseAppSpec({ run: 'x', assemble: null, env: {}, hotReload: ['a'] })).toEqual({ run: 'x', hotReload: ['a'] });
  });
});

describe('stop bounds', () => {
  it('the daemon waits longer for its agent than the agent may take to stop its app and itself', () => {
    expect(AGENT_SHUTDOWN_DEADLINE_MS).toBeGreaterThanOrEqual(APP_STOP_GRACE_MS + 2 * APP_KILL_WAIT_MS);
    expect(AGENT_STOP_GRACE_MS).toBeGreaterThan(AGENT_SHUTDOWN_DEADLINE_MS);
  });
});
