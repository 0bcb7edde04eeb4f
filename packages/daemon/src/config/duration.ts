import { ErrorCode, SkiffError } from '@skiff/protocol';

/**
 * Go's time.ParseDuration grammar: an optional sign, then one or more
 * decimal numbers each with a unit, e.g. "300ms", "1.5h", "2h45m", "-1.5µs".
 * Valid units: ns, us (or µs / μs), ms, s, m, h. "0" alone is valid. Pure.
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign
  'μs': 1e-3, // U+03BC Greek small mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const TERM = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Milliseconds in a Go duration string, or null when it does not parse. */
export function parseGoDuration(text: string): number | null {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return null;
  let total = 0;
  while (rest.length > 0) {
    const m = TERM.exec(rest);
    if (!m) return null;
    total += parseFloat(m[1]) * UNIT_MS[m[2]];
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

/** Variables read for the push timeout, first set wins. */
export const PUSH_TIMEOUT_VARS = ['SKIFF_PUSH_TIMEOUT', 'CF_STARTUP_TIMEOUT', 'KF_STARTUP_TIMEOUT'] as const;
/** Default bound on a whole push: 15 minutes. */
export const DEFAULT_PUSH_TIMEOUT_MS = 15 * 60_000;

/**
 * The push timeout from the environment. A set but invalid (or non-positive)
 * value is an error that names the variable and shows valid examples.
 */
export function pushTimeoutFromEnv(env: Record<string, string | undefined>): { ms: number; source: string } {
  for (const name of PUSH_TIMEOUT_VARS) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const ms = parseGoDuration(value.trim());
    if (ms === null || ms <= 0) {
      throw new SkiffError(
        ErrorCode.DURATION,
        `${name}=${JSON.stringify(value)} is not a valid duration; use Go duration syntax such as ${name}=90s, 15m, 1h30m or 1.5h`,
      );
    }
    return { ms, source: name };
  }
  return { ms: DEFAULT_PUSH_TIMEOUT_MS, source: 'default' };
}
