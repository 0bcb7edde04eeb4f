import { readFileSync } from 'node:fs';
import type { AppStatusHeader, LogStream } from '@skiff/protocol';
import type { AppEvents } from '../src/hooks.ts';

export interface RecordedLog {
  stream: LogStream;
  text: string;
  ts: number;
}

/**
 * Subscribes to a supervisor and records every status and log chunk, so tests
 * can wait for a condition on what happened (with a deadline) instead of
 * sleeping.
 */
export class EventRecorder implements AppEvents {
  readonly statuses: AppStatusHeader[] = [];
  readonly logs: RecordedLog[] = [];
  private waiters: Array<() => void> = [];

  status(status: AppStatusHeader): void {
    this.statuses.push(status);
    this.wake();
  }

  log(stream: LogStream, data: Uint8Array, ts: number): void {
    this.logs.push({ stream, text: new TextDecoder().decode(data), ts });
    this.wake();
  }

  get last(): AppStatusHeader | undefined {
    return this.statuses[this.statuses.length - 1];
  }

  text(stream?: LogStream): string {
    return this.logs.filter((l) => stream === undefined || l.stream === stream).map((l) => l.text).join('');
  }

  /** Resolves with the predicate's first truthy value; rejects after `ms` with what was recorded. */
  until<T>(what: string, predicate: () => T | undefined | null | false, ms = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const value = predicate();
        if (value === undefined || value === null || value === false) return false;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== onEvent);
        resolve(value);
        return true;
      };
      const onEvent = (): void => {
        check();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== onEvent);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; statuses: ${JSON.stringify(this.statuses.map((s) => [s.state, s.pid, s.message]))}\nlogs:\n${this.text()}`));
      }, ms);
      if (!check()) this.waiters.push(onEvent);
    });
  }

  /** The n-th (1-based) status in `state`, once it exists. */
  nth(state: AppStatusHeader['state'], n: number, ms?: number): Promise<AppStatusHeader> {
    return this.until(`status #${n} "${state}"`, () => this.statuses.filter((s) => s.state === state)[n - 1], ms);
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** A sink for write-through output. */
export class Collect {
  chunks: string[] = [];
  write(chunk: Uint8Array | string): boolean {
    this.chunks.push(typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk));
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

/** True while `pid` runs (a zombie has finished running: not alive). */
export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
