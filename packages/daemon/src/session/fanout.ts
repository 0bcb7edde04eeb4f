import { SessionEvent, type AppLog, type EventPayloads, type Listener } from './events.ts';

/** Log lines a late subscriber can replay. */
export const LOG_BACKLOG_LINES = 1000;

/**
 * Fans a session's events out to every attached terminal. Listeners must not
 * block (the control server's emit only queues); one that throws is dropped,
 * so a broken client never stops the others. App log lines are kept in a
 * bounded backlog so a terminal that attaches late sees the recent output.
 */
export class Fanout {
  private listeners = new Set<Listener>();
  private backlog: AppLog[] = [];
  private latest = new Map<SessionEvent, unknown>();

  subscribe(listener: Listener, opts: { replayLogs?: boolean } = {}): () => void {
    // Current state first, so the view starts complete, then recent logs.
    for (const [event, data] of this.latest) listener(event, data as never);
    if (opts.replayLogs) for (const line of this.backlog) listener(SessionEvent.APP_LOG, line);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit<E extends SessionEvent>(event: E, data: EventPayloads[E]): void {
    if (event === SessionEvent.APP_LOG) {
      this.backlog.push(data as AppLog);
      if (this.backlog.length > LOG_BACKLOG_LINES) this.backlog.splice(0, this.backlog.length - LOG_BACKLOG_LINES);
    } else if (event === SessionEvent.STATE || event === SessionEvent.AGENT || event === SessionEvent.APP_STATUS) {
      this.latest.set(event, data);
    }
    for (const listener of this.listeners) {
      try {
        listener(event, data);
      } catch {
        this.listeners.delete(listener);
      }
    }
  }

  /** Last value of a state-like event (agent state, app status). */
  last<E extends SessionEvent>(event: E): EventPayloads[E] | undefined {
    return this.latest.get(event) as EventPayloads[E] | undefined;
  }

  recentLogs(limit = LOG_BACKLOG_LINES): AppLog[] {
    return this.backlog.slice(-limit);
  }

  get size(): number {
    return this.listeners.size;
  }
}
