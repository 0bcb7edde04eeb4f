import { readFileSync } from 'node:fs';

/** This process's peak resident set so far (VmHWM), in MiB. */
export function peakMiB(): number {
  return Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? Number.NaN) / 1024;
}

/** Runs a bench child's main: its one JSON line on stdout, or its stack on stderr and exit status 1. */
export function runChild(main: () => Promise<Record<string, unknown>>): void {
  main().then(
    (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
