import type { AppStatusHeader, Problem } from '@skiff/protocol';
import { formatBytes, formatDuration, plural } from './format.ts';
import type { Style } from './style.ts';

/**
 * One line per session event for a terminal (`skiff dev`, `skiff logs -f`).
 * Pure: returns the text, or null for events not worth a line (progress is
 * drawn by the progress bar). Kept in step with the daemon's SessionEvent names.
 */
export function renderEvent(event: string, data: unknown, s: Style): string | null {
  const d = data as Record<string, unknown>;
  switch (event) {
    case 'sync.started':
      return d.reason === 'watch' ? null : s.dim(`⟳ ${d.reason} sync: checking ${plural(Number(d.paths), 'path')}`);
    case 'sync.finished': {
      const f = d as { uploaded: number; deleted: number; bytes: number; durationMs: number; inSync: boolean; reason: string };
      if (f.uploaded === 0 && f.deleted === 0) return f.reason === 'watch' ? null : `${s.green('✓')} in sync ${s.dim(`(${formatDuration(f.durationMs)})`)}`;
      const parts = [f.uploaded ? `${plural(f.uploaded, 'file')} (${formatBytes(f.bytes)})` : '', f.deleted ? `${plural(f.deleted, 'delete')}` : ''].filter(Boolean);
      return `${s.green('✓')} synced ${parts.join(', ')} in ${formatDuration(f.durationMs)}${f.inSync ? '' : s.yellow(' (not yet in sync)')}`;
    }
    case 'sync.failed':
      return `${s.red('✗')} sync failed: ${String(d.message)} [${String(d.code)}]`;
    case 'sync.problem': {
      const p = d as unknown as Problem;
      return `${s.yellow('!')} ${p.path ? `${p.path}: ` : ''}${p.message} [${p.code}]`;
    }
    case 'agent.state':
      return renderAgent(d, s);
    case 'app.status':
      return renderApp(d as unknown as AppStatusHeader, s);
    case 'app.log':
      return null; // written raw by the caller
    case 'session.state':
      if (d.state === 'halted') return `${s.yellow('■')} syncing halted: nothing is sent until the project is back, or until 'skiff push --force'`;
      return d.state === 'failed' || d.state === 'stopped' ? s.dim(`session ${String(d.state)}`) : null;
    case 'lagged':
      return s.yellow(`! this terminal fell behind; ${String(d.dropped)} events were skipped`);
    default:
      return null;
  }
}

function renderAgent(d: Record<string, unknown>, s: Style): string | null {
  switch (d.state) {
    case 'connected':
      return s.dim(`agent connected (${String(d.url)})`);
    case 'disconnected':
      return `${s.yellow('!')} agent disconnected${d.message ? `: ${String(d.message)}` : ''}; reconnecting`;
    default:
      return null;
  }
}

export function renderApp(a: AppStatusHeader, s: Style): string | null {
  switch (a.state) {
    case 'running':
      return `${s.green('●')} app running (pid ${a.pid}${a.restarts ? `, ${plural(a.restarts, 'restart')}` : ''})`;
    case 'assembling':
      return s.dim('⚙ assembling…');
    case 'assemble-failed':
      return `${s.red('✗')} assemble failed; the previous app keeps running\n${a.message ?? ''}`;
    case 'exited':
      return `${s.yellow('●')} app exited (${a.signal ?? `code ${a.exitCode}`})`;
    case 'backoff':
      return `${s.yellow('●')} app crashed; ${a.message ?? 'restarting after a pause'}`;
    case 'no-command':
      return s.dim('no run command: set `run` in skiff.yaml to start an app');
    default:
      return null;
  }
}
