import type { AppStatusHeader, Problem } from '@skiff/protocol';
import { AgentState, ControlEvent, SessionEvent, SessionState, type EventPayloads } from '@skiff/daemon/control';
import { formatBytes, formatDuration, plural } from './format.ts';
import type { Style } from './style.ts';

/**
 * One line per session event for a terminal (`skiff dev`, `skiff logs -f`).
 * Pure: returns the text, or null for events not worth a line (progress is
 * drawn by the progress bar). Events and their payloads are the daemon's
 * (SessionEvent, EventPayloads); `lagged` is the control layer's.
 */
type Payload<E extends SessionEvent> = EventPayloads[E];

export function renderEvent(event: string, data: unknown, s: Style): string | null {
  switch (event) {
    case SessionEvent.SYNC_STARTED: {
      const st = data as Payload<typeof SessionEvent.SYNC_STARTED>;
      if (st.reason === 'watch') return null;
      return s.dim(st.scanning ? `⟳ ${st.reason} sync: sending the project as it is scanned` : `⟳ ${st.reason} sync: checking ${plural(st.paths, 'path')}`);
    }
    case SessionEvent.SYNC_FINISHED: {
      const f = data as Payload<typeof SessionEvent.SYNC_FINISHED>;
      if (f.uploaded === 0 && f.copied === 0 && f.deleted === 0) return f.reason === 'watch' ? null : `${s.green('✓')} in sync ${s.dim(`(${formatDuration(f.durationMs)})`)}`;
      const parts = [
        f.uploaded ? `${plural(f.uploaded, 'file')} (${formatBytes(f.bytes)})` : '',
        f.copied ? `${plural(f.copied, 'moved file')} (nothing re-sent)` : '',
        f.deleted ? `${plural(f.deleted, 'delete')}` : '',
      ].filter(Boolean);
      return `${s.green('✓')} synced ${parts.join(', ')} in ${formatDuration(f.durationMs)}${f.inSync ? '' : s.yellow(' (not yet in sync)')}`;
    }
    case SessionEvent.SYNC_FAILED: {
      const f = data as Payload<typeof SessionEvent.SYNC_FAILED>;
      return `${s.red('✗')} sync failed: ${f.message} [${f.code}]`;
    }
    case SessionEvent.PROBLEM: {
      const p = data as Problem;
      return `${s.yellow('!')} ${p.path ? `${p.path}: ` : ''}${p.message} [${p.code}]`;
    }
    case SessionEvent.AGENT:
      return renderAgent(data as Payload<typeof SessionEvent.AGENT>, s);
    case SessionEvent.APP_STATUS:
      return renderApp(data as AppStatusHeader, s);
    case SessionEvent.APP_LOG:
      return null; // written raw by the caller
    case SessionEvent.STATE: {
      const { state } = data as Payload<typeof SessionEvent.STATE>;
      if (state === SessionState.HALTED) return `${s.yellow('■')} syncing halted: nothing is sent until the project is back, or until 'skiff push --force'`;
      return state === SessionState.FAILED || state === SessionState.STOPPED ? s.dim(`session ${state}`) : null;
    }
    case ControlEvent.LAGGED:
      return s.yellow(`! this terminal fell behind; ${(data as { dropped: number }).dropped} events were skipped`);
    default:
      return null;
  }
}

function renderAgent(d: Payload<typeof SessionEvent.AGENT>, s: Style): string | null {
  switch (d.state) {
    case AgentState.CONNECTED:
      return s.dim(`agent connected (${d.url})`);
    case AgentState.DISCONNECTED:
      return `${s.yellow('!')} agent disconnected${d.message ? `: ${d.message}` : ''}; reconnecting`;
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
