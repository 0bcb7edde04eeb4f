/**
 * The CLI's stdout and stderr, safe to write into a pipe whose reader went
 * away (`skiff logs -f | head -1`): the first failed write (EPIPE) marks the
 * stream closed, later writes are dropped, and `closed` settles so that a
 * command that follows a session (dev, logs -f) detaches instead of writing
 * into the void. Without this, Node reports the EPIPE as an unhandled
 * 'error' event: a stack trace and exit 1 for a user who only piped to head.
 */
export interface Output {
  write(text: string): void;
  readonly isTTY: boolean;
  readonly columns?: number;
}

export interface Outputs {
  stdout: Output;
  stderr: Output;
  /** Settles when either stream can no longer be written (its reader is gone). */
  closed: Promise<void>;
}

type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export function guardOutputs(stdout: Stream, stderr: Stream): Outputs {
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  return { stdout: guard(stdout, markClosed), stderr: guard(stderr, markClosed), closed };
}

function guard(stream: Stream, onClosed: () => void): Output {
  let open = true;
  // Any write error means nothing more can be said on this stream; EPIPE is the usual one.
  stream.on('error', () => {
    open = false;
    onClosed();
  });
  return {
    write(text) {
      if (open) stream.write(text);
    },
    get isTTY() {
      return stream.isTTY === true;
    },
    get columns() {
      return stream.columns;
    },
  };
}
