import { ErrorCode, SkiffError } from '@skiff/protocol';

/**
 * A command's options and positionals. Pure. skiff parses its own arguments
 * so that every mistake gets skiff's message, naming the command and its
 * help (`unknown option --frobnicate for 'skiff dev'; see 'skiff dev
 * --help'`), with SKIFF_E_USAGE.
 *
 * Accepted: `--name value`, `--name=value`, `--flag`, `-f` (short flags may
 * be grouped: `-fh`), `--` ending the options. The last of a repeated option
 * wins. A string option never takes a following word that starts with `-`
 * as its value (`--local-root --json` is a missing value, not a directory
 * named "--json"); `--local-root=-dir` says it on purpose.
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  default?: string | boolean;
  /** What the value is, for messages and help (e.g. DIR). */
  value?: string;
}
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export type OptionValues = Record<string, string | boolean | undefined>;

export interface ParsedArgs {
  values: OptionValues;
  positionals: string[];
}

export interface ArgsShape {
  /** The command as the user typed it, e.g. `skiff dev` or `skiff daemon`. */
  command: string;
  options: OptionSpecs;
  /** Most positionals accepted. */
  maxPositionals: number;
}

export function parseCommandArgs(args: readonly string[], shape: ArgsShape): ParsedArgs {
  const { command, options, maxPositionals } = shape;
  const usage = (message: string) => new SkiffError(ErrorCode.USAGE, `${message}; see '${command} --help'`);
  const values: OptionValues = {};
  for (const [name, spec] of Object.entries(options)) if (spec.default !== undefined) values[name] = spec.default;
  const positionals: string[] = [];

  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = Object.hasOwn(options, name) ? options[name] : undefined;
      if (spec === undefined) throw usage(`unknown option --${name} for '${command}'`);
      if (spec.type === 'boolean') {
        if (eq >= 0) throw usage(`option --${name} for '${command}' takes no value, got ${JSON.stringify(arg)}`);
        values[name] = true;
      } else if (eq >= 0) {
        values[name] = arg.slice(eq + 1);
      } else {
        const next = args[i + 1];
        if (next === undefined || (next.startsWith('-') && next !== '-')) {
          throw usage(`option --${name} for '${command}' needs a value (--${name} ${spec.value ?? 'VALUE'})`);
        }
        values[name] = next;
        i++;
      }
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') {
      // Only flags group; a short string option would need its value here too, and skiff has none.
      for (const letter of arg.slice(1)) {
        const entry = Object.entries(options).find(([, spec]) => spec.short === letter);
        if (entry === undefined) throw usage(`unknown option -${letter} for '${command}'`);
        const [name, spec] = entry;
        if (spec.type !== 'boolean') throw usage(`option -${letter} for '${command}' needs a value: write --${name} ${spec.value ?? 'VALUE'}`);
        values[name] = true;
      }
      continue;
    }
    positionals.push(arg);
  }

  if (positionals.length > maxPositionals) {
    const extra = positionals.slice(maxPositionals).map((p) => JSON.stringify(p)).join(' ');
    throw usage(
      maxPositionals === 0
        ? `'${command}' takes no arguments, got ${extra}`
        : `too many arguments for '${command}' (it takes at most ${maxPositionals}): unexpected ${extra}`,
    );
  }
  return { values, positionals };
}
