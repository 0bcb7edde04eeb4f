import { LogStream, type AppStatusHeader } from '@skiff/protocol';
import type { AppEvents } from '../hooks.ts';
import { LogBacklog } from './backlog.ts';
import { LOG_BACKLOG_BYTES, LOG_BACKLOG_LINES } from './constants.ts';

/** Anything with a write(): the agent's own stdout/stderr by default. */
export interface OutputSink {
  write(chunk: Uint8Array | string): unknown;
}

/** Prefix of the supervisor's own lines on the agent's stderr. */
const SYSTEM_PREFIX = 'skiff-agent: ';

/**
 * What the supervisor publishes: the app's status and output, and its own
 * lines. Output is written through to the agent's own stdout/stderr (so
 * `docker logs` shows it), kept in a bounded backlog, and sent to every
 * subscriber; a new subscriber gets the current status and the backlog first.
 */
export class AppFeed {
  private readonly subscribers = new Set<AppEvents>();
  private readonly backlog = new LogBacklog(LOG_BACKLOG_LINES, LOG_BACKLOG_BYTES);

  constructor(
    private current: AppStatusHeader,
    private readonly stdout: OutputSink,
    private readonly stderr: OutputSink,
    private readonly now: () => number,
  ) {}

  /** The current status (a copy). */
  get status(): AppStatusHeader {
    return { ...this.current };
  }

  subscribe(events: AppEvents): () => void {
    deliver(() => events.status(this.status));
    for (const entry of this.backlog.entries()) deliver(() => events.log(entry.stream, entry.data, entry.ts));
    this.subscribers.add(events);
    return () => {
      this.subscribers.delete(events);
    };
  }

  setStatus(status: AppStatusHeader): void {
    this.current = status;
    for (const events of this.subscribers) deliver(() => events.status({ ...status }));
  }

  /** App or assemble output: written through to the agent's own stream, kept, published. */
  output(stream: typeof LogStream.STDOUT | typeof LogStream.STDERR, chunk: Buffer): void {
    (stream === LogStream.STDOUT ? this.stdout : this.stderr).write(chunk);
    this.publish(stream, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }

  /** A line about what the supervisor does, on the agent's stderr and to subscribers. */
  system(text: string): void {
    const line = Buffer.from(`${SYSTEM_PREFIX}${text}\n`);
    this.stderr.write(line);
    this.publish(LogStream.SYSTEM, new Uint8Array(line.buffer, line.byteOffset, line.byteLength));
  }

  private publish(stream: LogStream, data: Uint8Array): void {
    const ts = this.now();
    this.backlog.push({ stream, data, ts });
    for (const events of this.subscribers) deliver(() => events.log(stream, data, ts));
  }
}

/** Calls a subscriber; one that throws must not stop the others or the supervisor. */
function deliver(call: () => void): void {
  try {
    call();
  } catch {
    // The subscriber's own failure is its to report; the app is unaffected.
  }
}
