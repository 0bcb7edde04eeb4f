import type { CliResult } from './run-cli.ts';

/** The JSON a command ends with: `{ok, ...}` or `{ok: false, error}`. */
export interface CliOutcome {
  ok: boolean;
  error?: { code: string; message: string };
  [key: string]: unknown;
}

/**
 * The last line of stdout as JSON: the result or error of a --json command,
 * also of one that printed events before it (`skiff dev --json`).
 */
export function lastJsonOf(r: CliResult): CliOutcome {
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as CliOutcome;
  } catch {
    throw new Error(`no JSON on the last line (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}
