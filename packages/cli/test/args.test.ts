import { ErrorCode } from '@skiff/protocol';
import { describe, expect, it } from 'vitest';
import { parseCommandArgs, type ArgsShape } from '../src/args.ts';

const dev: ArgsShape = {
  command: 'skiff dev',
  maxPositionals: 1,
  options: {
    target: { type: 'string', value: 'TARGET' },
    'local-root': { type: 'string', value: 'DIR' },
    poll: { type: 'boolean', default: false },
    follow: { type: 'boolean', short: 'f', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
};
const sessions: ArgsShape = { command: 'skiff sessions', maxPositionals: 0, options: { json: { type: 'boolean', default: false } } };

describe('parseCommandArgs', () => {
  const accepted: Array<[string, ArgsShape, string[], Record<string, unknown>, string[]]> = [
    ['defaults', dev, [], { poll: false, follow: false, help: false }, []],
    ['a positional', dev, ['proj'], {}, ['proj']],
    ['--name value', dev, ['--local-root', '/r', 'proj'], { 'local-root': '/r' }, ['proj']],
    ['--name=value', dev, ['--local-root=/r'], { 'local-root': '/r' }, []],
    ['--name=value starting with a dash', dev, ['--local-root=-odd'], { 'local-root': '-odd' }, []],
    ['an empty value with =', dev, ['--target='], { target: '' }, []],
    ['a boolean', dev, ['--poll'], { poll: true }, []],
    ['a short flag', dev, ['-f'], { follow: true }, []],
    ['grouped short flags', dev, ['-fh'], { follow: true, help: true }, []],
    ['the last repeat wins', dev, ['--target', 'a', '--target', 'b'], { target: 'b' }, []],
    ['"-" is a positional', dev, ['-'], {}, ['-']],
    ['"--" ends the options', dev, ['--', '--poll'], { poll: false }, ['--poll']],
    ['a value "-" is taken', dev, ['--local-root', '-'], { 'local-root': '-' }, []],
  ];
  it.each(accepted)('accepts %s', (_name, shape, args, values, positionals) => {
    const parsed = parseCommandArgs(args, shape);
    expect(parsed.values).toMatchObject(values);
    expect(parsed.positionals).toEqual(positionals);
  });

  const refused: Array<[string, ArgsShape, string[], string]> = [
    ['an unknown long option', dev, ['--frobnicate'], "unknown option --frobnicate for 'skiff dev'; see 'skiff dev --help'"],
    ['an unknown option with a value', dev, ['--frobnicate=1'], "unknown option --frobnicate for 'skiff dev'; see 'skiff dev --help'"],
    ['an unknown short option', dev, ['-x'], "unknown option -x for 'skiff dev'; see 'skiff dev --help'"],
    ['an unknown letter in a group', dev, ['-fx'], "unknown option -x for 'skiff dev'; see 'skiff dev --help'"],
    ['a missing value at the end', dev, ['--local-root'], "option --local-root for 'skiff dev' needs a value (--local-root DIR); see 'skiff dev --help'"],
    ['a missing value before an option', dev, ['--target', '--poll'], "option --target for 'skiff dev' needs a value (--target TARGET); see 'skiff dev --help'"],
    ['a value given to a flag', dev, ['--poll=yes'], `option --poll for 'skiff dev' takes no value, got "--poll=yes"; see 'skiff dev --help'`],
    ['too many positionals', dev, ['a', 'b', 'c'], `too many arguments for 'skiff dev' (it takes at most 1): unexpected "b" "c"; see 'skiff dev --help'`],
    ['a positional where none is taken', sessions, ['x'], `'skiff sessions' takes no arguments, got "x"; see 'skiff sessions --help'`],
    ['a prototype name', dev, ['--constructor'], "unknown option --constructor for 'skiff dev'; see 'skiff dev --help'"],
  ];
  it.each(refused)('refuses %s with SKIFF_E_USAGE and its own message', (_name, shape, args, message) => {
    let caught: unknown;
    try {
      parseCommandArgs(args, shape);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: ErrorCode.USAGE, message });
  });
});
