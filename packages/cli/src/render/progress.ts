import type { BatchProgress } from '@skiff/daemon';
import type { Output } from '../output.ts';
import { formatBytes } from './format.ts';
import type { Style } from './style.ts';

/**
 * Sync progress: a bar redrawn in place on a terminal (files, bytes, rate,
 * ETA), plain lines at a slower pace otherwise so logs stay readable.
 */
export const TTY_REDRAW_MS = 100;
export const PLAIN_LINE_MS = 2000;
const BAR_WIDTH = 24;

export interface Progress {
  update(p: BatchProgress): void;
  done(): void;
}

/** One progress line. Pure. */
export function progressLine(p: BatchProgress, elapsedMs: number, style: Style): string {
  const frac = p.totalBytes > 0 ? p.bytes / p.totalBytes : p.totalFiles > 0 ? p.files / p.totalFiles : 1;
  const filled = Math.round(frac * BAR_WIDTH);
  const rate = elapsedMs > 0 ? (p.bytes / elapsedMs) * 1000 : 0;
  const eta = rate > 0 ? (p.totalBytes - p.bytes) / rate : 0;
  const bar = style.cyan('█'.repeat(filled)) + style.dim('░'.repeat(BAR_WIDTH - filled));
  return `${bar} ${p.files}/${p.totalFiles} files ${formatBytes(p.bytes)}/${formatBytes(p.totalBytes)} ${formatBytes(rate)}/s ETA ${eta.toFixed(1)}s`;
}

export function createProgress(stream: Output, style: Style): Progress {
  const start = performance.now();
  let last = 0;
  let drawn = false;
  const tty = stream.isTTY;
  return {
    update(p) {
      const now = performance.now();
      const finished = p.files === p.totalFiles;
      if (!finished && now - last < (tty ? TTY_REDRAW_MS : PLAIN_LINE_MS)) return;
      if (!finished && now - start < (tty ? TTY_REDRAW_MS : PLAIN_LINE_MS)) return; // quick syncs print no progress
      last = now;
      const line = progressLine(p, now - start, style);
      if (tty) {
        stream.write(`\r\x1b[2K${line}`);
        drawn = true;
      } else if (!finished) stream.write(`${line}\n`);
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
