import { describe, expect, it } from 'vitest';
import { ErrorCode, TOKEN_ENV } from '@skiff/protocol';
import { DEFAULT_PORT, DEFAULT_ROOT, parseArgs, resolveToken } from '../src/cli-args.ts';
import { DEFAULT_HOST } from '../src/server/defaults.ts';

const defaults = { kind: 'run', root: DEFAULT_ROOT, host: DEFAULT_HOST, port: DEFAULT_PORT };

describe('parseArgs', () => {
  const good: Array<[string[], object]> = [
    [[], defaults],
    [['--root', '/srv/app'], { ...defaults, root: '/srv/app' }],
    [['--root=/srv/app'], { ...defaults, root: '/srv/app' }],
    [['--host', '0.0.0.0', '--port', '7070'], { ...defaults, host: '0.0.0.0', port: 7070 }],
    [['--port=0'], defaults],
    [['--port', '65535'], { ...defaults, port: 65535 }],
    [['--token-file', '/run/secrets/token'], { ...defaults, tokenFile: '/run/secrets/token' }],
    [['--help'], { kind: 'help' }],
    [['--port', '1', '-h'], { kind: 'help' }],
    [['copy-to', '/mnt/skiff-agent'], { kind: 'copy-to', dir: '/mnt/skiff-agent' }],
    [['copy-to', '--help'], { kind: 'help' }],
  ];
  it.each(good)('parses %j', (argv, expected) => {
    expect(parseArgs(argv)).toEqual(expected);
  });

  const bad: Array<[string[], RegExp]> = [
    [['--bogus'], /unknown argument/],
    [['positional'], /unknown argument/],
    [['--root'], /--root needs a value/],
    [['--root='], /--root needs a value/],
    [['--port', 'http'], /--port must be/],
    [['--port', '65536'], /--port must be/],
    [['--port', '-1'], /--port must be/],
    [['--port', '1.5'], /--port must be/],
    [['--root', 'a', '--root', 'b'], /given twice/],
    [['--token', 'secret'], /unknown argument/],
    [['copy-to'], /copy-to needs a directory/],
    [['copy-to', ''], /copy-to needs a directory/],
    [['copy-to', '/a', '/b'], /copy-to takes one directory/],
    [['--root', '/a', 'copy-to', '/b'], /unknown argument/],
  ];
  it.each(bad)('refuses %j with SKIFF_E_USAGE', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
    try {
      parseArgs(argv);
    } catch (err) {
      expect((err as { code: string }).code).toBe(ErrorCode.USAGE);
    }
  });
});

describe('resolveToken', () => {
  const noFile = (): string => {
    throw new Error('ENOENT: no such file');
  };

  it('prefers the environment over the file', () => {
    expect(resolveToken('/f', { [TOKEN_ENV]: 'from-env\n' }, () => 'from-file')).toBe('from-env');
  });

  it('reads the first line of the token file', () => {
    expect(resolveToken('/f', {}, () => 'abc123\nignored\n')).toBe('abc123');
  });

  it('fails with SKIFF_E_AUTH when there is no token, without echoing anything secret', () => {
    expect(() => resolveToken(undefined, {}, noFile)).toThrow(expect.objectContaining({ code: ErrorCode.AUTH }));
    expect(() => resolveToken('/missing', {}, noFile)).toThrow(/cannot read the token file \/missing/);
    expect(() => resolveToken('/empty', {}, () => '\n')).toThrow(/is empty/);
    expect(() => resolveToken(undefined, { [TOKEN_ENV]: '' }, noFile)).toThrow(expect.objectContaining({ code: ErrorCode.AUTH }));
  });
});
