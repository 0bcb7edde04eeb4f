import { Kind, LogStream, MAX_CHUNK_BYTES, encodeFrame, type AppStatusHeader } from '@skiff/protocol';
import type { AppEvents } from '../hooks.ts';

/** Unsent bytes on the connection past which app output is dropped (and counted) rather than queued. */
export const LOG_BACKLOG_BYTES = 8 * 1024 * 1024;

export interface Outlet {
  send(frame: Uint8Array): void;
  /** Bytes queued on the connection, not yet written to the socket. */
  backlog(): number;
}

const encoder = new TextEncoder();

/**
 * Turns the supervisor's app status and output into frames for the connected
 * daemon. A daemon that stops reading must not make the agent buffer an app's
 * output without bound: past LOG_BACKLOG_BYTES of unsent data, log chunks are
 * dropped and counted, and one system line says so once the daemon catches up.
 * Status frames are small and always sent. Nothing thrown here reaches the
 * supervisor that called.
 */
export function appEventsTo(out: Outlet, log: (line: string) => void): AppEvents {
  let dropped = 0;
  const guarded =
    <A extends unknown[]>(what: string, fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch (err) {
        log(`could not forward ${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
  const sendLog = (stream: LogStream, data: Uint8Array, ts: number) => {
    for (let at = 0; at < data.length; at += MAX_CHUNK_BYTES) {
      out.send(encodeFrame(Kind.LOG, { stream, ts }, data.subarray(at, at + MAX_CHUNK_BYTES)));
    }
  };
  return {
    status: guarded('app status', (status: AppStatusHeader) => out.send(encodeFrame(Kind.APP_STATUS, status))),
    log: guarded('app output', (stream: LogStream, data: Uint8Array, ts: number) => {
      if (out.backlog() > LOG_BACKLOG_BYTES) {
        dropped += data.length;
        return;
      }
      if (dropped > 0) {
        const note = `skiff-agent: dropped ${dropped} bytes of app output while the daemon was not reading\n`;
        dropped = 0;
        sendLog(LogStream.SYSTEM, encoder.encode(note), Date.now());
      }
      sendLog(stream, data, ts);
    }),
  };
}
