import { injected, type KubeStatusError } from './status.ts';
import type { StatusReason } from './vocabulary.ts';

/**
 * Injected API failures and the request log. A test arms a fault for the
 * next requests that match (method, path prefix, watch or not), and the
 * server answers them with the Status the test chose before doing anything
 * else, e.g. a 410 Gone for the next watch of pods, or a 500 for the next
 * apply of a Deployment. Every request is logged (method, path, query,
 * answer), so that a test can assert what a client actually did.
 */

export interface FaultRule {
  method?: string;
  /** Matches when the URL path starts with this. */
  pathPrefix?: string;
  /** Only watch requests (true), only non-watch requests (false), or both (undefined). */
  watch?: boolean;
  code: number;
  reason: StatusReason;
  message: string;
  /** How many requests it answers before it disarms; default 1. */
  times?: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string;
  code: number;
}

export class Faults {
  private readonly rules: (FaultRule & { left: number })[] = [];
  readonly log: LoggedRequest[] = [];

  arm(rule: FaultRule): void {
    this.rules.push({ ...rule, left: rule.times ?? 1 });
  }

  clear(): void {
    this.rules.length = 0;
  }

  /** The injected error for this request, if an armed rule matches (and is used up by it). */
  take(method: string, path: string, isWatch: boolean): KubeStatusError | undefined {
    const i = this.rules.findIndex(
      (r) =>
        (r.method === undefined || r.method.toUpperCase() === method) &&
        (r.pathPrefix === undefined || path.startsWith(r.pathPrefix)) &&
        (r.watch === undefined || r.watch === isWatch),
    );
    if (i < 0) return undefined;
    const rule = this.rules[i];
    rule.left -= 1;
    if (rule.left <= 0) this.rules.splice(i, 1);
    return injected(rule.code, rule.reason, rule.message);
  }
}
