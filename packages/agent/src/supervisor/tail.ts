/**
 * The last lines of a command's combined output, for an error message. Pure.
 * Decoding is per chunk: a multi-byte character split across two chunks shows
 * as a replacement character, which is acceptable in a diagnostic.
 */
export class OutputTail {
  private text = '';

  constructor(
    private readonly maxLines: number,
    private readonly maxChars: number,
  ) {}

  push(chunk: Uint8Array | string): void {
    this.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
    // Keep a little more than needed so the line cut below sees whole lines.
    if (this.text.length > this.maxChars * 2) this.text = this.text.slice(-this.maxChars * 2);
  }

  /** The last `maxLines` lines (at most `maxChars` characters), without a trailing newline. */
  lines(): string {
    let lines = this.text.replace(/\r?\n$/, '').split(/\r?\n/);
    if (lines.length > this.maxLines) lines = lines.slice(-this.maxLines);
    let out = lines.join('\n');
    if (out.length > this.maxChars) out = out.slice(-this.maxChars);
    return out;
  }
}
