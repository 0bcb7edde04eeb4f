import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appConfigFromEnv } from '../src/supervisor/config.ts';
import { resolveCommands, shellQuote } from '../src/supervisor/commands.ts';
import { appEnvironment } from '../src/supervisor/active-spec.ts';

describe('appConfigFromEnv', () => {
  it('unset or empty SKIFF_APP is an empty config rooted at the sync root', () => {
    expect(appConfigFromEnv({}, '/r')).toEqual({ workdir: '/r' });
    expect(appConfigFromEnv({ SKIFF_APP: '  ' }, '/r')).toEqual({ workdir: '/r' });
  });
  it('reads every field', () => {
    const app = { run: 'node server.js', assemble: 'npm ci', assembleOn: ['package*.json'], hotReload: ['public/'], env: { PORT: '8080' } };
    expect(appConfigFromEnv({ SKIFF_APP: JSON.stringify(app) }, '/r')).toEqual({ ...app, workdir: '/r' });
  });
  it('null fields are absent', () => {
    expect(appConfigFromEnv({ SKIFF_APP: '{"run":null}' }, '/r')).toEqual({ workdir: '/r' });
  });
  it.each([
    ['{', /SKIFF_APP is not valid JSON/],
    ['[]', /SKIFF_APP must be a JSON object, got an array/],
    ['"run"', /SKIFF_APP must be a JSON object/],
    ['{"run":1}', /"run" must be a non-empty shell command line, got 1/],
    ['{"run":""}', /"run" must be a non-empty shell command line/],
    ['{"assemble":["npm ci"]}', /"assemble" must be a non-empty shell command line, got an array/],
    ['{"assembleOn":"package.json"}', /"assembleOn" must be an array of gitignore-style patterns, got "package.json"/],
    ['{"hotReload":["a",2]}', /"hotReload\[1\]" must be a non-empty pattern string, got 2/],
    ['{"env":[]}', /"env" must be an object of strings/],
    ['{"env":{"PORT":8080}}', /"env.PORT" must be a string, got 8080/],
    ['{"env":{"A=B":"x"}}', /"env" must be variable names without "=" or NUL/],
    ['{"workdir":"/x"}', /"workdir" must be absent \(not a known field; known fields: run, assemble, assembleOn, hotReload, env\), got "\/x"/],
  ])('%s is rejected', (text, message) => {
    expect(() => appConfigFromEnv({ SKIFF_APP: text }, '/r')).toThrowError(expect.objectContaining({ code: 'SKIFF_E_CONFIG', message: expect.stringMatching(message) }));
  });
});

describe('resolveCommands (S2I fallback)', () => {
  let dir: string;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('configured commands win; .s2i scripts fill the gaps; nothing is null', async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-s2i-'));
    expect(await resolveCommands({ workdir: dir })).toEqual({ run: null, assemble: null });
    await mkdir(join(dir, '.s2i', 'bin'), { recursive: true });
    await writeFile(join(dir, '.s2i/bin/run'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(join(dir, '.s2i/bin/assemble'), 'echo hi\n', { mode: 0o644 });
    const resolved = await resolveCommands({ workdir: dir });
    expect(resolved.run).toEqual({ command: `exec ${shellQuote(join(dir, '.s2i/bin/run'))}`, source: 's2i' });
    expect(resolved.assemble).toEqual({ command: `exec /bin/sh ${shellQuote(join(dir, '.s2i/bin/assemble'))}`, source: 's2i' });
    expect((await resolveCommands({ workdir: dir, run: 'node a.js' })).run).toEqual({ command: 'node a.js', source: 'config' });
  });

  it.each([
    ['plain', "'plain'"],
    ["it's", "'it'\\''s'"],
    ['a b $c', "'a b $c'"],
  ])('shellQuote(%j) = %s', (input, quoted) => {
    expect(shellQuote(input)).toBe(quoted);
  });
});

describe('appEnvironment', () => {
  it('adds the configured variables and withholds the agent token and config', () => {
    const env = appEnvironment({ PATH: '/bin', SKIFF_AGENT_TOKEN: 'secret', SKIFF_APP: '{}', PORT: '1' }, { PORT: '2', MODE: 'dev' });
    expect(env).toEqual({ PATH: '/bin', PORT: '2', MODE: 'dev' });
  });
});
