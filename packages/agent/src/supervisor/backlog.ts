import type { LogStream } from '@skiff/protocol';

/** One chunk of output as published: the bytes as printed, not split into lines. */
export interface LogEntry {
  stream: LogStream;
  data: Uint8Array;
  ts: number;
}

const NEWLINE = 0x0a;

/** Lines a chunk accounts for: its newlines, and at least 1 so that a stream of partial lines is bounded too. */
function linesIn(data: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === NEWLINE) n++;
  return Math.max(1, n);
}

/**
 * The most recent output, bounded by lines and by bytes. Pure data structure.
 *
 * Chunks are kept whole (they are replayed as they were published), so the
 * bound is approximate by up to one chunk's lines; the byte bound is exact:
 * a single chunk larger than it keeps only its tail.
 */
export class LogBacklog {
  private readonly items: Array<LogEntry & { lines: number }> = [];
  private head = 0;
  private lines = 0;
  private bytes = 0;

  constructor(
    private readonly maxLines: number,
    private readonly maxBytes: number,
  ) {}

  push(entry: LogEntry): void {
    let data = entry.data;
    if (data.byteLength > this.maxBytes) data = data.subarray(data.byteLength - this.maxBytes);
    const lines = linesIn(data);
    this.items.push({ stream: entry.stream, data, ts: entry.ts, lines });
    this.lines += lines;
    this.bytes += data.byteLength;
    while (this.head < this.items.length - 1 && (this.lines > this.maxLines || this.bytes > this.maxBytes)) {
      const dropped = this.items[this.head++];
      this.lines -= dropped.lines;
      this.bytes -= dropped.data.byteLength;
    }
    // Compact now and then instead of shifting on every push (O(1) amortised).
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }

  entries(): LogEntry[] {
    return this.items.slice(this.head).map(({ stream, data, ts }) => ({ stream, data, ts }));
  }

  get size(): { lines: number; bytes: number; chunks: number } {
    return { lines: this.lines, bytes: this.bytes, chunks: this.items.length - this.head };
  }
}
